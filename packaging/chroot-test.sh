#!/bin/bash
# chroot-test.sh: install test of the gsendmail packages on a fresh Debian
# system with no Swift toolchain (a debootstrap --variant=minbase chroot).
#
# Usage: packaging/chroot-test.sh [--fresh] [--keep]
#        packaging/chroot-test.sh --prepare [--fresh]
#   --fresh    make a new chroot with debootstrap instead of the cached one
#   --prepare  only make the cached chroot of $SUITE if it is missing (in a
#              directory of its own; no .deb needed), e.g. while the code builds
#   --keep   leave the chroot in packaging/out/chroot after the test
# Environment:
#   SUITE   Debian suite: bookworm (default) or trixie; each has its own cached
#           chroot, packaging/out/cache/SUITE-minbase.tar.zst
#   MIRROR  Debian mirror (default: the machine's apt sources; for a suite
#           they do not list, the host that serves the machine's own suite)
#   GSENDMAIL_ALLOW_STUB=1  skip, instead of failing, the checks that need the
#           real programs when the packaged ones do not print a version yet
#
# Needs root, debootstrap, and the two .deb files made by build-deb.sh. It
# installs both packages with apt, runs the programs as root and as an
# unprivileged user, then removes and purges them and checks what is left
# against Debian Policy. Prints "N passed, N failed" and exits non-zero when
# anything failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
out=$here/out
root=$out/chroot
suite=${SUITE:-bookworm}
cache=$out/cache/$suite-minbase.tar.zst
log=$out/chroot-test.log
fresh=0
prepare=0
keep=0
for arg in "$@"; do
	case $arg in
	--fresh) fresh=1 ;;
	--prepare) prepare=1 ;;
	--keep) keep=1 ;;
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
		exit 0
		;;
	*)
		echo "chroot-test.sh: unknown option $arg" >&2
		exit 64
		;;
	esac
done

start=$(date +%s)
passed=0
failed=0
skipped=0
mkdir -p "$out" "$out/cache"
if [ "$prepare" -eq 1 ]; then
	log=$out/prepare-$suite.log
fi
: >"$log"

# shellcheck source=packaging/chroot-lib.sh
. "$here/chroot-lib.sh"

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and chroot need it)"
command -v debootstrap >/dev/null || die "debootstrap is not installed"

if [ "$prepare" -eq 1 ]; then
	if [ "$fresh" -eq 1 ] || [ ! -f "$cache" ]; then
		dir=$out/prepare-$suite
		rm -rf --one-file-system "$dir"
		make_cache "$dir"
		rm -rf --one-file-system "$dir"
	fi
	say "cached chroot of $suite: $cache"
	exit 0
fi

main_deb=$(ls -t "$out"/gsendmail_*_*.deb 2>/dev/null | head -n 1 || true)
mta_deb=$(ls -t "$out"/gsendmail-mta_*_all.deb 2>/dev/null | head -n 1 || true)
[ -n "$main_deb" ] && [ -n "$mta_deb" ] || die "no .deb in $out: run packaging/build-deb.sh first"
version=$(dpkg-deb -f "$main_deb" Version)
upstream=${version%-*}
say "testing $(basename "$main_deb") and $(basename "$mta_deb") on $suite"

trap finish EXIT
trap 'exit 130' INT TERM

# --- the chroot -------------------------------------------------------------

if [ -d "$root" ]; then
	remove_root
fi
if [ "$fresh" -eq 1 ] || [ ! -f "$cache" ]; then
	make_cache "$root"
else
	say "unpacking the cached chroot $cache"
	mkdir -p "$root"
	zstd -q -dc "$cache" | tar -C "$root" --numeric-owner -xpf -
fi
mount --bind /proc "$root/proc"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# No daemons start in the chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
cp "$main_deb" "$mta_deb" "$root/tmp/"
main_in=/tmp/$(basename "$main_deb")
mta_in=/tmp/$(basename "$mta_deb")

check "no Swift toolchain in the chroot" \
	sh_chroot '! command -v swift && ! test -e /usr/lib/swift'

# --- install ----------------------------------------------------------------

say "apt-get install"
check "apt-get update" in_chroot apt-get -q update
check "apt-get install both packages" \
	in_chroot apt-get -q -y install "$main_in" "$mta_in"
check "both packages installed" \
	sh_chroot 'dpkg-query -W -f "\${Status}\n" gsendmail gsendmail-mta | grep -c "install ok installed" | grep -qx 2'
sh_chroot 'dpkg-query -W -f "\${Package} \${Version} \${Installed-Size} KiB\n" gsendmail gsendmail-mta' | tee -a "$log"

# What differs between the suites: which alternative of the hand-written
# Depends (debian/control) apt picks for the libraries gsendmail opens.
check "the chroot is Debian $suite" sh_chroot "grep -qx 'VERSION_CODENAME=$suite' /etc/os-release"
case $suite in
bookworm) suite_libs="libssl3 libcurl4" ;;
trixie) suite_libs="libssl3t64 libcurl4t64" ;;
*) suite_libs="" ;;
esac
if [ -n "$suite_libs" ]; then
	check "$suite: Depends satisfied by $suite_libs" sh_chroot "
		dpkg-query -W -f '\${Package} \${Status}\n' $suite_libs | grep -c ' install ok installed$' | grep -qx 2"
else
	skipped=$((skipped + 1))
	printf 'skip %s: no suite-specific checks for this suite\n' "$suite"
fi

printed=$(in_chroot gsendmail --version 2>>"$log" || true)
real=0
if [ "$printed" = "gsendmail $upstream" ]; then
	real=1
fi
check "gsendmail --version exits 0" in_chroot gsendmail --version
check_real "gsendmail --version prints 'gsendmail $upstream'" test "$printed" = "gsendmail $upstream"
check "gsendmailctl --version exits 0" in_chroot gsendmailctl --version
check_real "gsendmailctl --version prints 'gsendmail $upstream'" \
	sh_chroot "test \"\$(gsendmailctl --version)\" = 'gsendmail $upstream'"

check "ldd gsendmail: every library found, no libswift" \
	sh_chroot 'ldd /usr/sbin/gsendmail && ! ldd /usr/sbin/gsendmail | grep -e libswift -e "not found"'
check "ldd gsendmailctl: every library found, no libswift" \
	sh_chroot 'ldd /usr/bin/gsendmailctl && ! ldd /usr/bin/gsendmailctl | grep -e libswift -e "not found"'
check "libssl.so.3, libcrypto.so.3 and libcurl.so.4 installed (dlopen targets)" \
	sh_chroot 'for l in libssl.so.3 libcrypto.so.3 libcurl.so.4; do ldconfig -p | grep -q "$l "; done'

check "group gsendmail and user _gsendmail exist" \
	sh_chroot 'getent group gsendmail && getent passwd _gsendmail | grep -q ":/nonexistent:/usr/sbin/nologin$"'
check "user _gsendmail-smtp exists, in its own group, not in group gsendmail" sh_chroot '
	getent passwd _gsendmail-smtp | grep -q ":/nonexistent:/usr/sbin/nologin$"
	test "$(id -gn _gsendmail-smtp)" = _gsendmail-smtp
	! id -Gn _gsendmail-smtp | tr " " "\n" | grep -qx gsendmail'
check "/usr/sbin/gsendmail is 2755 root:gsendmail" \
	sh_chroot 'test "$(stat -c "%a %U %G" /usr/sbin/gsendmail)" = "2755 root gsendmail"'
check "dpkg-statoverride lists /usr/sbin/gsendmail" \
	sh_chroot 'dpkg-statoverride --list /usr/sbin/gsendmail | grep -qx "root gsendmail 2755 /usr/sbin/gsendmail"'
check "directories: modes and owners" sh_chroot '
	for spec in "/etc/gsendmail 755 root root" \
		"/var/lib/gsendmail/tokens 2770 root gsendmail" \
		"/var/spool/gsendmail 2770 root gsendmail" \
		"/var/spool/gsendmail/failed 2770 root gsendmail"; do
		set -- $spec
		test "$(stat -c "%a %U %G" "$1")" = "$2 $3 $4" || { echo "$spec: $(stat -c "%a %U %G" "$1")"; exit 1; }
	done'
check "sendmail, mailq, newaliases links point at gsendmail" sh_chroot '
	for l in /usr/sbin/sendmail /usr/lib/sendmail /usr/bin/mailq /usr/sbin/newaliases; do
		test "$(readlink -f "$l")" = /usr/sbin/gsendmail
	done'
check "manual pages installed" sh_chroot '
	for m in man8/gsendmail.8.gz man8/gsendmailctl.8.gz man5/gsendmail.conf.5.gz \
		man8/sendmail.8.gz man8/mailq.8.gz man8/newaliases.8.gz; do
		test -s "/usr/share/man/$m"
	done'
check "system queue timer enabled, SMTP socket not enabled" sh_chroot '
	test -L /etc/systemd/system/timers.target.wants/gsendmail-queue.timer
	! test -e /etc/systemd/system/sockets.target.wants/gsendmail-smtp.socket'
check "gsendmail-smtp.socket: loopback only, by the socket's own IP access control" sh_chroot '
	u=/usr/lib/systemd/system/gsendmail-smtp.socket
	grep -qx "ListenStream=127.0.0.1:2525" $u && grep -qx "Accept=yes" $u
	grep -qx "IPAddressDeny=any" $u && grep -qx "IPAddressAllow=localhost" $u'
# The service runs the set-group-ID binary as an ordinary user: nothing in it may
# set no_new_privs, which a non-root User= gets from any of these settings.
check "gsendmail-smtp@.service: user _gsendmail-smtp, set-group-ID allowed" sh_chroot '
	u=/usr/lib/systemd/system/gsendmail-smtp@.service
	grep -qx "User=_gsendmail-smtp" $u && grep -qx "NoNewPrivileges=no" $u
	! grep -E "^(DynamicUser|LockPersonality|MemoryDenyWriteExecute|PrivateDevices|ProtectClock|ProtectHostname|ProtectKernelLogs|ProtectKernelModules|ProtectKernelTunables|RestrictAddressFamilies|RestrictNamespaces|RestrictRealtime|RestrictSUIDSGID|SystemCallArchitectures|SystemCallFilter|SystemCallLog|IPAddressDeny|IPAddressAllow)=" $u'
check "logrotate snippet installed as a conffile: 0660 root:gsendmail" sh_chroot '
	dpkg-query -W -f "\${Conffiles}\n" gsendmail | grep -q "^ /etc/logrotate.d/gsendmail "
	grep -q "^/var/log/gsendmail.log {" /etc/logrotate.d/gsendmail
	grep -q "create 0660 root gsendmail$" /etc/logrotate.d/gsendmail'
check "user queue timer enabled globally" \
	sh_chroot 'test -L /etc/systemd/user/timers.target.wants/gsendmail-queue.timer'
check "shell completions installed for bash, zsh and fish" sh_chroot '
	grep -q gsendmailctl /usr/share/bash-completion/completions/gsendmailctl
	grep -q gsendmailctl /usr/share/zsh/vendor-completions/_gsendmailctl
	grep -q gsendmailctl /usr/share/fish/vendor_completions.d/gsendmailctl.fish'
check "example configuration installed" \
	sh_chroot 'test -s /usr/share/doc/gsendmail/examples/config.toml'

# --- run --------------------------------------------------------------------

say "running the programs"
# A system configuration as an administrator would write it. --dry-run needs
# no credentials, and the account sends nowhere.
sh_chroot '
	cat >/etc/gsendmail/config.toml <<EOF
default = "test"
queue = true

[account.test]
from = "root@example.com"
route = "custom"
host = "127.0.0.1"
port = 2525
auth = "none"
helo = "test.example.com"
EOF
	chown root:gsendmail /etc/gsendmail/config.toml
	chmod 0640 /etc/gsendmail/config.toml
	useradd --create-home --shell /bin/sh tester'
tester_uid=$(in_chroot id -u tester)
tester_gid=$(in_chroot id -g tester)
printf 'To: rcpt@example.org\nSubject: chroot test\n\nhello\n' >"$root/tmp/message"
chmod 0644 "$root/tmp/message"

check "root: sendmail --dry-run -t exits 0" \
	sh_chroot '/usr/sbin/sendmail --dry-run -t </tmp/message'
check_real "root: --dry-run prints the envelope" \
	sh_chroot '/usr/sbin/sendmail --dry-run -t </tmp/message >/tmp/dry-root
		grep -q "^MAIL FROM:<root@example.com>" /tmp/dry-root
		grep -q "^RCPT TO:<rcpt@example.org>" /tmp/dry-root'
check "tester: cannot read /etc/gsendmail/config.toml itself" \
	sh_tester '! cat /etc/gsendmail/config.toml'
check "tester: is not in group gsendmail" sh_tester '! id -Gn | grep -qw gsendmail'
check "tester: sendmail --dry-run -t exits 0 (set-group-ID read of the system config)" \
	sh_tester '/usr/sbin/sendmail --dry-run -t </tmp/message'
check_real "tester: --dry-run prints the envelope" \
	sh_tester '/usr/sbin/sendmail --dry-run -t </tmp/message >/tmp/dry-tester
		grep -q "^RCPT TO:<rcpt@example.org>" /tmp/dry-tester'
# The -bs socket service's user, as gsendmail-smtp@.service runs it: through the
# set-group-ID binary, like any local user.
smtp_uid=$(in_chroot id -u _gsendmail-smtp)
smtp_gid=$(in_chroot id -g _gsendmail-smtp)
check "_gsendmail-smtp: sendmail --dry-run -t reads the system config (set-group-ID)" \
	chroot --userspec="$smtp_uid:$smtp_gid" --groups="$smtp_gid" "$root" /usr/bin/env -i PATH=/usr/bin:/bin \
	HOME=/nonexistent /bin/sh -ec '! cat /etc/gsendmail/config.toml 2>/dev/null && /usr/sbin/sendmail --dry-run -t </tmp/message'
check "root: mailq exits 0" in_chroot mailq
check_real "root: mailq says the queue is empty" sh_chroot 'mailq | grep -q "Mail queue is empty"'
check "tester: mailq exits 0" as_tester /usr/bin/mailq
check "root: newaliases exits 0" in_chroot newaliases
check_real "root: newaliases prints nothing" sh_chroot 'test -z "$(newaliases 2>&1)"'
check "tester: newaliases exits 0" as_tester /usr/sbin/newaliases

# --- send_checks: sending through the local test server ---------------------
#
# The chroot shares the host's network namespace: the test server started here on
# 127.0.0.1 is reachable from inside. The system account authenticates with an
# app password kept in a gsendmail-group file: root and an unprivileged user send
# through the set-group-ID binary, and the user cannot read the secret itself.
send_checks() {
	local server=$top/.build/release/gmail-test-server
	if [ ! -x "$server" ]; then
		printf 'skip send_checks (%s not built)\n' "$server"
		return 0
	fi
	local state=$root/tmp/test-server
	# Access tokens the endpoint issues last 30 s, less than the 60 s margin: every send
	# through the OAuth account refreshes, under the cache's lock.
	start_test_server "$state" --expires-in 30 \
		--refresh-token 1//chroot-refresh-token \
		--user root@example.com --password chroot-app-password-42
	local port=$smtp_port
	cp "$state/ca.pem" "$root/etc/gsendmail/test-ca.pem"
	sh_chroot "
		printf 'chroot-app-password-42\n' >/etc/gsendmail/password
		chown root:gsendmail /etc/gsendmail/password
		chmod 0640 /etc/gsendmail/password
		sed -i -e 's/^port = .*/port = $port/' -e 's/^auth = .*/auth = \"password\"/' /etc/gsendmail/config.toml
		printf 'tls_ca_file = \"/etc/gsendmail/test-ca.pem\"\npassword_file = \"/etc/gsendmail/password\"\n' \
			>>/etc/gsendmail/config.toml"
	check "root: sendmail -t sends through the test server" \
		sh_chroot '/usr/sbin/sendmail -t </tmp/message'
	check "the server received root's message over TLS with AUTH" \
		sh -c "[ $(received) -eq 1 ] && grep -q '\"tls\" : true' '$state/records/1.json' && grep -q PLAIN '$state/records/1.json'"
	check "tester: sendmail -t sends through the system account (set-group-ID)" \
		sh_tester '/usr/sbin/sendmail -t </tmp/message'
	check "the server received tester's message" sh -c "[ $(received) -eq 2 ]"
	check "tester: cannot read the password file, the token cache or the spool" \
		sh_tester '! cat /etc/gsendmail/password && ! ls /var/lib/gsendmail/tokens && ! ls /var/spool/gsendmail'
	check "tester: -C on a gsendmail-group file is refused without echoing it" \
		sh_tester 'rc=0; out=$(/usr/sbin/sendmail -C /etc/gsendmail/password --dry-run rcpt@example.org </tmp/message 2>&1) || rc=$?
			printf "%s\n" "$out"; [ $rc -eq 78 ] && ! printf "%s" "$out" | grep -q chroot-app-password'
	check "tester: -v shows AUTH redacted, never the password" \
		sh_tester 'out=$(/usr/sbin/sendmail -v -t </tmp/message 2>&1) && printf "%s" "$out" | grep -q "AUTH PLAIN <redacted>" \
			&& ! printf "%s" "$out" | grep -q chroot-app-password'
	# The system account on OAuth: root logs in with the usual umask; the token cache and
	# its lock file must stay usable by every user sending through the set-group-ID binary.
	sh_chroot "
		sed -i -e 's/^auth = .*/auth = \"oauth\"/' -e '/^password_file = /d' /etc/gsendmail/config.toml
		printf 'client_id = \"chroot\"\ntoken_url = \"http://127.0.0.1:$http_port/token\"\n' >>/etc/gsendmail/config.toml"
	check "root: gsendmailctl login --refresh-token-stdin for the system account (umask 022)" \
		sh_chroot 'umask 022; printf "1//chroot-refresh-token\n" | gsendmailctl login test --refresh-token-stdin'
	check "token cache and its lock file: group gsendmail may read and write them" \
		sh_chroot 'cd /var/lib/gsendmail/tokens && ls -l
			for f in test.json test.lock; do [ "$(stat -c %a:%G "$f")" = 660:gsendmail ] || exit 1; done'
	local before
	before=$(received)
	check "tester: sends through the system OAuth account, refreshing root's token" \
		sh_tester '/usr/sbin/sendmail -t </tmp/message'
	check "the server received tester's message with XOAUTH2" \
		sh -c "[ $(received) -eq $((before + 1)) ] && grep -q XOAUTH2 '$state/records/$((before + 1)).json'"
	# Tester's refresh rewrote the second slot of root's file in place (generation 2), so
	# the file is still root's.
	check "the refreshed cache still belongs to root: tester cannot read the system tokens" \
		sh_chroot 'ls -l /var/lib/gsendmail/tokens; f=/var/lib/gsendmail/tokens/test.json
			[ "$(stat -c %U:%G:%a:%s $f)" = root:gsendmail:660:8192 ]
			[ "$(tail -c 4096 $f | head -c 25)" = "gsendmail-token-slot 2 2 " ]
			! ls /var/lib/gsendmail/tokens | grep -q "\.tmp$"'
	check "tester: cannot read the token cache even by name" \
		sh_tester '! cat /var/lib/gsendmail/tokens/test.json'
	# login made the account's TLS session file (empty, root's); tester's send kept the
	# session it got in it, in place, and the next send resumes it.
	check "the TLS session file: root's, group gsendmail, filled in place by tester's send" \
		sh_chroot 'f=$(ls /var/lib/gsendmail/tokens/test@127.0.0.1:*.tls); ls -l "$f"
			[ "$(stat -c %U:%G:%a "$f")" = root:gsendmail:660 ] && [ -s "$f" ]'
	check "tester: the next send resumes the TLS session" \
		sh_tester '/usr/sbin/sendmail -v -t </tmp/message 2>/tmp/resume.log; grep "^TLS\|session" /tmp/resume.log
			grep -q "session resumed" /tmp/resume.log'
	stop_test_server
	check "server down: tester's message is queued (exit 0) and listed by mailq" \
		sh_tester '/usr/sbin/sendmail -t </tmp/message && mailq | grep -q rcpt@example.org'
	check "the queued entry belongs to group gsendmail, not readable by others" \
		sh_chroot 'f=$(ls /var/spool/gsendmail/entries/*.env | head -1); ls -l "$f"; m=$(stat -c %a "$f")
			[ "$(stat -c %G "$f")" = gsendmail ] && [ "${m#"${m%?}"}" = 0 ]'
	rm -rf "$state"
	# Leave /etc/gsendmail as the administrator had it before these checks.
	sh_chroot 'rm -f /etc/gsendmail/password /etc/gsendmail/test-ca.pem'
}
send_checks

# --- stages -----------------------------------------------------------------
#
# Each file in packaging/chroot-stages/ is one stage (a deployment walk-through, the
# hostile-user checks, ...), sourced in name order with the helpers above. A stage
# starts its own test server; the configuration and the queue are set aside before it
# and put back after it (stage_save, stage_restore).
if [ -x "$top/.build/release/gmail-test-server" ]; then
	for stage in "$here"/chroot-stages/*.sh; do
		[ -f "$stage" ] || continue
		say "stage $(basename "$stage" .sh)"
		stage_save
		# shellcheck source=/dev/null
		. "$stage"
		stop_test_server
		stage_restore
	done
fi

# --- remove, purge, reinstall ------------------------------------------------

# shellcheck source=packaging/chroot-remove.sh
. "$here/chroot-remove.sh"

elapsed=$(($(date +%s) - start))
printf '\nchroot test: %d s; log: %s\n' "$elapsed" "$log"
printf '%d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]

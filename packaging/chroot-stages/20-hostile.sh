# shellcheck shell=bash
# 20-hostile.sh: a hostile local user against the set-group-ID gsendmail.
#
# Sourced by chroot-test.sh after send_checks, with the helpers of chroot-lib.sh (check, sh_chroot,
# sh_tester, as_tester, start_test_server, stop_test_server). The system account
# is logged in on OAuth against the test server, whose access tokens last 30 s
# (less than the 60 s margin), so every send refreshes, over HTTPS through
# libcurl. The unprivileged user "tester" then points, one at a time, the
# variables that steer glibc, OpenSSL and libcurl at files of its own, and each
# send must: be received by the server, create or read no file the attacker
# named, create nothing new in the system directories, and leave the token cache
# root's, in the two-slot form. Then: a forged log line through -L, a sender not
# granted, and a password_command reading a gsendmail-group file. The
# configuration, the system trust store and the log are put back as they were.

hostile_state=$root/tmp/hostile-server
start_test_server "$hostile_state" --expires-in 30 --https-port 0 \
	--refresh-token 1//chroot-refresh-token \
	--user root@example.com --password chroot-app-password-42
https_port=$(sed -n 's/^https 127.0.0.1:\([0-9]*\)$/\1/p' "$hostile_state/ready")

# The token endpoint over HTTPS, trusted through the system store, where an administrator
# adds a CA on Debian: update-ca-certificates puts it in the bundle and, as a hash link,
# in /etc/ssl/certs, the directory libcurl is given alone. The bundle is then emptied: the
# login below passes only if libcurl is not handed it (libcurl refuses an empty CA file).
local_ca=/usr/local/share/ca-certificates/gsendmail-hostile-test.crt
sh_chroot "mkdir -p /usr/local/share/ca-certificates"
cp "$hostile_state/ca.pem" "$root$local_ca"
check "hostile: the test CA is added to the system store with update-ca-certificates" \
	sh_chroot "update-ca-certificates >/dev/null && test -L /etc/ssl/certs/gsendmail-hostile-test.pem &&
		: >/etc/ssl/certs/ca-certificates.crt"
cp "$hostile_state/ca.pem" "$root/etc/gsendmail/test-ca.pem"
cat >"$root/etc/gsendmail/config.toml" <<CONFIG
default = "test"
queue = true
log = "file:/var/log/gsendmail.log"

[account.test]
from = "root@example.com"
route = "custom"
host = "127.0.0.1"
port = $smtp_port
auth = "oauth"
helo = "test.example.com"
tls_ca_file = "/etc/gsendmail/test-ca.pem"
client_id = "chroot"
token_url = "https://127.0.0.1:$https_port/token"
allowed_senders = { "tester" = ["tester@example.com"] }

[account.pw]
from = "pw@example.net"
route = "custom"
host = "127.0.0.1"
port = $smtp_port
auth = "password"
user = "root@example.com"
helo = "test.example.com"
tls_ca_file = "/etc/gsendmail/test-ca.pem"
password_command = "cat /etc/gsendmail/password"
CONFIG
sh_chroot '
	printf "chroot-app-password-42\n" >/etc/gsendmail/password
	chown root:gsendmail /etc/gsendmail/password /etc/gsendmail/config.toml
	chmod 0640 /etc/gsendmail/password /etc/gsendmail/config.toml
	rm -f /var/log/gsendmail.log'
printf 'To: rcpt@example.org\nSubject: hostile\n\nhello\n' >"$root/tmp/message-hostile"
chmod 0644 "$root/tmp/message-hostile"

check "hostile: root logs the system account in against the HTTPS token endpoint" \
	sh_chroot 'printf "1//chroot-refresh-token\n" | gsendmailctl login test --refresh-token-stdin'
# The login delivered what send_checks left queued, creating the log: start without it.
sh_chroot 'rm -f /var/log/gsendmail.log'
check "hostile: tester's send does not create the system log file (it says so, and uses syslog)" \
	sh_tester 'out=$(/usr/sbin/sendmail -t </tmp/message-hostile 2>&1); printf "%s\n" "$out"
		! test -e /var/log/gsendmail.log && printf "%s" "$out" | grep -q "cannot write the log file"'
check "hostile: root sends, creating the log file 0660 root:gsendmail" \
	sh_chroot '/usr/sbin/sendmail -t </tmp/message-hostile && ls -l /var/log/gsendmail.log
		[ "$(stat -c %a:%U:%G /var/log/gsendmail.log)" = 660:root:gsendmail ]'

# The attacker's files: a directory of its own, each entry with an old access time, so
# that reading one shows (relatime updates an access time older than the change time).
sh_tester 'rm -rf ~/attack; mkdir ~/attack; cd ~/attack
	printf "openssl_conf = x\n[x]\n" >openssl.cnf
	mkdir modules gconv nls libs
	printf "127.0.0.1 attacker\n" >hosts
	printf "TZif" >zone
	: >ca-bundle.crt
	touch -a -d 2001-01-01 openssl.cnf hosts zone ca-bundle.crt modules gconv nls libs'
attack_files="ca-bundle.crt gconv hosts libs modules nls openssl.cnf zone "

# attack NAME=VALUE...: tester sends with these in its environment. The mail must
# arrive; ~/attack must hold only what it held, none of it read; no new file may appear
# under the system directories; the token cache must stay root's, in its fixed size.
attack() {
	attack_once "$@"
	local rc=$?
	# Whatever happened, the next attack starts from the same files.
	sh_tester 'cd ~/attack; for f in *; do case " '"$attack_files"'" in *" $f "*) ;; *) rm -rf "$f" ;; esac; done'
	return $rc
}
attack_once() {
	local before after
	before=$(received)
	sh_chroot 'find /var/lib/gsendmail /var/spool/gsendmail /etc/gsendmail /var/log /tmp -newer /tmp/message-hostile \
		-type f ! -path "/tmp/hostile-server/*" ! -name "hostile-*" 2>/dev/null | sort >/tmp/hostile-before' || return 1
	as_tester /usr/bin/env "$@" /usr/sbin/sendmail -t <"$root/tmp/message-hostile" || return 1
	after=$(received)
	[ "$after" -eq $((before + 1)) ] || { echo "messages received: $before, then $after"; return 1; }
	sh_tester 'cd ~/attack; ls -la --time=atime
		[ "$(ls -A | sort | tr "\n" " ")" = "'"$attack_files"'" ] || { echo "new files in ~/attack"; exit 1; }
		for f in *; do [ "$(stat -c %x "$f" | cut -c1-4)" = 2001 ] || { echo "read: $f"; exit 1; }; done' || return 1
	sh_chroot 'f=/var/lib/gsendmail/tokens/test.json; ls -l $f
		[ "$(stat -c %U:%G:%a:%s $f)" = root:gsendmail:660:8192 ]
		find /var/lib/gsendmail /var/spool/gsendmail /etc/gsendmail /var/log /tmp -newer /tmp/message-hostile \
			-type f ! -path "/tmp/hostile-server/*" ! -name "hostile-*" 2>/dev/null | sort >/tmp/hostile-after
		! comm -13 /tmp/hostile-before /tmp/hostile-after | grep .'
}
check "hostile: a plain send by tester (the baseline of the attacks below)" attack A=1
check "hostile: SSLKEYLOGFILE at a file of tester's: no TLS secrets written" \
	attack SSLKEYLOGFILE=/home/tester/attack/keylog
check "hostile: SSLKEYLOGFILE at the token cache: the cache is not appended to" \
	attack SSLKEYLOGFILE=/var/lib/gsendmail/tokens/test.json
check "hostile: SSLKEYLOGFILE into the spool: nothing created there" \
	attack SSLKEYLOGFILE=/var/spool/gsendmail/entries/evil.env
check "hostile: OPENSSL_CONF, OPENSSL_MODULES, OPENSSL_ENGINES" \
	attack OPENSSL_CONF=/home/tester/attack/openssl.cnf OPENSSL_MODULES=/home/tester/attack/modules \
	OPENSSL_ENGINES=/home/tester/attack/modules
check "hostile: CURL_CA_BUNDLE, SSL_CERT_FILE, SSL_CERT_DIR" \
	attack CURL_CA_BUNDLE=/home/tester/attack/ca-bundle.crt SSL_CERT_FILE=/home/tester/attack/ca-bundle.crt \
	SSL_CERT_DIR=/home/tester/attack/libs
check "hostile: proxies" \
	attack http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 \
	ALL_PROXY=http://127.0.0.1:9 NO_PROXY=
check "hostile: HOSTALIASES, LOCALDOMAIN, RES_OPTIONS" \
	attack HOSTALIASES=/home/tester/attack/hosts LOCALDOMAIN=attacker.example RES_OPTIONS="debug ndots:15"
check "hostile: TZ as an absolute path" attack TZ=/home/tester/attack/zone
check "hostile: TZ as a ':' path" attack TZ=:/home/tester/attack/zone
check "hostile: TZ as a relative path out of the zone directory" attack TZ=../../../home/tester/attack/zone
check "hostile: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT" \
	attack LD_PRELOAD=/home/tester/attack/libs/evil.so LD_LIBRARY_PATH=/home/tester/attack/libs \
	LD_AUDIT=/home/tester/attack/libs/audit.so
check "hostile: GCONV_PATH, NLSPATH, LOCPATH" \
	attack GCONV_PATH=/home/tester/attack/gconv NLSPATH=/home/tester/attack/nls/%N LOCPATH=/home/tester/attack/nls
check "hostile: TMPDIR, TZDIR, GLIBC_TUNABLES, MALLOC_TRACE" \
	attack TMPDIR=/home/tester/attack TZDIR=/home/tester/attack GLIBC_TUNABLES=glibc.malloc.check=3 \
	MALLOC_TRACE=/home/tester/attack/mtrace
check "hostile: no secret on any output of a verbose send with such variables set" \
	sh_tester 'rc=0; out=$(SSLKEYLOGFILE=/home/tester/attack/k OPENSSL_CONF=/home/tester/attack/openssl.cnf \
		/usr/sbin/sendmail -v -t </tmp/message-hostile 2>&1) || rc=$?
		printf "%s\n" "$out" | tail -n 5; [ $rc -eq 0 ] || exit 1
		! printf "%s" "$out" | grep -e chroot-refresh-token -e chroot-app-password -e access_token
		! test -e /home/tester/attack/k'

# -L: a tag with a line break cannot forge a line; nor can a recipient.
check "hostile: -L with a line feed is refused (exit 64)" \
	sh_tester 'rc=0; /usr/sbin/sendmail -L "$(printf "x\nDec  7 01:02:03 gsendmail[1]: id=F status=sent (forged)")" \
		-t </tmp/message-hostile || rc=$?; [ $rc -eq 64 ]'
check "hostile: -L with a space or 40 characters is refused (exit 64)" \
	sh_tester 'rc=0; /usr/sbin/sendmail -L "a b" -t </tmp/message-hostile || rc=$?; [ $rc -eq 64 ] || exit 1
		rc=0; /usr/sbin/sendmail -L "$(printf "%040d" 0)" -t </tmp/message-hostile || rc=$?; [ $rc -eq 64 ]'
check "hostile: tester sends with -L cronjob" \
	sh_tester '/usr/sbin/sendmail -L cronjob -t </tmp/message-hostile'
check "hostile: the log holds no forged line; every line is a gsendmail line" \
	sh_chroot 'cat /var/log/gsendmail.log; ! grep -q forged /var/log/gsendmail.log
		! grep -v -E "^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [^ ]+\[[0-9]+\]: (id=|password_command )" /var/log/gsendmail.log'
check "hostile: the log file has the lines of tester's sends too (set-group-ID appends)" \
	sh_chroot 'grep " cronjob\[" /var/log/gsendmail.log && [ "$(grep -c "status=sent" /var/log/gsendmail.log)" -ge 10 ]'

# Who may send as whom.
check "hostile: tester's -f ceo@example.com is refused (exit 77) naming the keys, nothing queued" \
	sh_tester 'rc=0; out=$(/usr/sbin/sendmail -f ceo@example.com -t </tmp/message-hostile 2>&1) || rc=$?
		printf "%s\n" "$out"; [ $rc -eq 77 ] && printf "%s" "$out" | grep -q allowed_senders \
			&& printf "%s" "$out" | grep -q trusted_users && ! mailq | grep -q ceo@example.com'
check "hostile: tester's From: ceo@example.com is refused (exit 77)" \
	sh_tester 'rc=0; printf "From: CEO <ceo@example.com>\nTo: rcpt@example.org\nSubject: x\n\nhi\n" \
		| /usr/sbin/sendmail -t || rc=$?; [ $rc -eq 77 ]'
check "hostile: the server got nothing from ceo@example.com" \
	sh -c "! grep -l 'ceo@example.com' '$hostile_state/records'/*.json"
before=$(received)
check "hostile: tester's -f tester@example.com (granted in allowed_senders) is sent" \
	as_tester /usr/sbin/sendmail -f tester@example.com -t <"$root/tmp/message-hostile"
check "hostile: root may send as ceo@example.com" \
	sh_chroot '/usr/sbin/sendmail -f ceo@example.com -t </tmp/message-hostile'
check "hostile: the server got both" \
	sh -c "[ $(received) -eq $((before + 2)) ]"

# password_command of the system account reads a gsendmail-group file, for tester too.
before=$(received)
check "hostile: tester sends through the password_command account" \
	sh_tester '/usr/sbin/sendmail --account pw -t </tmp/message-hostile'
check "hostile: that message arrived, with AUTH PLAIN" \
	sh -c "[ $(received) -eq $((before + 1)) ] \
		&& grep -q PLAIN '$hostile_state/records/$((before + 1)).json'"
sh_chroot "sed -i 's|^password_command = .*|password_command = \"cat /etc/gsendmail/notes-of-root\"|' \
	/etc/gsendmail/config.toml"
check "hostile: a failing password_command: the error names the failure and the log, not its stderr" \
	sh_tester 'out=$(/usr/sbin/sendmail --account pw -t </tmp/message-hostile 2>&1; mailq 2>&1)
		printf "%s\n" "$out"
		printf "%s" "$out" | grep -q "password_command of account pw failed (exit 1)"
		! printf "%s" "$out" | grep -q notes-of-root'
check "hostile: the log has the command's stderr" \
	sh_chroot 'grep "password_command of account pw failed (exit 1): cat: /etc/gsendmail/notes-of-root" \
		/var/log/gsendmail.log'

# Take the CA out of the system store again (the bundle rebuilt) and remove this stage's
# files.
stop_test_server
check "hostile: update-ca-certificates --fresh takes the test CA out and rebuilds the bundle" \
	sh_chroot "rm -f $local_ca && update-ca-certificates --fresh >/dev/null &&
		! test -e /etc/ssl/certs/gsendmail-hostile-test.pem && test -s /etc/ssl/certs/ca-certificates.crt &&
		! grep -qF '$(sed -n 2p "$hostile_state/ca.pem")' /etc/ssl/certs/ca-certificates.crt"
sh_chroot "rm -f /etc/gsendmail/password /etc/gsendmail/test-ca.pem /var/log/gsendmail.log /tmp/message-hostile
	rm -f /tmp/hostile-before /tmp/hostile-after; rm -rf /home/tester/attack"
rm -rf "$hostile_state"

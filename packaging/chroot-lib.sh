# shellcheck shell=bash
# chroot-lib.sh: the helpers of chroot-test.sh, sourced by it; its stages in
# packaging/chroot-stages/ and chroot-remove.sh use them. They read the
# variables chroot-test.sh sets: root, log, out, suite, cache, top, keep, real,
# tester_uid, tester_gid, counters passed/failed/skipped.

say() { printf '==> %s\n' "$*"; }
die() {
	printf 'chroot-test.sh: %s\n' "$*" >&2
	exit 1
}

# check DESCRIPTION COMMAND...: one test; the command's output goes to the log.
check() {
	local desc=$1
	shift
	printf '\n### %s\n$ %s\n' "$desc" "$*" >>"$log"
	if "$@" >>"$log" 2>&1; then
		passed=$((passed + 1))
		printf 'ok   %s\n' "$desc"
	else
		failed=$((failed + 1))
		printf 'FAIL %s\n' "$desc"
	fi
}

# check_real DESCRIPTION COMMAND...: a test of what the real programs do;
# skipped with placeholder binaries when GSENDMAIL_ALLOW_STUB=1.
check_real() {
	if [ "$real" -eq 0 ] && [ "${GSENDMAIL_ALLOW_STUB:-0}" = 1 ]; then
		skipped=$((skipped + 1))
		printf 'skip %s (placeholder binaries)\n' "$1"
		return 0
	fi
	check "$@"
}

# in_chroot COMMAND...: run as root in the chroot with a clean environment.
in_chroot() {
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# as_tester COMMAND...: run as the unprivileged user "tester", in no group but
# its own.
as_tester() {
	chroot --userspec="$tester_uid:$tester_gid" --groups="$tester_gid" "$root" \
		/usr/bin/env -i PATH=/usr/bin:/bin HOME=/home/tester LANG=C.UTF-8 "$@"
}

# sh_chroot SCRIPT: a shell script run as root in the chroot.
sh_chroot() { in_chroot /bin/sh -ec "$1"; }
sh_tester() { as_tester /bin/sh -ec "$1"; }

# start_test_server STATE_DIR [OPTION...]: starts the built gmail-test-server on
# 127.0.0.1 with its state (records, CA, log) in STATE_DIR, plain HTTP for the token
# endpoint; sets server_pid, smtp_port (STARTTLS) and http_port. The chroot shares the
# host's network namespace, so programs inside reach it.
start_test_server() {
	local state=$1
	shift
	mkdir -p "$state"
	server_state=$state
	"$top/.build/release/gmail-test-server" --state-dir "$state" --tls-port off --http-port 0 "$@" \
		>"$state/ready" 2>"$state/log" &
	server_pid=$!
	smtp_port=""
	local tries=0
	while [ -z "$smtp_port" ] && [ $tries -lt 100 ]; do
		# The server may not have opened its output yet: no file is not an error.
		smtp_port=$(sed -n 's/^smtp 127.0.0.1:\([0-9]*\) starttls$/\1/p' "$state/ready" 2>/dev/null || true)
		tries=$((tries + 1)); sleep 0.1
	done
	[ -n "$smtp_port" ] || die "the test server did not start: $(cat "$state/log")"
	http_port=$(sed -n 's/^http 127.0.0.1:\([0-9]*\)$/\1/p' "$state/ready")
}

# received: how many messages the server start_test_server started last has recorded.
received() { { ls "$server_state/records"/*.eml 2>/dev/null || true; } | wc -l; }

# stop_test_server: ends the server start_test_server started.
stop_test_server() {
	if [ -n "${server_pid:-}" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=""
	fi
}

unmount_all() {
	if mountpoint -q "$root/proc" 2>/dev/null; then
		umount "$root/proc" || umount -l "$root/proc"
	fi
}

remove_root() {
	unmount_all
	if mountpoint -q "$root/proc" 2>/dev/null; then
		die "$root/proc is still mounted; not removing $root"
	fi
	rm -rf --one-file-system "$root"
}

finish() {
	local rc=$?
	if [ -n "${server_pid:-}" ]; then kill "$server_pid" 2>/dev/null || true; fi
	unmount_all
	if [ "$keep" -eq 0 ] && [ -d "$root" ]; then
		remove_root
	fi
	exit "$rc"
}

# detect_mirror SUITE: the first mirror of the machine's apt sources that
# serves SUITE itself (not -updates or -security), deb822 or one-line format.
detect_mirror() {
	local f suite=$1
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v suite="$suite" '
			function flush() {
				if (deb && uris != "" && index(" " suites " ", " " suite " ")) { print uris; found = 1; exit }
				deb = 0; uris = ""; suites = ""
			}
			/^[ \t]*$/ { flush(); next }
			/^Types:/ { deb = ($0 ~ /(^|[ \t])deb([ \t]|$)/) }
			/^URIs:/ { uris = $2 }
			/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
			END { if (!found) flush() }
		' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -e 's/\[[^]]*\]//' "$f" | awk -v suite="$suite" '$1 == "deb" && $3 == suite { print $2 }'
	done
}

# make_cache DIR: debootstrap $suite into DIR and cache it as $cache.
make_cache() {
	local dir=$1 mirror
	mirror=${MIRROR:-$(detect_mirror "$suite" | head -n 1)}
	if [ -z "$mirror" ]; then
		# A suite the apt sources do not list (trixie on a bookworm machine):
		# the mirror of the machine's own suite serves every suite.
		mirror=$(detect_mirror "$(. /etc/os-release && echo "$VERSION_CODENAME")" | head -n 1)
	fi
	[ -n "$mirror" ] || die "no $suite mirror in the apt sources; set MIRROR"
	say "debootstrap --variant=minbase $suite $mirror"
	debootstrap --variant=minbase "$suite" "$dir" "$mirror" >>"$log" 2>&1 ||
		die "debootstrap failed; see $log"
	say "caching the chroot in $cache"
	tar -C "$dir" --numeric-owner -cf - . | zstd -q -T0 -3 -o "$cache.tmp" -f
	mv "$cache.tmp" "$cache"
}

# stage_save, stage_restore: around each stage, the system configuration and the queue
# as earlier steps left them are set aside, and put back afterwards (what the stage
# queued is dropped), so that a stage's sendmail -q or queue runner touches only its own
# messages and no stage has to remember to clean up after itself.
stage_save() {
	sh_chroot 'cp -p /etc/gsendmail/config.toml /root/config.before-stage
		mkdir -p /var/spool/gsendmail/entries /root/queue.before-stage
		find /var/spool/gsendmail/entries -maxdepth 1 -type f -exec mv {} /root/queue.before-stage/ \;'
}
stage_restore() {
	sh_chroot 'mv -f /root/config.before-stage /etc/gsendmail/config.toml
		find /var/spool/gsendmail/entries -maxdepth 1 -type f -delete
		find /root/queue.before-stage -maxdepth 1 -type f -exec mv {} /var/spool/gsendmail/entries/ \;
		rmdir /root/queue.before-stage'
}

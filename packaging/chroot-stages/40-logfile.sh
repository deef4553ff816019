# shellcheck shell=bash
# Stage of chroot-test.sh (sourced, with its helpers): the log file.
#
# With log = "file:/var/log/gsendmail.log" in the system configuration, every
# process that logs appends its line: root, an unprivileged user through the
# set-group-ID binary, and the queue runner as gsendmail-queue.service runs it
# (user _gsendmail, group gsendmail, umask 0007), and the -bs session as
# gsendmail-smtp@.service runs it (user _gsendmail-smtp). The lines come in the order of
# the deliveries, no input (an address or a -L ident with CR or LF in it) can
# split a line or forge one, and the shipped logrotate snippet rotates the file
# so that every writer can still append to the new one.
#
# The configuration and the queue are set aside around the stage by chroot-test.sh.

logfile_stage() {
	local state=$root/tmp/test-server-logfile
	local logfile=/var/log/gsendmail.log
	start_test_server "$state" --user root@example.com --password chroot-log-password-7
	cp "$state/ca.pem" "$root/etc/gsendmail/test-ca.pem"
	sh_chroot "
		rm -f $logfile
		printf 'chroot-log-password-7\n' >/etc/gsendmail/password
		chown root:gsendmail /etc/gsendmail/password
		chmod 0640 /etc/gsendmail/password
		cat >/etc/gsendmail/config.toml <<EOF
default = \"test\"
queue = true
log = \"file:$logfile\"

[account.test]
from = \"root@example.com\"
route = \"custom\"
host = \"127.0.0.1\"
port = $smtp_port
auth = \"password\"
password_file = \"/etc/gsendmail/password\"
tls_ca_file = \"/etc/gsendmail/test-ca.pem\"
helo = \"test.example.com\"
EOF
		chown root:gsendmail /etc/gsendmail/config.toml
		chmod 0640 /etc/gsendmail/config.toml"

	local queue_uid queue_gid
	queue_uid=$(in_chroot id -u _gsendmail)
	queue_gid=$(in_chroot getent group gsendmail | cut -d: -f3)
	# as_queue_runner COMMAND...: as gsendmail-queue.service runs gsendmail -q.
	as_queue_runner() {
		chroot --userspec="$queue_uid:$queue_gid" --groups="$queue_gid" "$root" \
			/usr/bin/env -i PATH=/usr/bin:/bin HOME=/nonexistent LANG=C.UTF-8 \
			/bin/sh -c 'umask 0007; exec "$@"' sh "$@"
	}

	check "log file: root sends (first writer, creates $logfile)" \
		sh_chroot '/usr/sbin/sendmail log-root@example.org </tmp/message'
	check "log file: tester sends through the system account" \
		sh_tester '/usr/sbin/sendmail log-tester@example.org </tmp/message'
	check "log file: tester queues a message (-odq)" \
		sh_tester '/usr/sbin/sendmail -odq log-queued@example.org </tmp/message'
	check "log file: the queue runner (_gsendmail, group gsendmail) delivers it" \
		as_queue_runner /usr/sbin/gsendmail -q
	check "log file: the server received the three messages" \
		sh -c "[ $(received) -eq 3 ]"
	check "log file: root, tester and queue runner lines, sent, in this order" sh_chroot "
		cat $logfile
		test \"\$(sed -n 's/.* to=<\([^>]*\)> .* status=sent .*/\1/p' $logfile | tr '\n' ' ')\" = \\
			'log-root@example.org log-tester@example.org log-queued@example.org '"
	check "log file: group gsendmail may append, others may not write" sh_chroot "
		ls -l $logfile; m=\$(stat -c %a $logfile)
		test \"\$(stat -c %G $logfile)\" = gsendmail
		case \$m in ?[2367]?) ;; *) exit 1 ;; esac
		case \$m in *[2367]) exit 1 ;; esac"

	# The -bs session as gsendmail-smtp@.service runs it: user _gsendmail-smtp,
	# outside group gsendmail, through the set-group-ID binary.
	local smtp_uid smtp_gid
	smtp_uid=$(in_chroot id -u _gsendmail-smtp)
	smtp_gid=$(in_chroot id -g _gsendmail-smtp)
	bs_session() {
		printf 'EHLO printer.example\r\nMAIL FROM:<root@example.com>\r\nRCPT TO:<log-bs@example.org>\r\nDATA\r\nSubject: from the printer\r\n\r\nscan\r\n.\r\nQUIT\r\n' |
			chroot --userspec="$smtp_uid:$smtp_gid" --groups="$smtp_gid" "$root" \
				/usr/bin/env -i PATH=/usr/bin:/bin HOME=/nonexistent LANG=C.UTF-8 /usr/sbin/gsendmail -bs >"$state/bs.out"
		cat "$state/bs.out"
		grep -q '^250 2.0.0 OK: sent' "$state/bs.out"
	}
	check "-bs as _gsendmail-smtp: the printer's message is sent" bs_session
	check "log file: the -bs session's line follows" sh_chroot "
		tail -n 1 $logfile | grep -q ' to=<log-bs@example.org> .* status=sent '"

	# Inputs that try to end the line and write one of their own. Each may be
	# refused (exit non-zero); what is checked is the file. A forged line carries
	# pid 1, which no real gsendmail process has here.
	local forged='Dec  7 00:00:00 gsendmail[1]: id=FORGED status=sent (forged)'
	printf '%s\n' "$forged" >"$root/tmp/forged-line"
	sh_chroot 'f=$(cat /tmp/forged-line)
		/usr/sbin/sendmail -L "$(printf "x\n%s" "$f")" log-crlf@example.org </tmp/message || true
		/usr/sbin/sendmail -f "$(printf "evil@example.org\n%s" "$f")" log-crlf@example.org </tmp/message || true
		/usr/sbin/sendmail -f "$(printf "evil@example.org\r%s" "$f")" log-crlf@example.org </tmp/message || true
		/usr/sbin/sendmail "$(printf "log-crlf@example.org\r\n%s" "$f")" </tmp/message || true
		printf "To: <log-crlf@example.org\r%s>\nSubject: x\n\nx\n" "$f" | /usr/sbin/sendmail -t || true' >>"$log" 2>&1
	sh_tester 'f=$(cat /tmp/forged-line)
		/usr/sbin/sendmail -L "$(printf "x\n%s" "$f")" log-crlf@example.org </tmp/message || true
		/usr/sbin/sendmail -L "$(printf "x\r%s" "$f")" log-crlf@example.org </tmp/message || true
		/usr/sbin/sendmail "$(printf "log-crlf@example.org\n%s" "$f")" </tmp/message || true' >>"$log" 2>&1
	check "log file: no input splits a line (every line is one whole record, no CR)" sh_chroot "
		cat -A $logfile
		! grep -q \"\$(printf '\r')\" $logfile
		! grep -E -v '^[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [!-~]+\[[0-9]{2,}\]: id=[^ ]+ from=<.*> to=<.*> size=[0-9]+ relay=[^ ]+ delay=[0-9]+ status=(sent|deferred|bounced) \(.*\)$' $logfile"

	# The shipped logrotate snippet, run by logrotate itself: the new file is
	# made 0660 root:gsendmail, and the writers append to it.
	check "logrotate: installed in the chroot" \
		in_chroot apt-get -q -y install --no-install-recommends logrotate
	check "logrotate: rotates $logfile as /etc/logrotate.d/gsendmail says" sh_chroot "
		logrotate -f -s /var/lib/logrotate/status /etc/logrotate.d/gsendmail
		ls -l /var/log/gsendmail.log*
		test -s $logfile.1
		test \"\$(stat -c '%a %U %G' $logfile)\" = '660 root gsendmail'
		test ! -s $logfile"
	# after_rotate: a send by tester and a queued one sent by the queue runner;
	# both lines must be in the new file.
	after_rotate() {
		sh_tester '/usr/sbin/sendmail log-after-rotate@example.org </tmp/message
			/usr/sbin/sendmail -odq log-after-rotate-queued@example.org </tmp/message'
		as_queue_runner /usr/sbin/gsendmail -q
		cat "$root$logfile"
		test "$(grep -c 'to=<log-after-rotate.*status=sent' "$root$logfile")" = 2
	}
	check "logrotate: tester's and the queue runner's lines reach the new file" after_rotate

	stop_test_server
	rm -rf "$state" "$root/tmp/forged-line"
	sh_chroot "rm -f /etc/gsendmail/password /etc/gsendmail/test-ca.pem $logfile $logfile.*"
	unset -f as_queue_runner after_rotate bs_session
}
logfile_stage

# shellcheck shell=bash
# chroot-remove.sh: the last part of chroot-test.sh (sourced, with the helpers of
# chroot-lib.sh): dpkg --remove with a message still queued, dpkg --purge, and a
# reinstall that reuses the users the purge kept.


# --- remove -----------------------------------------------------------------

say "dpkg --remove"
# What users own, and the message send_checks left in the queue.
sh_chroot '
	mkdir -p /home/tester/.config/gsendmail /home/tester/.local/state/gsendmail/queue
	echo "# mine" >/home/tester/.config/gsendmail/config.toml
	echo queued >/home/tester/.local/state/gsendmail/queue/entry
	chown -R tester:tester /home/tester/.config /home/tester/.local'
queued=$(sh_chroot 'find /var/spool/gsendmail/entries -name "*.env" 2>/dev/null | wc -l')
check_real "a message is queued before the removal" test "$queued" -ge 1

# dpkg_out FILE COMMAND...: runs COMMAND in the chroot, its output also in FILE.
dpkg_out() {
	local file=$1 rc=0
	shift
	in_chroot "$@" >"$file" 2>&1 || rc=$?
	cat "$file"
	return $rc
}
check "dpkg --remove gsendmail-mta gsendmail" dpkg_out "$out/remove.out" dpkg --remove gsendmail-mta gsendmail
if [ "$queued" -eq 1 ]; then queued_text="1 message"; else queued_text="$queued messages"; fi
check_real "remove says how many messages are still queued, and where" \
	grep -q "gsendmail: $queued_text still queued in /var/spool/gsendmail/entries" "$out/remove.out"
check "programs and links gone" sh_chroot '
	for f in /usr/sbin/gsendmail /usr/bin/gsendmailctl /usr/sbin/sendmail /usr/lib/sendmail \
		/usr/bin/mailq /usr/sbin/newaliases; do ! test -e "$f" && ! test -L "$f"; done'
check "remove keeps the queue and its messages, tokens dir, config, logrotate snippet" sh_chroot "
	test \$(find /var/spool/gsendmail/entries -name '*.env' | wc -l) -eq $queued
	test -d /var/spool/gsendmail/failed && test -d /var/lib/gsendmail/tokens
	test -f /etc/gsendmail/config.toml && test -f /etc/logrotate.d/gsendmail"
check "remove keeps the group, the users and the statoverride" sh_chroot '
	getent group gsendmail && getent passwd _gsendmail && getent passwd _gsendmail-smtp
	dpkg-statoverride --list /usr/sbin/gsendmail'
check "gsendmail is in state config-files" \
	sh_chroot 'dpkg-query -W -f "\${Status}\n" gsendmail | grep -qx "deinstall ok config-files"'

# --- purge ------------------------------------------------------------------

say "dpkg --purge"
# The log file the logrotate snippet rotates, and its rotated copies, beside a
# log of another program.
sh_chroot '
	for f in gsendmail.log gsendmail.log.1 gsendmail.log.2.gz other.log; do echo line >/var/log/$f; done'
ids_before=$(sh_chroot 'id -u _gsendmail; id -u _gsendmail-smtp; getent group gsendmail | cut -d: -f3')
check "dpkg --purge gsendmail-mta gsendmail" dpkg_out "$out/purge.out" dpkg --purge gsendmail-mta gsendmail
check_real "purge says it deletes the queue with its $queued_text" \
	grep -q "gsendmail: deleting the queue /var/spool/gsendmail ($queued_text queued, " "$out/purge.out"
check "purge says what it deletes and what it keeps" sh -c "
	grep -q 'gsendmail: deleting the token cache /var/lib/gsendmail' '$out/purge.out'
	grep -q 'gsendmail: deleting the log file /var/log/gsendmail.log' '$out/purge.out'
	grep -q 'gsendmail: keeping /etc/gsendmail/config.toml' '$out/purge.out'
	grep -q 'gsendmail: keeping the users _gsendmail and _gsendmail-smtp (locked)' '$out/purge.out'"
check "purge deletes /var/spool/gsendmail, /var/lib/gsendmail, the logrotate snippet" \
	sh_chroot '! test -e /var/spool/gsendmail && ! test -e /var/lib/gsendmail && ! test -e /etc/logrotate.d/gsendmail'
check "purge deletes /var/log/gsendmail.log and its rotated copies, not other logs" sh_chroot '
	! ls /var/log | grep "^gsendmail"; test -f /var/log/other.log'
check "purge deletes the statoverride" sh_chroot '! dpkg-statoverride --list /usr/sbin/gsendmail'
check "purge keeps the users, locked and expired, and the group" sh_chroot '
	for u in _gsendmail _gsendmail-smtp; do
		getent passwd $u | grep -q ":/usr/sbin/nologin$"
		getent shadow $u | cut -d: -f2 | grep -q "^!"
		test "$(getent shadow $u | cut -d: -f8)" = 1
	done
	getent group gsendmail'
check "purge keeps the administrator's /etc/gsendmail/config.toml" \
	sh_chroot 'test -f /etc/gsendmail/config.toml'
check "purge leaves users' home data alone" sh_chroot '
	test -f /home/tester/.config/gsendmail/config.toml
	test -f /home/tester/.local/state/gsendmail/queue/entry'
check "purge leaves no systemd links" \
	sh_chroot 'test -z "$(find /etc/systemd /var/lib/systemd -name "*gsendmail*" 2>/dev/null)"'
check "dpkg knows nothing of either package" \
	sh_chroot '! dpkg-query -W gsendmail 2>/dev/null && ! dpkg-query -W gsendmail-mta 2>/dev/null'

say "reinstall and purge without a configuration"
sh_chroot 'rm -f /etc/gsendmail/config.toml /var/log/other.log'
check "dpkg -i gsendmail (dependencies already there)" in_chroot dpkg -i "$main_in"
check "reinstall reuses the kept users and group (same ids), no longer expired" sh_chroot "
	test \"\$(id -u _gsendmail; id -u _gsendmail-smtp; getent group gsendmail | cut -d: -f3)\" = '$ids_before'
	for u in _gsendmail _gsendmail-smtp; do test -z \"\$(getent shadow \$u | cut -d: -f8)\"; done"
check "reinstall: /usr/sbin/gsendmail is 2755 root:gsendmail again" \
	sh_chroot 'test "$(stat -c "%a %U %G" /usr/sbin/gsendmail)" = "2755 root gsendmail"'
check "dpkg --purge gsendmail" in_chroot dpkg --purge gsendmail
check "purge deletes the empty /etc/gsendmail, keeps the group" sh_chroot '
	! test -e /etc/gsendmail && getent group gsendmail'
{
	printf '\n### left after purge\n'
	sh_chroot 'ls -ld /etc/gsendmail /var/lib/gsendmail /var/spool/gsendmail 2>&1 || true
		getent group gsendmail || echo "group gsendmail: absent"'
} >>"$log" 2>&1

# shellcheck shell=bash
# 30-walkthrough.sh: a deployment as /usr/share/doc/gsendmail/setup.md and
# README.Debian tell it, for each mode the test server can play: Gmail with OAuth
# (the login done with --refresh-token-stdin, as the browser cannot run here), an
# app password pasted with Google's spaces, the Workspace relay by IP address
# (auth = "none"), the relay with SMTP AUTH, and a service account with
# domain-wide delegation (its key made here, trusted by the test server).
#
# For each mode: the system configuration and its secret files are installed as
# the docs say (install -m 640 -o root -g gsendmail), then
#   - root sends with sendmail -t;
#   - www-data sends as PHP's mail() does (sendmail -t -i -fADDRESS);
#   - cron's mail to root (-FCronDaemon -i -B8BITMIME -oem root, no aliases)
#     arrives at the account's own address;
#   - with the server down the message is queued; with it back, sendmail -q
#     delivers it at once.
# Each step checks what the server recorded. Sourced by chroot-test.sh with its
# helpers (check, sh_chroot, start_test_server, stop_test_server), which set the
# configuration and the queue aside around it.

walk_state=$root/tmp/walkthrough-server

# A user outside group gsendmail cannot read the system configuration: status says
# what to do about it.
check "walk-through: tester's gsendmailctl status says to run it as root or join group gsendmail (78)" \
	sh_tester 'rc=0; err=$(gsendmailctl status 2>&1 >/dev/null) || rc=$?; printf "%s\n" "$err"; [ $rc -eq 78 ] &&
		[ "$err" = "gsendmailctl: cannot read /etc/gsendmail/config.toml: Permission denied; run this as root (sudo), or add this user to group gsendmail" ]'

# as_www COMMAND: a shell command run as www-data, as PHP's mail() would run sendmail.
as_www() {
	chroot --userspec=www-data:www-data --groups=www-data "$root" /usr/bin/env -i PATH=/usr/bin:/bin:/usr/sbin \
		HOME=/var/www LANG=C.UTF-8 /bin/sh -ec "$1"
}


# walk_arrived N ADDRESS: the server's message N went to ADDRESS.
walk_arrived() {
	local file="$walk_state/records/$1.json"
	[ -f "$file" ] || { echo "no message $1 recorded"; return 1; }
	grep -q "\"$2\"" "$file" || { cat "$file"; return 1; }
}

# walk_start [OPTION...]: the test server with the walk-through's accounts, on the
# port of the previous start when there was one (so the configuration stays right).
walk_start() {
	local port_option=()
	[ -n "${walk_port:-}" ] && port_option=(--port "$walk_port" --http-port "$walk_http_port")
	start_test_server "$walk_state" "${port_option[@]}" \
		--user alice@example.com --password abcdefghijklmnop \
		--user relay-user@example.com --password relaypass1234 \
		--refresh-token 1//walkthrough-refresh "$@"
	walk_port=$smtp_port
	walk_http_port=$http_port
	cp "$walk_state/ca.pem" "$root/etc/gsendmail/test-ca.pem"
	chmod 0644 "$root/etc/gsendmail/test-ca.pem"
}

# walk_mode NAME ACCOUNT ADDRESS SENDER CONFIG [SERVER OPTION...]: one mode, end to
# end. ADDRESS is where cron's mail to root must arrive (the account's own address),
# SENDER what PHP passes with -f. CONFIG is the account's table as docs/setup.md shows
# it (HTTP_PORT stands for the token endpoint's port); the test server's host, port and
# CA are appended.
walk_mode() {
	local name=$1 account=$2 address=$3 sender=$4 config=$5
	shift 5
	walk_port=""
	rm -rf "$walk_state"
	walk_start "$@"
	config=${config//HTTP_PORT/$walk_http_port}
	sh_chroot "
		printf '%s\nhost = \"127.0.0.1\"\nport = $walk_port\ntls_ca_file = \"/etc/gsendmail/test-ca.pem\"\n' '$config' >/tmp/walk.toml
		install -m 640 -o root -g gsendmail /tmp/walk.toml /etc/gsendmail/config.toml
		rm -f /tmp/walk.toml /var/lib/gsendmail/tokens/$account.*"
	if [ "$name" = oauth ]; then
		check "walk-through $name: root logs in (gsendmailctl login --refresh-token-stdin)" \
			sh_chroot "printf '1//walkthrough-refresh\n' | gsendmailctl login $account --refresh-token-stdin"
	fi
	check "walk-through $name: gsendmailctl doctor says other users can use the account" \
		sh_chroot "out=\$(gsendmailctl doctor $account || true); printf '%s\n' \"\$out\"
			printf '%s\n' \"\$out\" | grep -q '^  ok    other users: '"
	local n
	n=$(received)
	check "walk-through $name: root sends with sendmail -t" \
		sh_chroot "printf 'To: bob@example.org\nSubject: walk $name root\n\nfrom root\n' | sendmail -t"
	check "walk-through $name: root's message arrived for bob@example.org" walk_arrived $((n + 1)) bob@example.org
	check "walk-through $name: www-data sends as PHP mail() does (sendmail -t -i -f$sender)" \
		as_www "printf 'To: carol@example.org\nSubject: walk $name php\n\nfrom php\n' | /usr/sbin/sendmail -t -i -f$sender"
	check "walk-through $name: www-data's message arrived for carol@example.org" walk_arrived $((n + 2)) carol@example.org
	check "walk-through $name: cron's mail to root (no aliases) is accepted" \
		sh_chroot "printf 'Subject: Cron <root@host> test\n\ncron output\n' | sendmail -FCronDaemon -i -B8BITMIME -oem root"
	check "walk-through $name: cron's mail arrived at the account's address $address" \
		walk_arrived $((n + 3)) "$address"
	stop_test_server
	check "walk-through $name: server down: www-data's message is queued (exit 0)" \
		as_www "printf 'To: dave@example.org\nSubject: walk $name queued\n\nlater\n' | /usr/sbin/sendmail -t -i -f$sender"
	check "walk-through $name: mailq lists it" sh_chroot 'mailq | grep -q dave@example.org'
	# A new server process numbers its messages from 1 again.
	rm -rf "$walk_state/records"
	walk_start "$@"
	n=$(received)
	check "walk-through $name: server back: sendmail -q delivers it at once" \
		sh_chroot 'sendmail -q && mailq | grep -q "Mail queue is empty"'
	check "walk-through $name: the queued message arrived for dave@example.org" walk_arrived $((n + 1)) dave@example.org
	stop_test_server
	sh_chroot "rm -f /var/lib/gsendmail/tokens/$account.* /var/spool/gsendmail/entries/* /var/spool/gsendmail/failed/*"
}

walk_mode oauth personal alice@example.com alice@example.com '[account.personal]
from = "alice@example.com"
client_id = "walkthrough"
token_url = "http://127.0.0.1:HTTP_PORT/token"' --expires-in 3600

# The app password as Google shows it, spaces and all, installed as docs/setup.md says.
sh_chroot "printf '%s\n' 'abcd efgh ijkl mnop' | install -m 640 -o root -g gsendmail /dev/stdin /etc/gsendmail/alice.password"
walk_mode app-password alice alice@example.com alice@example.com '[account.alice]
from = "alice@example.com"
auth = "password"
password_file = "/etc/gsendmail/alice.password"'
sh_chroot 'rm -f /etc/gsendmail/alice.password'

walk_mode relay-ip office root@example.com www-data@example.com '[account.office]
from = "*@example.com"
route = "relay"
auth = "none"
helo = "host.example.com"
allowed_senders = { "www-data" = ["www-data@example.com"] }' --relay

sh_chroot "printf '%s\n' 'relaypass1234' | install -m 640 -o root -g gsendmail /dev/stdin /etc/gsendmail/relay.password"
walk_mode relay-auth office root@example.com www-data@example.com '[account.office]
from = "*@example.com"
route = "relay"
auth = "password"
user = "relay-user@example.com"
password_file = "/etc/gsendmail/relay.password"
helo = "host.example.com"
allowed_senders = { "www-data" = ["www-data@example.com"] }' --relay
sh_chroot 'rm -f /etc/gsendmail/relay.password'

# A service account: Google would hand over the key file; here openssl makes the key
# and the test server trusts its public half, as Google does once delegation is set.
walk_key=$(mktemp -d)
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$walk_key/key.pem" 2>/dev/null
openssl pkey -in "$walk_key/key.pem" -pubout -out "$walk_key/pub.pem"
python3 - "$walk_key" <<'PY'
import json, sys
d = sys.argv[1]
json.dump({"type": "service_account", "project_id": "walkthrough", "private_key_id": "k1",
           "private_key": open(d + "/key.pem").read(),
           "client_email": "robot@walkthrough.iam.gserviceaccount.com", "client_id": "112233445566778899",
           "token_uri": "https://oauth2.googleapis.com/token"}, open(d + "/key.json", "w"))
PY
cp "$walk_key/key.json" "$root/tmp/PROJECT-walkthrough.json"
sh_chroot "install -m 640 -o root -g gsendmail /tmp/PROJECT-walkthrough.json /etc/gsendmail/service-account.json
	rm -f /tmp/PROJECT-walkthrough.json"
check "walk-through service-account: status prints the client ID to paste into the Admin console" \
	sh_chroot 'printf "[account.robot]\nfrom = \"*@example.com\"\nauth = \"service-account\"\nservice_account_file = \"/etc/gsendmail/service-account.json\"\n" >/tmp/sa.toml
		gsendmailctl status robot -C /tmp/sa.toml | grep -q "112233445566778899"; rc=$?; rm -f /tmp/sa.toml; exit $rc'
walk_mode service-account robot root@example.com www-data@example.com '[account.robot]
from = "*@example.com"
auth = "service-account"
service_account_file = "/etc/gsendmail/service-account.json"
token_url = "http://127.0.0.1:HTTP_PORT/token"
allowed_senders = { "www-data" = ["www-data@example.com"] }' \
	--trust-service-account "robot@walkthrough.iam.gserviceaccount.com=$walk_key/pub.pem"
sh_chroot 'rm -f /etc/gsendmail/service-account.json'
rm -rf "$walk_key"

# The mistake of issue reports: a secret file only root can read. Root's own sends
# work, other users' cannot; doctor and config check say so, with the fix.
sh_chroot "printf '%s\n' 'abcd efgh ijkl mnop' | install -m 600 -o root -g root /dev/stdin /etc/gsendmail/alice.password
	printf '[account.alice]\nfrom = \"alice@example.com\"\nauth = \"password\"\npassword_file = \"/etc/gsendmail/alice.password\"\nhost = \"127.0.0.1\"\nport = 1\n' >/tmp/walk.toml
	install -m 640 -o root -g gsendmail /tmp/walk.toml /etc/gsendmail/config.toml && rm -f /tmp/walk.toml"
check "walk-through: a password file only root can read: doctor fails 'other users' with the chown" \
	sh_chroot 'out=$(gsendmailctl doctor alice || true); printf "%s\n" "$out"
		printf "%s\n" "$out" | grep -q "^  fail  other users: group gsendmail cannot use /etc/gsendmail/alice.password (password_file)"
		printf "%s\n" "$out" | grep -qF "fix: chown root:gsendmail /etc/gsendmail/alice.password && chmod 640 /etc/gsendmail/alice.password"'
check "walk-through: config check warns about it" \
	sh_chroot 'err=$(gsendmailctl config check 2>&1 >/dev/null); printf "%s\n" "$err"
		printf "%s\n" "$err" | grep -q "^gsendmailctl: warning: \[account.alice\] group gsendmail cannot use /etc/gsendmail/alice.password"'
sh_chroot 'rm -f /etc/gsendmail/alice.password'

sh_chroot 'rm -f /etc/gsendmail/test-ca.pem'
rm -rf "$walk_state"

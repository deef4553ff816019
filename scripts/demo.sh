#!/usr/bin/env bash
# The main job, end to end, without a Google account: build gsendmail, start the
# bundled Gmail test server on 127.0.0.1, point a temporary config at it, send a
# message with `gsendmail -t`, and show the SMTP dialogue (secrets redacted) and
# the message as the server received it; then the same through the Gmail API route
# (HTTPS only, with a token whose scope is gmail.send alone).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libssl-dev libcurl4-openssl-dev openssl ca-certificates patchelf)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "== installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== building (release, Swift runtime linked statically)"
top=$PWD
source scripts/release-flags.sh
release_build
bin=$release_bin

work=$(mktemp -d)
api_pid=""
trap 'kill "$server_pid" $api_pid 2>/dev/null || true; rm -rf "$work"' EXIT
mkfifo "$work/ready"
"$bin/gmail-test-server" --state-dir "$work/server" --tls-port off \
  --refresh-token 1//demo-refresh-token >"$work/ready" &
server_pid=$!
port=""
while read -r kind address rest; do
  case "$kind" in
    smtp) port=${address##*:} ;;
    http) http=$address ;;
    ca) ca=$address ;;
    records) records=$address ;;
    ready) break ;;
  esac
done <"$work/ready"
echo "== Gmail test server on 127.0.0.1:$port (STARTTLS, its own CA), token endpoint on $http"

umask 077
export XDG_STATE_HOME="$work/state"
cat >"$work/config.toml" <<CONFIG
log = "file:$work/mail.log"

[account.demo]
from = "demo@example.com"
name = "gsendmail demo"
route = "custom"
host = "127.0.0.1"
port = $port
tls_ca_file = "$ca"
auth = "oauth"
client_id = "demo-client.apps.googleusercontent.com"
client_secret = "demo-client-secret"
token_url = "http://$http/token"
helo = "demo.example.org"
CONFIG

echo "== gsendmailctl login demo --refresh-token-stdin   (the fake endpoint's refresh token)"
echo 1//demo-refresh-token | "$bin/gsendmailctl" login demo --refresh-token-stdin -C "$work/config.toml"
"$bin/gsendmailctl" status -C "$work/config.toml"

echo "== gsendmail -v -t < message"
"$bin/gsendmail" -C "$work/config.toml" -v -t <<'MESSAGE'
To: Bob <bob@example.org>
Cc: carol@example.org
Bcc: dave@example.org
Subject: Hello from gsendmail

This message went through STARTTLS and AUTH XOAUTH2 to a local Gmail look-alike.
The Bcc: header was removed; dave@example.org got it through RCPT TO only.
MESSAGE
echo "== exit status $?; the log line:"
cat "$work/mail.log"

echo "== what the server received (records: $records)"
cat "$records"/1.json; echo
cat "$records"/1.eml

echo
echo "== The Gmail API route: a second test server whose tokens can only send (gmail.send)"
mkfifo "$work/ready-api"
"$bin/gmail-test-server" --state-dir "$work/server-api" --port off --tls-port off --https-port 0 \
  --refresh-token 1//demo-send-only --token-scope https://www.googleapis.com/auth/gmail.send >"$work/ready-api" &
api_pid=$!
while read -r kind address rest; do
  case "$kind" in
    http) api_http=$address ;;
    https) api_https=$address ;;
    ca) api_ca=$address ;;
    records) api_records=$address ;;
    ready) break ;;
  esac
done <"$work/ready-api"
cat >"$work/config-api.toml" <<CONFIG
log = "file:$work/mail.log"

[account.api]
from = "demo@example.com"
name = "gsendmail demo"
route = "gmail-api"
api_url = "https://$api_https"
tls_ca_file = "$api_ca"
auth = "oauth"
client_id = "demo-client.apps.googleusercontent.com"
client_secret = "demo-client-secret"
token_url = "http://$api_http/token"
CONFIG
echo 1//demo-send-only | "$bin/gsendmailctl" login api --refresh-token-stdin -C "$work/config-api.toml"
"$bin/gsendmailctl" status api -C "$work/config-api.toml"

echo "== gsendmail -v bob@example.org dave@example.org < message   (no -t: the envelope decides)"
"$bin/gsendmail" -C "$work/config-api.toml" -v bob@example.org dave@example.org <<'MESSAGE'
To: Bob <bob@example.org>
Subject: Hello from gsendmail, through the Gmail API

This message was uploaded over HTTPS to users.messages.send.
dave@example.org is an envelope recipient the header does not name: the upload
carried him in a Bcc: field, which Gmail removes from what recipients see.
MESSAGE
echo "== exit status $?; the log line:"
tail -1 "$work/mail.log"
echo "== what the API received (records: $api_records)"
cat "$api_records"/1.json; echo
cat "$api_records"/1.eml

#!/usr/bin/env bash
# The main job, end to end, without a Google account: build gsendmail, start the
# bundled Gmail test server on 127.0.0.1, point a temporary config at it, send a
# message with `gsendmail -t`, and show the SMTP dialogue (secrets redacted) and
# the message as the server received it.
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
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
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

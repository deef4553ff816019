#!/usr/bin/env bash
# Counts the Swift source files one send runs through: `gsendmail -t` with an OAuth
# account whose access token is cached, through gmail-test-server on 127.0.0.1, from
# start to exit status, and from start until it has written DATA and waits for the
# reply. A file counts when any of its functions ran (code coverage).
# docs/design.md, "Life of a message", gives the figures and the list.
#
#   scripts/walk-files.sh [BUILD_DIR]
#
# BUILD_DIR: a build of gsendmail with `swift build --enable-code-coverage` (default: one
# made here in .build-walk). gmail-test-server comes from the same folder when it is
# there, else from .build/debug. Prints each count, then its files by target.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
unset SSL_CERT_FILE SSL_CERT_DIR

build=${1:-}
# The LLVM tools of the Swift toolchain read its profiles (a distribution's may not).
llvm=$(dirname "$(readlink -f "$(command -v swift)")")
if [ -z "$build" ]; then
  swift build --enable-code-coverage --product gsendmail --scratch-path .build-walk >&2
  build=$(swift build --enable-code-coverage --scratch-path .build-walk --show-bin-path)
fi
server=$build/gmail-test-server
[ -x "$server" ] || server=$top/.build/debug/gmail-test-server
[ -x "$server" ] || swift build --product gmail-test-server >&2

work=$(mktemp -d "${TMPDIR:-/tmp}/gsendmail-walk.XXXXXX")
server_pid=""
stop_server() {
  [ -z "$server_pid" ] || { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; } || true
  server_pid=""
}
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

# gsendmail leaves with _exit(2), which skips the profile writer: this shim's _exit
# calls exit(3) so that the counters are written, and SIGUSR1 ends the process the same
# way (for the run stopped at DATA).
cat >"$work/exit.c" <<'C'
#include <signal.h>
#include <stdlib.h>
void _exit(int status) { exit(status); }
static void stop(int signal) { (void)signal; exit(0); }
__attribute__((constructor)) static void install(void) { signal(SIGUSR1, stop); }
C
cc -shared -fPIC -o "$work/exit.so" "$work/exit.c"

token=walk-token-0123456789
# start_server ARGS: gmail-test-server with this token; sets $port and $ca.
start_server() {
  rm -f "$work/ready"
  mkfifo "$work/ready"
  "$server" --state-dir "$work/server" --http-port off --tls-port off --no-records \
    --token "$token" "$@" >"$work/ready" &
  server_pid=$!
  port="" ca=""
  while read -r kind address _; do
    case "$kind" in
      smtp) port=${address##*:} ;;
      ca) ca=$address ;;
      ready) break ;;
    esac
  done <"$work/ready"
}

export XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state" HOME="$work"
(
  umask 077
  mkdir -p "$XDG_STATE_HOME/gsendmail/tokens"
  printf '{"access_token":"%s","expires_at":4102444800}\n' "$token" \
    >"$XDG_STATE_HOME/gsendmail/tokens/walk.json"
)
write_config() {
  cat >"$work/config.toml" <<CONFIG
log = "none"

[account.walk]
from = "walk@example.com"
route = "custom"
host = "127.0.0.1"
port = $port
tls_ca_file = "$ca"
auth = "oauth"
client_id = "walk"
CONFIG
}
printf 'From: Walk <walk@example.com>\nTo: Bob <bob@example.org>\nSubject: walk\n\nHello.\n' >"$work/message"

# report NAME PROFRAW: the files with functions that ran.
report() {
  "$llvm"/llvm-profdata merge -o "$work/$1.profdata" "$2"
  "$llvm"/llvm-cov export -summary-only -instr-profile "$work/$1.profdata" "$build/gsendmail" >"$work/$1.json"
  if [ -n "${WALK_FUNCTIONS:-}" ]; then
    # WALK_FUNCTIONS=1: also the functions that ran, by file, on standard error.
    "$llvm"/llvm-cov export -instr-profile "$work/$1.profdata" "$build/gsendmail" | python3 -c '
import json, sys
for f in json.load(sys.stdin)["data"][0]["functions"]:
    if f["count"] > 0 and "/Sources/" in f["filenames"][0]:
        print(f["filenames"][0].split("/Sources/", 1)[1], f["name"])' | sort | "$llvm"/swift-demangle --simplified >&2
  fi
  python3 - "$1" "$work/$1.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[2]))
files = sorted(f["filename"].split("/Sources/", 1)[1] for f in data["data"][0]["files"]
               if "/Sources/" in f["filename"] and f["filename"].endswith(".swift")
               and f["summary"]["functions"]["covered"] > 0)
print(f"{sys.argv[1]}: {len(files)} Swift files ran")
by_target = {}
for path in files:
    target, _, name = path.partition("/")
    by_target.setdefault(target, []).append(name)
for target, names in by_target.items():
    print(f"- {target} ({len(names)}): {', '.join(names)}")
PY
}

# The whole run: the message is sent, gsendmail exits 0.
start_server
write_config
LLVM_PROFILE_FILE="$work/whole.profraw" LD_PRELOAD="$work/exit.so" \
  "$build/gsendmail" -C "$work/config.toml" -t <"$work/message"
stop_server

# Up to DATA: the server accepts MAIL and RCPT and never answers DATA. Its verbose log
# shows the session up to AUTH (MAIL, RCPT and DATA follow in one write, PIPELINING);
# a second after AUTH, gsendmail waits for the reply to DATA and SIGUSR1 ends it.
start_server --scenario stall=data --verbose 2>"$work/server.log"
write_config
LLVM_PROFILE_FILE="$work/data.profraw" LD_PRELOAD="$work/exit.so" \
  "$build/gsendmail" -C "$work/config.toml" -t <"$work/message" &
client=$!
for _ in $(seq 200); do
  grep -q " AUTH " "$work/server.log" && break
  sleep 0.05
done
grep -q " AUTH " "$work/server.log" || { echo "no AUTH seen by the server" >&2; cat "$work/server.log" >&2; exit 1; }
sleep 1
kill -USR1 "$client"
wait "$client" || true
stop_server

report "whole run" "$work/whole.profraw"
report "to DATA" "$work/data.profraw"

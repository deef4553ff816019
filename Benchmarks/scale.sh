#!/usr/bin/env bash
# How the queue scales: SIZES queue sizes (10,000 and 100,000 entries by default)
# spread over ACCOUNTS accounts (20), each on the local gmail-test-server (STARTTLS +
# XOAUTH2 with a cached token). For each size it prints:
# - the enqueue rate: SAMPLE runs of `gsendmail -odq -t` (1,000 by default, the senders
#   taking turns over the accounts), timed together from the shell; each one writes,
#   fsyncs and renames the entry, then fsyncs the directory;
# - `mailq` (`gsendmail -bp` through a link named mailq) with the queue full: wall, CPU
#   and peak RSS (lib/run1, median of 3), and its last line must count every entry;
# - one flush (`gsendmail -q`): wall, CPU, peak RSS and messages per second; the server
#   must then have accepted every entry, in one session per account, and mailq must
#   say the queue is empty.
# FLUSH=0 skips the flush (quick iterations on mailq); CALLGRIND=1 also counts the
# instructions of one mailq under valgrind --tool=callgrind (output kept in
# $CALLGRIND_DIR, /tmp by default, as callgrind.mailq.SIZE).
# The queue is filled past the sample by copying the sampled entries under new IDs
# (same files, same format, not fsynced): running `-odq` 100,000 times would take
# about ten minutes of a shared disk and measure nothing new. Prints figures only.
# Targets (issue): mailq of 100,000 entries < 1 s; the runner's peak RSS <= 16 MiB
# whatever the queue size.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

sizes=${SIZES:-10000 100000}
accounts=${ACCOUNTS:-20}
sample=${SAMPLE:-1000}
flush=${FLUSH:-1}
callgrind=${CALLGRIND:-0}
callgrind_dir=${CALLGRIND_DIR:-/tmp}
token="bench-access-token"
build_release
build_runner
start_server --token "$token" --verbose 2>"$work/server.log"
write_send_configs "$token"
write_message "$work/message-1k" 1024
ln -s "$bin/gsendmail" "$work/mailq"
queue="$XDG_STATE_HOME/gsendmail/queue"

# The accounts: scale00 ... scaleNN, sender NN@example.com, the same cached token each.
config="$work/scale.toml"
{
  echo 'log = "none"'
  for i in $(seq -w 0 $((accounts - 1))); do
    printf '\n[account.scale%s]\nfrom = "sender%s@example.com"\nroute = "custom"\nhost = "127.0.0.1"\n' "$i" "$i"
    printf 'port = %s\ntls_ca_file = "%s"\nauth = "oauth"\nclient_id = "bench"\n' "$port" "$ca"
    (umask 077; printf '{"access_token":"%s","expires_at":4102444800}\n' "$token" \
      >"$XDG_STATE_HOME/gsendmail/tokens/scale$i.json")
  done
} >"$config"

accepted() { grep -c ': message [0-9]* .* reply=250$' "$work/server.log" || true; }
sessions() { grep -c ': connect ' "$work/server.log" || true; }
fail() { echo "$*" >&2; exit 1; }

# fill COUNT: copies the entries in the queue, in turn, under new IDs until it holds
# COUNT. An ID is 7 base-32 digits of the arrival second, 4 of a counter in place of
# the microseconds, and 8 random alphanumerics, as the queue makes them; the `id` line
# of the envelope is rewritten to match.
fill() {
  python3 - "$queue/entries" "$1" <<'PY'
import os, random, string, sys
entries, want = sys.argv[1], int(sys.argv[2])
digits32 = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
alnum = string.digits + string.ascii_uppercase + string.ascii_lowercase
def b32(n, width):
    return "".join(digits32[(n >> (5 * i)) & 31] for i in reversed(range(width)))
sources = []
for name in sorted(os.listdir(entries)):
    if name.endswith(".env"):
        base = name[:-4]
        env = open(os.path.join(entries, name), "rb").read()
        body = open(os.path.join(entries, base + ".body"), "rb").read()
        sources.append((base, env, body))
have = len(sources)
os.umask(0o077)
for n in range(want - have):
    base, env, body = sources[n % have]
    arrival = int(env.split(b"\narrival ", 1)[1].split(b"\n", 1)[0])
    new = b32(arrival, 7) + b32(n % 1000000, 4) + "".join(random.choice(alnum) for _ in range(8))
    with open(os.path.join(entries, new + ".body"), "wb") as f:
        f.write(body)
    with open(os.path.join(entries, new + ".env"), "wb") as f:
        f.write(env.replace(b"\nid " + base.encode() + b"\n", b"\nid " + new.encode() + b"\n", 1))
PY
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), $("$bin/gsendmail" --version)"
echo "# gmail-test-server on 127.0.0.1:$port, STARTTLS + XOAUTH2; $accounts accounts; 1 KB messages"
echo "# queue in $queue ($(df --output=fstype "$work" | tail -1 | tr -d ' '))"
echo "# enqueue: $sample x -odq from the shell; mailq: median of 3; flush: one gsendmail -q"
printf '%8s %12s %10s %10s %10s %10s %11s %11s %11s %10s\n' entries "enqueue/s" "mailq ms" "mailq cpu" "mailq KB" \
  "flush s" "flush cpu s" "flush KB" "flush msg/s" "sessions"
for size in $sizes; do
  rm -rf "$queue"
  start=$(now)
  for i in $(seq 0 $((sample - 1))); do
    account=$(printf '%02d' $((i % accounts)))
    "$bin/gsendmail" -C "$config" -odq -t -f "sender$account@example.com" <"$work/message-1k" \
      || fail "gsendmail -odq failed (exit $?)"
  done
  enqueue=$(elapsed "$start" "$(now)")
  fill "$size"
  : >"$work/mailq.runs"
  for _ in 1 2 3; do
    line=$("$run1" /dev/null "$work/mailq.err" "$work/mailq" -C "$config")
    set -- $line
    [ "$4" = 0 ] || { cat "$work/mailq.err" >&2; fail "mailq exited $4"; }
    echo "$line" >>"$work/mailq.runs"
  done
  requests=$("$work/mailq" -C "$config" | tail -1)
  [[ "$requests" == "-- "*" Kbytes in $size Requests." ]] || fail "mailq says '$requests' for $size entries"
  if [ "$callgrind" = 1 ]; then
    # valgrind cannot read the toolchain's DWARF 5: a copy without debug information
    # (the symbol table stays, so functions keep their names).
    mkdir -p "$callgrind_dir" "$work/nodebug"
    [ -e "$work/nodebug/mailq" ] || objcopy --strip-debug "$bin/gsendmail" "$work/nodebug/mailq"
    out="$callgrind_dir/callgrind.mailq.$size"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$work/nodebug/mailq" -C "$config" >/dev/null 2>"$work/callgrind.err" \
      || { cat "$work/callgrind.err" >&2; fail "mailq under callgrind failed"; }
    echo "# callgrind mailq $size: $(grep -o 'Collected : [0-9]*' "$work/callgrind.err" | cut -d' ' -f3) instructions ($out)"
  fi
  if [ "$flush" = 0 ]; then
    printf '%8s %12.0f %10.1f %10.1f %10s %10s %11s %11s %11s %10s\n' "$size" \
      "$(awk -v n="$sample" -v t="$enqueue" 'BEGIN { print n / t }')" \
      "$(cut -d' ' -f1 "$work/mailq.runs" | median)" "$(cut -d' ' -f2 "$work/mailq.runs" | median)" \
      "$(cut -d' ' -f3 "$work/mailq.runs" | median)" - - - - -
    continue
  fi
  before_accepted=$(accepted)
  before_sessions=$(sessions)
  line=$("$run1" /dev/null "$work/flush.err" "$bin/gsendmail" -C "$config" -q)
  set -- $line
  [ "$4" = 0 ] || { cat "$work/flush.err" >&2; fail "gsendmail -q exited $4"; }
  flush_wall=$1 flush_cpu=$2 flush_rss=$3
  got=$(($(accepted) - before_accepted))
  opened=$(($(sessions) - before_sessions))
  [ "$got" = "$size" ] || fail "$size entries: the server accepted $got messages"
  left=$("$work/mailq" -C "$config")
  [ "$left" = "Mail queue is empty" ] || fail "$size entries: mailq after the flush: $(echo "$left" | tail -1)"
  printf '%8s %12.0f %10.1f %10.1f %10s %10.2f %11.2f %11s %11.0f %10s\n' "$size" \
    "$(awk -v n="$sample" -v t="$enqueue" 'BEGIN { print n / t }')" \
    "$(cut -d' ' -f1 "$work/mailq.runs" | median)" "$(cut -d' ' -f2 "$work/mailq.runs" | median)" \
    "$(cut -d' ' -f3 "$work/mailq.runs" | median)" \
    "$(awk -v ms="$flush_wall" 'BEGIN { print ms / 1000 }')" "$(awk -v ms="$flush_cpu" 'BEGIN { print ms / 1000 }')" \
    "$flush_rss" "$(awk -v n="$size" -v ms="$flush_wall" 'BEGIN { print n * 1000 / ms }')" "$opened"
done
echo "# targets: mailq of 100000 entries < 1000 ms; flush peak RSS <= 16384 KB at every size"

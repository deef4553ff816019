#!/usr/bin/env bash
# A real send: gsendmail and msmtp hand the same message to the same local
# gmail-test-server (STARTTLS, XOAUTH2 with a token both already have, server CA
# given explicitly), alternating run by run; gsendmail also through its Gmail API route
# (the same server's HTTPS upload endpoint: simple upload for 4 KB, a resumable session
# for 30 MB), once with the CA file and once with the system store. For a 4 KB and a
# 30 MB message it prints
# the median wall time, CPU time (user+sys, including children the program waited
# for) and peak RSS of each, and the ratios gsendmail/msmtp. gsendmail runs with the
# default queue (queue = true): each message is committed to the on-disk queue before
# the first attempt and removed once sent; the queue must be empty after each size
# (a send that was queued instead of sent would exit 0 too). Prints figures only.
# It also prints the caller-visible time of a 4 KB `gsendmail -odb` (exit once queued,
# a detached child sends it; each delivery is waited for before the next run) against
# msmtp's send.
# Targets (issue): 4 KB: wall <= 0.1x msmtp, CPU <= 0.7x, peak RSS <= 0.9x; 4 KB -odb
# wall <= 0.05x; 30 MB: wall <= 0.8x, peak RSS <= 0.9x.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

small_runs=${SMALL_RUNS:-20}
large_runs=${LARGE_RUNS:-5}
token="bench-access-token"
build_release
build_runner
start_server --token "$token" --https-port 0

write_send_configs "$token"
# The same account on the API route: the same token cache (account name), queue and log.
sed -e '/^route = /c route = "gmail-api"' -e '/^host = /d' -e '/^port = /d' \
  -e "/^tls_ca_file = /a api_url = \"https://127.0.0.1:$https_port\"" "$work/config.toml" >"$work/config-api.toml"
chmod 600 "$work/config-api.toml"
# And without tls_ca_file: the system store as on a real machine, the test CA put in a
# hashed directory (SSL_CERT_DIR, set for that run only through env(1), whose own start
# is counted) the way update-ca-certificates makes /etc/ssl/certs.
sed -e '/^tls_ca_file = /d' "$work/config-api.toml" >"$work/config-api-store.toml"
chmod 600 "$work/config-api-store.toml"
mkdir "$work/hashed-ca"
cp "$ca" "$work/hashed-ca/"
openssl rehash "$work/hashed-ca"

gsendmail=("$bin/gsendmail" -C "$work/config.toml" -t)
gsendmail_api=("$bin/gsendmail" -C "$work/config-api.toml" -t)
gsendmail_api_store=(env "SSL_CERT_DIR=$work/hashed-ca" "$bin/gsendmail" -C "$work/config-api-store.toml" -t)
msmtp=(msmtp -C "$work/msmtprc" -t)
programs=(gsendmail gsendmail_api gsendmail_api_store msmtp)

write_message "$work/message-4k" 4096
write_message "$work/message-30m" 30000000

# measure NAME MESSAGE RUNS: runs both programs RUNS times, alternating, after one
# unmeasured run of each; prints one row per program.
measure() {
  local name=$1 message=$2 runs=$3 i program
  for program in "${programs[@]}"; do : >"$work/$program.runs"; done
  for i in $(seq 0 "$runs"); do
    for program in "${programs[@]}"; do
      local -n argv=$program
      local line
      line=$("$run1" "$message" "$work/$program.err" "${argv[@]}")
      set -- $line
      if [ "$4" != 0 ]; then
        echo "$program failed (exit $4) on the $name message:" >&2
        cat "$work/$program.err" >&2
        exit 1
      fi
      [ "$i" = 0 ] || echo "$line" >>"$work/$program.runs"
    done
  done
  local mw mc mr w c r label
  mw=$(cut -d' ' -f1 "$work/msmtp.runs" | median)
  mc=$(cut -d' ' -f2 "$work/msmtp.runs" | median)
  mr=$(cut -d' ' -f3 "$work/msmtp.runs" | median)
  printf '%-8s %-14s %5s %10.1f %9.1f %12s\n' "$name" msmtp "$runs" "$mw" "$mc" "$mr"
  for program in gsendmail gsendmail_api gsendmail_api_store; do
    w=$(cut -d' ' -f1 "$work/$program.runs" | median)
    c=$(cut -d' ' -f2 "$work/$program.runs" | median)
    r=$(cut -d' ' -f3 "$work/$program.runs" | median)
    case $program in
      gsendmail) label=gsendmail ;;
      gsendmail_api) label=gsendmail-api ;;
      *) label=api-store ;;
    esac
    printf '%-8s %-14s %5s %10.1f %9.1f %12s   wall %sx  cpu %sx  rss %sx\n' "$name" "$label" "$runs" "$w" "$c" "$r" \
      "$(ratio "$w" "$mw")" "$(ratio "$c" "$mc")" "$(ratio "$r" "$mr")"
  done
}

# wait_delivered: waits (at most 10 s) until the background child of the last -odb run
# has sent its message and removed it from the queue; stops the script otherwise.
wait_delivered() {
  local i
  for i in $(seq 1000); do
    [ -z "$(ls -A "$XDG_STATE_HOME/gsendmail/queue/entries" 2>/dev/null)" ] && return 0
    sleep 0.01
  done
  echo "a background delivery did not finish within 10 s" >&2
  exit 1
}

# measure_background NAME MESSAGE RUNS: the caller-visible time of `gsendmail -odb`
# (it exits once the message is committed; a detached child sends it), alternating with
# msmtp's send as in measure; after each -odb run, untimed, the child's delivery is
# waited for. CPU and RSS are the caller's (the child is not waited for by anyone), so
# only the wall time is compared.
measure_background() {
  local name=$1 message=$2 runs=$3 i line
  : >"$work/background.runs"
  : >"$work/msmtp.runs"
  for i in $(seq 0 "$runs"); do
    line=$("$run1" "$message" "$work/gsendmail.err" "${gsendmail[@]}" -odb)
    set -- $line
    [ "$4" = 0 ] || { echo "gsendmail -odb failed (exit $4):" >&2; cat "$work/gsendmail.err" >&2; exit 1; }
    [ "$i" = 0 ] || echo "$line" >>"$work/background.runs"
    wait_delivered
    line=$("$run1" "$message" "$work/msmtp.err" "${msmtp[@]}")
    set -- $line
    [ "$4" = 0 ] || { echo "msmtp failed (exit $4):" >&2; cat "$work/msmtp.err" >&2; exit 1; }
    [ "$i" = 0 ] || echo "$line" >>"$work/msmtp.runs"
  done
  local gw gc gr mw mc mr
  gw=$(cut -d' ' -f1 "$work/background.runs" | median)
  gc=$(cut -d' ' -f2 "$work/background.runs" | median)
  gr=$(cut -d' ' -f3 "$work/background.runs" | median)
  mw=$(cut -d' ' -f1 "$work/msmtp.runs" | median)
  mc=$(cut -d' ' -f2 "$work/msmtp.runs" | median)
  mr=$(cut -d' ' -f3 "$work/msmtp.runs" | median)
  printf '%-8s %-10s %5s %10.1f %9.1f %12s\n' "$name" msmtp "$runs" "$mw" "$mc" "$mr"
  printf '%-8s %-10s %5s %10.1f %9.1f %12s   wall %sx (caller only)\n' "$name" "-odb" "$runs" "$gw" "$gc" "$gr" \
    "$(ratio "$gw" "$mw")"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), $("$bin/gsendmail" --version), $(msmtp --version | head -1)"
echo "# gmail-test-server on 127.0.0.1:$port, STARTTLS + XOAUTH2; gsendmail-api: route gmail-api, HTTPS 127.0.0.1:$https_port; SSL_CERT_FILE and SSL_CERT_DIR unset"
echo "# api-store: gsendmail-api without tls_ca_file, the test CA in a hashed SSL_CERT_DIR (through env)"
echo "# gsendmail with the default queue (queue = true): write, fsync, rename, fsync dir, send, remove"
echo "# medians; wall ms, cpu ms (user+sys), peak RSS KB"
printf '%-8s %-14s %5s %10s %9s %12s\n' message program runs "wall ms" "cpu ms" "RSS KB"
measure 4KB "$work/message-4k" "$small_runs"
check_queue_empty
measure_background 4KB "$work/message-4k" "$small_runs"
measure 30MB "$work/message-30m" "$large_runs"
check_queue_empty
echo "# targets: 4KB wall <= 0.10x, cpu <= 0.70x, rss <= 0.90x; 4KB -odb wall <= 0.05x; 30MB wall <= 0.80x, rss <= 0.90x"

#!/usr/bin/env bash
# A queue run against an msmtpq-style loop. 1,000 copies of a 4 KB message are put in
# gsendmail's queue by 1,000 runs of `gsendmail -odq -t` (timed together: each one
# writes, fsyncs and renames the entry, then fsyncs the directory), then sent by one
# `gsendmail -q` to the local gmail-test-server (STARTTLS + XOAUTH2, one SMTP session
# for the account, MAIL/RCPT/DATA pipelined). msmtp has no queue run of its own:
# msmtpq flushes by running msmtp once per message, so a shell loop runs
# `msmtp -t` MSMTP_MESSAGES times (100 by default, to keep the script short) and its
# time is scaled to 1,000 messages. Checks that the server accepted exactly 1,000
# messages in exactly one session per queue run, that the flush exited 0 and that
# mailq then says the queue is empty; stops otherwise. Prints figures only.
# Targets (issue): enqueueing 1,000 < 5 s; the flush >= 50x faster than msmtp's loop.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

messages=${MESSAGES:-1000}
rounds=${ROUNDS:-3}
msmtp_messages=${MSMTP_MESSAGES:-100}
token="bench-access-token"
build_release
build_runner
# --verbose: one line per session and per message on standard error, counted below
# (--no-records: nothing written to disk by the server, so it does not compete with
# the queue for the disk).
start_server --token "$token" --verbose 2>"$work/server.log"
write_send_configs "$token"
write_message "$work/message-4k" 4096
ln -s "$bin/gsendmail" "$work/mailq"

# accepted: messages the server has accepted so far; sessions: sessions opened so far.
accepted() { grep -c ': message [0-9]* .* reply=250$' "$work/server.log" || true; }
sessions() { grep -c ': connect ' "$work/server.log" || true; }
fail() { echo "$*" >&2; exit 1; }

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), $("$bin/gsendmail" --version), $(msmtp --version | head -1)"
echo "# gmail-test-server on 127.0.0.1:$port, STARTTLS + XOAUTH2; SSL_CERT_FILE and SSL_CERT_DIR unset"
echo "# $messages messages of 4 KB; queue in $XDG_STATE_HOME/gsendmail/queue ($(df --output=fstype "$work" | tail -1 | tr -d ' '))"

# Not timed: two messages through a queue run with -v, to check from the client's
# transcript that both go in one session and that MAIL, RCPT and DATA are pipelined
# (sent together, before any of their replies).
for _ in 1 2; do "$bin/gsendmail" -C "$work/config.toml" -odq -t <"$work/message-4k"; done
"$bin/gsendmail" -C "$work/config.toml" -q -v 2>"$work/transcript" || fail "gsendmail -q -v failed"
pipelined=$(grep -A2 'C: MAIL FROM:' "$work/transcript" | grep -c -E 'C: (RCPT TO|DATA)' || true)
[ "$(grep -c 'C: MAIL FROM:' "$work/transcript")" = 2 ] && [ "$(grep -c 'C: EHLO' "$work/transcript")" = 2 ] \
  && [ "$pipelined" = 4 ] || { cat "$work/transcript" >&2; fail "the queue run did not pipeline two messages in one session"; }
echo "# checked: a queue run sends its messages in one session, MAIL/RCPT/DATA pipelined"

# The shell's own cost of starting 1,000 programs with standard input redirected,
# for reference (included in the enqueue time, as in any script that queues mail).
start=$(now)
for _ in $(seq "$messages"); do /bin/true <"$work/message-4k"; done
shell_cost=$(elapsed "$start" "$(now)")

: >"$work/enqueue.times"
: >"$work/flush.runs"
for round in $(seq "$rounds"); do
  before_accepted=$(accepted)
  before_sessions=$(sessions)
  start=$(now)
  for _ in $(seq "$messages"); do
    "$bin/gsendmail" -C "$work/config.toml" -odq -t <"$work/message-4k" \
      || fail "gsendmail -odq failed (exit $?) in round $round"
  done
  elapsed "$start" "$(now)" >>"$work/enqueue.times"
  queued=$("$work/mailq" -C "$work/config.toml" | tail -1)
  [[ "$queued" == "-- "*" Kbytes in $messages Requests." ]] \
    || fail "round $round: mailq says '$queued' after queueing $messages messages"

  # One queue run: wall time, CPU and peak RSS from lib/run1.
  line=$("$run1" /dev/null "$work/flush.err" "$bin/gsendmail" -C "$work/config.toml" -q)
  set -- $line
  [ "$4" = 0 ] || { cat "$work/flush.err" >&2; fail "gsendmail -q exited $4 in round $round"; }
  echo "$line" >>"$work/flush.runs"
  got=$(($(accepted) - before_accepted))
  opened=$(($(sessions) - before_sessions))
  [ "$got" = "$messages" ] || fail "round $round: the server accepted $got messages, not $messages"
  [ "$opened" = 1 ] || fail "round $round: the queue run opened $opened SMTP sessions, not 1"
  left=$("$work/mailq" -C "$work/config.toml")
  [ "$left" = "Mail queue is empty" ] || fail "round $round: mailq after the queue run: $(echo "$left" | tail -1)"
done

# msmtp, as msmtpq flushes its queue: one msmtp run per message.
before_accepted=$(accepted)
start=$(now)
for _ in $(seq "$msmtp_messages"); do
  msmtp -C "$work/msmtprc" -t <"$work/message-4k" || fail "msmtp failed (exit $?)"
done
msmtp_time=$(elapsed "$start" "$(now)")
got=$(($(accepted) - before_accepted))
[ "$got" = "$msmtp_messages" ] || fail "the server accepted $got of msmtp's $msmtp_messages messages"
msmtp_scaled=$(awk -v t="$msmtp_time" -v n="$msmtp_messages" -v m="$messages" 'BEGIN { printf "%.3f\n", t * m / n }')

enqueue=$(median <"$work/enqueue.times")
flush=$(cut -d' ' -f1 "$work/flush.runs" | median)
flush_cpu=$(cut -d' ' -f2 "$work/flush.runs" | median)
flush_rss=$(cut -d' ' -f3 "$work/flush.runs" | median)
flush_s=$(awk -v ms="$flush" 'BEGIN { printf "%.3f\n", ms / 1000 }')
total=$(awk -v a="$enqueue" -v b="$flush_s" 'BEGIN { printf "%.3f\n", a + b }')

echo "# medians of $rounds rounds; every round: $messages accepted in 1 session, queue empty after"
printf '%-52s %10s\n' "step" "seconds"
printf '%-52s %10.3f   (%.2f ms each; enqueue times: %s)\n' "gsendmail -odq x $messages (enqueue)" "$enqueue" \
  "$(awk -v t="$enqueue" -v n="$messages" 'BEGIN { print t * 1000 / n }')" "$(tr '\n' ' ' <"$work/enqueue.times" | sed 's/ $//')"
printf '%-52s %10.3f   (for reference, included above)\n' "  of which the shell starting $messages programs" "$shell_cost"
printf '%-52s %10.3f   (cpu %.0f ms, peak RSS %s KB; flush times: %s)\n' "gsendmail -q (flush, one session)" "$flush_s" \
  "$flush_cpu" "$flush_rss" "$(awk '{ printf "%s%.3f", (NR > 1 ? " " : ""), $1 / 1000 }' "$work/flush.runs")"
printf '%-52s %10.3f\n' "gsendmail enqueue + flush" "$total"
printf '%-52s %10.3f   (%s messages took %.3f s, scaled x%s)\n' "msmtp loop, $messages messages" "$msmtp_scaled" \
  "$msmtp_messages" "$msmtp_time" "$(awk -v m="$messages" -v n="$msmtp_messages" 'BEGIN { print m / n }')"
echo "flush speed-up over the msmtp loop:            $(ratio "$msmtp_scaled" "$flush_s")x"
echo "enqueue + flush speed-up over the msmtp loop:  $(ratio "$msmtp_scaled" "$total")x"
echo "# targets: enqueue of $messages < 5 s; flush >= 50x faster than the msmtp loop"

#!/bin/bash
# SPDX-License-Identifier: MIT
# Builds the libFuzzer targets with the fuzzer and address sanitizers and runs each one
# for a while, on a scratch copy of its seed corpus (Fuzz/Corpus/NAME), so that the
# committed seeds never change.
#
#   Fuzz/run.sh [SECONDS] [NAME...]
#
# SECONDS: how long each target runs (default 60). NAME: message, smtp-reply, bs-command,
# json (default: all of them, in that order).
# Prints, for each target: runs executed, coverage (libFuzzer's `cov:` count), final
# corpus size and crashes. Exits non-zero when any target crashes, leaks, times out, runs
# out of memory, or was built without coverage; the input that did it is kept and its
# path printed, with the command that replays it.
set -euo pipefail

usage() {
  echo "usage: Fuzz/run.sh [SECONDS] [message|smtp-reply|bs-command|json ...]" >&2
  exit 64
}

seconds=60
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
[[ $seconds -gt 0 ]] || usage

# NAME → executable product of Fuzz/Package.swift.
declare -A products=(
  [message]=MessageCoreFuzz [smtp-reply]=SMTPReplyFuzz [bs-command]=BSCommandFuzz [json]=JSONFuzz
)
all=(message smtp-reply bs-command json)
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")
for name in "${targets[@]}"; do
  [[ -n ${products[$name]:-} ]] || { echo "run.sh: unknown target '$name'" >&2; usage; }
done

fuzz=$(cd "$(dirname "$0")" && pwd -P)
top=$(dirname "$fuzz")
# SwiftPM names a package given by path after its directory; a checkout directory named
# like this one ("fuzz") would collide with the fuzz package itself.
if [[ $(basename "$top" | tr '[:upper:]' '[:lower:]') == fuzz ]]; then
  echo "run.sh: the checkout's directory must not be named '$(basename "$top")' (SwiftPM package identity)" >&2
  exit 2
fi

echo "== building the fuzz targets (release, fuzzer + address sanitizers)"
# SwiftPM passes its sanitizers to swiftc as separate -sanitize= flags in no fixed order,
# and only the last one takes effect: the Swift code may silently lose the address
# sanitizer. The combined flag, passed last, gives both. Without -sanitize-coverage the
# Swift modules are not instrumented and libFuzzer finds "no interesting inputs".
# One product at a time: building the whole package would also build gsendmail's own
# executables (and everything they need) with the sanitizers.
for name in "${targets[@]}"; do
  (cd "$fuzz" && swift build -c release --product "${products[$name]}" \
    --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address \
    -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp)
done
bin="$fuzz/.build/release"
# (grep without -q reads all of nm's output: with pipefail, an early exit would fail nm.)
if ! nm -u "$bin/Codecs.build/JSON.swift.o" | grep __asan_ > /dev/null; then
  echo "run.sh: the Swift modules were built without the address sanitizer (remove $bin and build again)" >&2
  exit 2
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/gsendmail-fuzz.XXXXXX")
failed=0
summary=()
for name in "${targets[@]}"; do
  exe="$bin/${products[$name]}"
  work="$scratch/$name"
  mkdir -p "$work/corpus" "$work/artifacts"
  if compgen -G "$fuzz/Corpus/$name/*" > /dev/null; then cp "$fuzz/Corpus/$name"/* "$work/corpus/"; fi
  extra=()
  # The configuration parser also learns from the TOML conformance fixtures.
  [[ $name == message ]] && extra=("$top/Tests/TOMLCoreTests/Fixtures/valid")
  echo "== $name: ${products[$name]} for ${seconds}s"
  status=0
  # SWIFT_BACKTRACE: a trap goes straight to libFuzzer's handler, which saves the input; the
  # Swift backtracer would run under the address sanitizer and may hang.
  # The per-input timeout is generous: CI machines are small and shared.
  SWIFT_BACKTRACE=enable=no timeout --kill-after=30 $((seconds * 2 + 120)) "$exe" -max_total_time="$seconds" -max_len=4096 \
    -timeout=25 -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" "${extra[@]}" > "$work/log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  cov=$( (grep -o 'cov: [0-9]*' "$work/log" || true) | tail -n 1 | cut -d' ' -f2)
  corpus=$(find "$work/corpus" -type f | wc -l)
  # slow-unit-* files only report an input that took long (a busy machine): not failures.
  crashes=$(find "$work/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
    -o -name 'oom-*' \) | wc -l)
  verdict=ok
  if grep -q 'no interesting inputs were found' "$work/log"; then
    verdict="no coverage: the modules were built without -sanitize-coverage (remove $bin and build again)"
  elif [[ $status -ne 0 || $crashes -gt 0 ]]; then
    verdict="FAILED (exit $status)"
  fi
  line="$name: runs ${runs:-?}, coverage ${cov:-?}, corpus $corpus, crashes $crashes: $verdict"
  summary+=("$line")
  echo "$line"
  if [[ $verdict != ok ]]; then
    failed=1
    grep -E '^(==[0-9]+==ERROR|SUMMARY|Fatal error|.*Fatal error:|artifact_prefix|Test unit written)' "$work/log" | head -n 20 || true
    for artifact in "$work/artifacts"/{crash,leak,timeout,oom}-*; do
      [[ -e $artifact ]] && echo "   replay: SWIFT_BACKTRACE=enable=no $exe $artifact"
    done
    echo "   log: $work/log"
  fi
done

echo "== summary (${seconds}s each)"
printf '%s\n' "${summary[@]}"
if [[ $failed -ne 0 ]]; then
  echo "fuzzing FAILED; inputs and logs kept in $scratch" >&2
  exit 1
fi
rm -rf "$scratch"

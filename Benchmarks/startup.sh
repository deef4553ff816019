#!/usr/bin/env bash
# Start-up cost: `gsendmail --version` and `gsendmail --dry-run -t` of a 4 KB message
# against `msmtp --version`. hyperfine measures both --version directly (-N) and the
# dry run through sh (hyperfine 1.15 cannot redirect standard input, it subtracts the
# shell's cost); lib/run1 measures the dry run again without any shell. Peak RSS is the
# median of 5 runs of /usr/bin/time -f %M. Prints figures only.
# Target (issue): gsendmail at most 0.6x msmtp.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

runs=${RUNS:-300}
warmup=${WARMUP:-30}
build_release
gsendmail="$bin/gsendmail"

write_message "$work/message-4k" 4096
cat >"$work/config.toml" <<CONFIG
queue = false
log = "none"

[account.bench]
from = "bench@example.com"
auth = "none"
CONFIG
# Keep the user's own files out of it.
export XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state" HOME="$work"

dry_run="$gsendmail -C $work/config.toml --dry-run -t < $work/message-4k"
"$gsendmail" -C "$work/config.toml" --dry-run -t <"$work/message-4k" >/dev/null

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), $("$gsendmail" --version), $(msmtp --version | head -1)"
echo "# SSL_CERT_FILE and SSL_CERT_DIR unset (as on a normal Debian machine)"

# 1. Both --version, executed directly (no shell).
hyperfine -N --style none --warmup "$warmup" --runs "$runs" --export-json "$work/version.json" \
  -n "gsendmail --version" "$gsendmail --version" \
  -n "msmtp --version" "msmtp --version" >/dev/null

# 2. The dry run needs standard input from a file, and hyperfine 1.15 has no --input
# (it came in 1.16): both commands run through sh -c, and hyperfine subtracts the
# measured cost of starting the shell.
hyperfine -S sh --style none --warmup "$warmup" --runs "$runs" --export-json "$work/dry.json" \
  -n "gsendmail --dry-run -t < 4 KB" "$dry_run" \
  -n "msmtp --version" "msmtp --version" >/dev/null

# 3. The same dry run without any shell: lib/run1 (fork, exec, wait4) with standard
# input redirected, alternating with msmtp --version, as a check on hyperfine's shell
# correction (which it says is imprecise below 5 ms).
build_runner
: >"$work/direct.gsendmail"
: >"$work/direct.msmtp"
for _ in $(seq "$runs"); do
  "$run1" "$work/message-4k" /dev/null "$gsendmail" -C "$work/config.toml" --dry-run -t | cut -d' ' -f1 >>"$work/direct.gsendmail"
  "$run1" /dev/null /dev/null msmtp --version | cut -d' ' -f1 >>"$work/direct.msmtp"
done

rss() {
  local i
  for i in 1 2 3 4 5; do
    /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>&1
    cat "$work/rss"
  done | median
}
gversion=$(hyperfine_median "$work/version.json" 0)
mversion=$(hyperfine_median "$work/version.json" 1)
gdry=$(hyperfine_median "$work/dry.json" 0)
mversion_sh=$(hyperfine_median "$work/dry.json" 1)
gdry_direct=$(median <"$work/direct.gsendmail")
mversion_direct=$(median <"$work/direct.msmtp")
rss_gversion=$(rss "$gsendmail" --version)
rss_mversion=$(rss msmtp --version)
rss_gdry=$(rss sh -c "exec $dry_run")

row() { printf '%-42s %10.3f %8s %12s\n' "$@"; }
printf '%-42s %10s %8s %12s\n' "command" "median ms" "x msmtp" "peak RSS KB"
row "msmtp --version (hyperfine -N)" "$mversion" "1.00" "$rss_mversion"
row "gsendmail --version (hyperfine -N)" "$gversion" "$(ratio "$gversion" "$mversion")" "$rss_gversion"
row "msmtp --version (hyperfine, sh)" "$mversion_sh" "1.00" "-"
row "gsendmail --dry-run 4 KB (hyperfine, sh)" "$gdry" "$(ratio "$gdry" "$mversion_sh")" "$rss_gdry"
row "msmtp --version (run1)" "$mversion_direct" "1.00" "-"
row "gsendmail --dry-run 4 KB (run1)" "$gdry_direct" "$(ratio "$gdry_direct" "$mversion_direct")" "-"
echo "# runs: $runs each after $warmup warm-up runs; target: gsendmail <= 0.60 x msmtp"

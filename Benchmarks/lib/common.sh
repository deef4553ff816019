# Shared by the benchmark scripts (sourced, not run): build the release binaries,
# a scratch directory removed on exit, the local Gmail test server, test messages,
# medians and ratios. Failure policy: any setup step that fails stops the script
# (set -e in the caller); figures are printed, never compared against targets.

# This machine's environment points OpenSSL at the whole CA bundle (SSL_CERT_FILE),
# which makes every TLS context parse ~150 certificates (40-100 ms). A normal Debian
# machine sets neither variable; both programs are given their test CA explicitly
# (gsendmail: tls_ca_file, msmtp: tls_trust_file), so the variables are removed.
unset SSL_CERT_FILE SSL_CERT_DIR

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench_lib="$bench_root/Benchmarks/lib"

# Builds gsendmail and gmail-test-server as shipped (scripts/release-flags.sh) and
# sets $bin to the directory holding them.
build_release() {
  local top=$bench_root release_flags release_bin
  source "$bench_root/scripts/release-flags.sh"
  echo "# building (swift build ${release_flags[*]})" >&2
  (cd "$bench_root" && release_build --product gsendmail && release_build --product gmail-test-server)
  bin=$(cd "$bench_root" && swift build "${release_flags[@]}" --show-bin-path)
}

# A scratch directory ($work) and a server process ($server_pid), both gone on exit.
server_pid=""
work=$(mktemp -d "${TMPDIR:-/tmp}/gsendmail-bench.XXXXXX")
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts gmail-test-server on 127.0.0.1 (STARTTLS only, records kept in memory only,
# so nothing fills the disk) with the given extra arguments; sets $port and $ca, and
# $https_port when the arguments open the HTTPS listener (the Gmail API's uploads).
start_server() {
  mkfifo "$work/ready"
  "$bin/gmail-test-server" --state-dir "$work/server" --http-port off --tls-port off \
    --no-records "$@" >"$work/ready" &
  server_pid=$!
  port="" ca="" https_port=""
  while read -r kind address _; do
    case "$kind" in
      smtp) port=${address##*:} ;;
      https) https_port=${address##*:} ;;
      ca) ca=$address ;;
      ready) break ;;
    esac
  done <"$work/ready"
  [ -n "$port" ] && [ -n "$ca" ] || { echo "gmail-test-server did not start" >&2; exit 1; }
}

# write_message FILE BYTES: a plain-text message of BYTES bytes (70-character lines,
# LF line ends as local programs write them).
write_message() {
  local file=$1 bytes=$2
  {
    printf 'From: Bench <bench@example.com>\nTo: Bob <bob@example.org>\n'
    printf 'Subject: benchmark message\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n'
  } >"$file"
  local body=$((bytes - $(stat -c %s "$file")))
  local line="The quick brown fox jumps over the lazy dog; 0123456789 ABCDEFGHIJKLMN"
  # yes is stopped by SIGPIPE when head has enough: not a failure here.
  (set +o pipefail; yes "$line" | head -c $((body - 1)) >>"$file")
  printf '\n' >>"$file"
}

# median: the median of the numbers on standard input, one per line.
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A/B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "nan"; else printf "%.2f\n", a / b }'; }

# Compiles lib/run1.c (one measured run: wall, CPU, peak RSS) to $run1.
build_runner() {
  run1="$work/run1"
  cc -O2 -o "$run1" "$bench_lib/run1.c"
}

# write_send_configs TOKEN: the gsendmail config ($work/config.toml, one OAuth account
# on the local server, default queue, no log) with a cached access token valid until
# 2100 (so no token request is made), and an msmtprc ($work/msmtprc) for the same
# server, CA and token. Needs $port and $ca (start_server) and sets XDG_CONFIG_HOME,
# XDG_STATE_HOME and HOME under $work, so that the user's own files stay out of it.
write_send_configs() {
  local token=$1
  export XDG_CONFIG_HOME="$work/config" XDG_STATE_HOME="$work/state" HOME="$work"
  (
    umask 077
    mkdir -p "$XDG_STATE_HOME/gsendmail/tokens"
    chmod 700 "$XDG_STATE_HOME/gsendmail" "$XDG_STATE_HOME/gsendmail/tokens"
    printf '{"access_token":"%s","expires_at":4102444800}\n' "$token" \
      >"$XDG_STATE_HOME/gsendmail/tokens/bench.json"
  )
  # No `queue` key: the default (queue = true), so every message is committed to the
  # queue before the first attempt and removed once sent.
  cat >"$work/config.toml" <<CONFIG
log = "none"

[account.bench]
from = "bench@example.com"
route = "custom"
host = "127.0.0.1"
port = $port
tls_ca_file = "$ca"
auth = "oauth"
client_id = "bench"
CONFIG
  # msmtp: passwordeval runs a shell; its cost is counted, as it is on every msmtp
  # send configured this way.
  cat >"$work/msmtprc" <<CONFIG
account bench
host 127.0.0.1
port $port
from bench@example.com
user bench@example.com
auth xoauth2
passwordeval "echo $token"
tls on
tls_starttls on
tls_trust_file $ca
logfile
syslog off
account default : bench
CONFIG
  chmod 600 "$work/msmtprc"
}

# check_queue_empty: stops the script unless gsendmail's queue (the config from
# write_send_configs) is empty, i.e. every message was sent rather than queued.
check_queue_empty() {
  local listing
  listing=$("$bin/gsendmail" -C "$work/config.toml" -bp)
  if [ "$listing" != "Mail queue is empty" ]; then
    echo "gsendmail's queue is not empty:" >&2
    echo "$listing" | tail -3 >&2
    exit 1
  fi
}

# now: the wall clock in seconds ($EPOCHREALTIME, '.' decimal point).
now() { local t=$EPOCHREALTIME; echo "${t/,/.}"; }

# elapsed START END: END - START in seconds, three decimals.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }

# hyperfine_median JSON INDEX: the median wall time of one command, in ms.
hyperfine_median() {
  jq -r ".results[$2].median * 1000 | . * 1000 | round / 1000" "$1"
}

#!/usr/bin/env bash
# Writes packaging/gsendmail.order, the list of functions the linker lays out first in
# gsendmail (scripts/release-flags.sh): every function its common invocations run,
# one `.text.SYMBOL` line each, after two patterns for static constructors and
# compiler-named local functions. With the hot code together, a process maps a few
# hundred KB of gsendmail's code instead of 64 KB windows scattered over 10 MB.
#
# Each invocation runs once under valgrind's callgrind, which lists every function
# executed however briefly: a 4 KB send through the local gmail-test-server
# (STARTTLS, XOAUTH2 with a cached token, queue on), a message queued with -odq and
# sent by -q, mailq, --dry-run and --version.
#
# Usage: packaging/update-section-order.sh          rewrite the list
#        packaging/update-section-order.sh --check  write nothing; print the share of
#                                                   the functions these invocations run
#                                                   that the list holds (a report: a
#                                                   stale list costs speed, not
#                                                   correctness)
# Needs valgrind and python3. Failure policy: any step that fails stops the script.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
order="$top/packaging/gsendmail.order"
check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 64 ;;
esac
command -v valgrind >/dev/null || { echo "$0: valgrind is needed (apt install valgrind)" >&2; exit 69; }

source "$top/Benchmarks/lib/common.sh"
build_release
build_runner
start_server --token order-token
write_send_configs order-token
write_message "$work/message" 4096

# valgrind cannot read the DWARF of the static binary; symbols are enough.
objcopy --strip-debug "$bin/gsendmail" "$work/gsendmail"

# trace NAME ARGS...: runs gsendmail once under callgrind; its output is $work/NAME.cg.
trace() {
  local name=$1
  shift
  valgrind -q --tool=callgrind --demangle=no --callgrind-out-file="$work/$name.cg" \
    "$work/gsendmail" -C "$work/config.toml" "$@" <"$work/message" >/dev/null
}
trace send -t
trace queue -t -odq
trace run -q
trace mailq -bp
trace dryrun --dry-run -t
trace version --version
check_queue_empty

python3 - "$work" "$order" "$check" <<'PY'
import glob, re, sys
work, order, check = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
hot = set()
for path in glob.glob(work + "/*.cg"):
    objects, names, current = {}, {}, None
    for line in open(path, errors="replace"):
        m = re.match(r"^(c?ob)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if m:
            kind, ident, name = m.groups()
            if name:
                objects[ident] = name
            if kind == "ob":
                current = objects[ident]
            continue
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
        if m:
            kind, ident, name = m.groups()
            if name:
                names[ident] = name
            if kind == "fn" and current and current.endswith("/gsendmail"):
                # callgrind marks recursion levels with 'N.
                hot.add(re.sub(r"'\d+$", "", names[ident]))
if len(hot) < 500:
    sys.exit(f"only {len(hot)} functions seen: did the invocations run?")
# Split-off cold parts of C and C++ functions live in .text.unlikely.NAME.
lines = [".text.startup*", ".text..L*"] + sorted(
    (".text.unlikely." if ".cold" in name else ".text.") + name for name in hot)
if check:
    listed = set(open(order).read().split("\n"))
    missing = [l for l in lines if l not in listed]
    share = 1 - len(missing) / len(lines)
    print(f"{order}: lists {share:.0%} of the {len(lines)} functions run now")
    if share < 0.9:
        print("the list is stale (start-up speed only): run packaging/update-section-order.sh before a release")
else:
    with open(order, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{order}: {len(lines)} lines")
PY
# SwiftPM does not see the order file change; the next build links gsendmail anew.
[ "$check" = 1 ] || rm -f "$bin/gsendmail"

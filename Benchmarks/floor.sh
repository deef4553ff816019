#!/usr/bin/env bash
# What a send costs before gsendmail does anything, and where the rest of its resident
# text comes from. Two parts, figures only:
#
# 1. Floors. Two Swift programs linked as gsendmail is (release, static Swift runtime,
#    the C++ runtime pieces from libstdc++.a and no libstdc++.so, -z now, no exported
#    symbols, gold): "empty" does nothing; "openssl" loads libcrypto and libssl with
#    dlopen as gsendmail does, initialises OpenSSL with gsendmail's flags and creates one
#    client SSL_CTX and one SSL, the least any TLS send does. They run alternating with a
#    real 4 KB send of msmtp and of gsendmail (as in send.sh: local gmail-test-server,
#    cached token, default queue); medians of CPU (user+sys) and peak RSS.
# 2. Resident text. Code is mapped from the page cache 64 KB at a time around each page
#    fault (the kernel's fault-around), so the resident text of a binary is the number of
#    64 KB windows its executed code touches, not the size of that code. With callgrind
#    (executed instructions) this part counts, for one gsendmail send, the executed 4 KB
#    pages and the 64 KB windows they fall in, for the Swift part of the standard library
#    (libswiftCore.a ships it as one .text section of Swift.o, which a section order file
#    cannot rearrange) and for the rest of gsendmail's text (laid out by
#    packaging/gsendmail.order).
#
# Needs what send.sh needs, plus valgrind, binutils, patchelf and python3.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

runs=${RUNS:-30}
token="bench-access-token"
build_release
build_runner
start_server --token "$token"
write_send_configs "$token"
write_message "$work/message-4k" 4096

# The floor programs.
swift_static=$(dirname "$(dirname "$(command -v swiftc)")")/lib/swift_static/linux
mkdir -p "$work/floor/cxx"
cp "$bench_root/Sources/StaticCxxRuntime/include/"* "$work/floor/cxx/"
cat >"$work/floor/floor.h" <<'C'
int floor_tls_context(void);
C
cat >"$work/floor/floor.c" <<'C'
#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
/* As Sources/StaticCxxRuntime: a strong reference pulls this member out of libstdc++.a. */
extern void __cxa_pure_virtual(void);
void (*const floor_cxa_pure_virtual)(void) = __cxa_pure_virtual;
/* As CShim's gs_load and gs_tls_client_new, without the configuration gsendmail adds. */
int floor_tls_context(void) {
  void *crypto = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  void *ssl = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (crypto == NULL || ssl == NULL) return 1;
  int (*init)(uint64_t, const OPENSSL_INIT_SETTINGS *) = dlsym(ssl, "OPENSSL_init_crypto");
  const SSL_METHOD *(*method)(void) = dlsym(ssl, "TLS_client_method");
  SSL_CTX *(*ctx_new)(const SSL_METHOD *) = dlsym(ssl, "SSL_CTX_new");
  SSL *(*ssl_new)(SSL_CTX *) = dlsym(ssl, "SSL_new");
  if (init(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_LOAD_CONFIG |
               OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS,
           NULL) != 1)
    return 1;
  SSL_CTX *ctx = ctx_new(method());
  return ctx != NULL && ssl_new(ctx) != NULL ? 0 : 1;
}
C
cat >"$work/floor/empty.swift" <<'SWIFT'
import StaticCxxRuntime
SWIFT
cat >"$work/floor/openssl.swift" <<'SWIFT'
import StaticCxxRuntime
if floor_tls_context() != 0 { fatalError("no TLS context") }
SWIFT
cc -O2 -c "$work/floor/floor.c" -o "$work/floor/floor.o"
for program in empty openssl; do
  swiftc -O -static-stdlib -I "$work/floor/cxx" -import-objc-header "$work/floor/floor.h" \
    "$work/floor/$program.swift" "$work/floor/floor.o" -o "$work/floor/$program" \
    -use-ld=gold -Xlinker -z -Xlinker now -Xlinker --no-export-dynamic
  patchelf --remove-needed libstdc++.so.6 "$work/floor/$program"
  "$work/floor/$program"
done

gsendmail=("$bin/gsendmail" -C "$work/config.toml" -t)
msmtp=(msmtp -C "$work/msmtprc" -t)
empty=("$work/floor/empty")
openssl=("$work/floor/openssl")
programs=(msmtp gsendmail openssl empty)
for program in "${programs[@]}"; do : >"$work/$program.runs"; done
for i in $(seq 0 "$runs"); do
  for program in "${programs[@]}"; do
    declare -n argv=$program
    line=$("$run1" "$work/message-4k" "$work/$program.err" "${argv[@]}")
    set -- $line
    [ "$4" = 0 ] || { echo "$program failed (exit $4):" >&2; cat "$work/$program.err" >&2; exit 1; }
    [ "$i" = 0 ] || echo "$line" >>"$work/$program.runs"
    unset -n argv
  done
done
check_queue_empty

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r), $("$bin/gsendmail" --version), $(msmtp --version | head -1)"
echo "# $runs alternating runs each; medians; cpu ms (user+sys), peak RSS KB"
mc=$(cut -d' ' -f2 "$work/msmtp.runs" | median)
mr=$(cut -d' ' -f3 "$work/msmtp.runs" | median)
printf '%-44s %8s %10s %14s\n' program "cpu ms" "RSS KB" "x msmtp"
label_msmtp="msmtp, 4 KB send"
label_gsendmail="gsendmail, 4 KB send"
label_openssl="floor: static Swift runtime + SSL_CTX, SSL"
label_empty="floor: static Swift runtime, empty main"
for program in "${programs[@]}"; do
  declare -n label=label_$program
  c=$(cut -d' ' -f2 "$work/$program.runs" | median)
  r=$(cut -d' ' -f3 "$work/$program.runs" | median)
  printf '%-44s %8.2f %10s   %s / %s\n' "$label" "$c" "$r" "$(ratio "$c" "$mc")" "$(ratio "$r" "$mr")"
  unset -n label
done
awk -v m="$mr" 'BEGIN { printf "# the RSS target, 0.9 x msmtp: %d KB\n", 0.9 * m }'

# Part 2: executed pages and 64 KB windows of gsendmail's text, from one send under
# callgrind (debug sections stripped, which changes no address).
command -v valgrind >/dev/null || { echo "# valgrind missing: no text analysis"; exit 0; }
objcopy --strip-debug "$bin/gsendmail" "$work/gsendmail-nodebug"
valgrind --tool=callgrind --dump-instr=yes --compress-pos=no --compress-strings=no \
  --callgrind-out-file="$work/callgrind.out" "$work/gsendmail-nodebug" -C "$work/config.toml" -t \
  <"$work/message-4k" 2>/dev/null
check_queue_empty
mkdir "$work/swiftcore"
(cd "$work/swiftcore" && ar x "$swift_static/libswiftCore.a" Swift.o)
readelf -sW "$work/swiftcore/Swift.o" >"$work/swiftcore.symbols"
readelf -SW "$work/swiftcore/Swift.o" >"$work/swiftcore.sections"
nm "$bin/gsendmail" >"$work/gsendmail.nm"
readelf -SW "$bin/gsendmail" >"$work/gsendmail.sections"
python3 - "$work" <<'PYTHON'
import re, sys
work = sys.argv[1]
# Swift.o's first .text section: its index and size.
index = size = None
for line in open(f"{work}/swiftcore.sections"):
    m = re.match(r"\s*\[\s*(\d+)\]\s+\.text\s+PROGBITS\s+\S+\s+\S+\s+(\S+)", line)
    if m:
        index, size = m.group(1), int(m.group(2), 16)
        break
# Where that section landed in gsendmail: global functions defined in it, found by name.
in_section = {}
for line in open(f"{work}/swiftcore.symbols"):
    f = line.split()
    if len(f) == 8 and f[3] == "FUNC" and f[4] == "GLOBAL" and f[6] == index:
        in_section[f[7]] = int(f[1], 16)
bases = {}
for line in open(f"{work}/gsendmail.nm"):
    f = line.split()
    if len(f) == 3 and f[2] in in_section:
        base = int(f[0], 16) - in_section[f[2]]
        bases[base] = bases.get(base, 0) + 1
stdlib_lo = max(bases, key=bases.get)
stdlib_hi = stdlib_lo + size
text_lo = text_hi = None
for line in open(f"{work}/gsendmail.sections"):
    m = re.match(r"\s*\[\s*\d+\]\s+\.text\s+PROGBITS\s+(\S+)\s+\S+\s+(\S+)", line)
    if m:
        text_lo = int(m.group(1), 16)
        text_hi = text_lo + int(m.group(2), 16)
# Executed instruction addresses in gsendmail itself (callgrind gives link-time addresses).
executed, obj = set(), None
for line in open(f"{work}/callgrind.out"):
    if line.startswith("ob="):
        obj = line[3:].strip()
    elif line.startswith("0x") and obj and obj.endswith("gsendmail-nodebug"):
        executed.add(int(line.split()[0], 16))
def report(name, lo, hi, keep):
    pages = {a >> 12 for a in executed if lo <= a < hi and keep(a)}
    windows = {p >> 4 for p in pages}
    print(f"{name:44} {(hi - lo) // 1024:7} KB {len(pages):6} pages ({len(pages) * 4} KB)"
          f" {len(windows):5} windows ({len(windows) * 64} KB)")
print("# one 4 KB send under callgrind: executed 4 KB pages, and the 64 KB windows that fault-around maps for them")
print(f"{'text':44} {'size':>10} {'executed':>22} {'64 KB windows':>19}")
report("libswiftCore's Swift code (one section)", stdlib_lo, stdlib_hi, lambda a: True)
report("the rest of .text (ordered)", text_lo, text_hi, lambda a: not stdlib_lo <= a < stdlib_hi)
PYTHON

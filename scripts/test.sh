#!/usr/bin/env bash
# The whole test suite: build (debug, and release with the Swift runtime linked
# statically), unit and end-to-end tests, interoperability tests against
# aiosmtpd, man page lint, and — as root — the Debian package install test on
# bookworm and trixie.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

chroot_test=0
if [ "$(id -u)" = 0 ] && [ -x packaging/chroot-test.sh ] && [ "${SKIP_CHROOT:-}" != 1 ]; then
  chroot_test=1
  # The Debian chroots of the package test (debootstrap: mostly downloads) are made
  # while the code builds, in a session of their own so that an early exit ends them.
  mkdir -p packaging/out
  setsid bash -c 'for suite in bookworm trixie; do SUITE=$suite packaging/chroot-test.sh --prepare; done' \
    >packaging/out/prepare.log 2>&1 </dev/null &
  prepare_pid=$!
  trap 'kill -- -"$prepare_pid" 2>/dev/null || true' EXIT
fi

step "release build (as shipped: scripts/release-flags.sh)"
top=$PWD
source scripts/release-flags.sh
release_build
bin=$release_bin
# gsendmail takes its C++ runtime from libstdc++.a (Sources/StaticCxxRuntime).
if [[ $(readelf -d "$bin/gsendmail") == *"[libstdc++"* ]]; then
  echo "gsendmail still loads libstdc++.so" >&2
  exit 1
fi
"$bin/gsendmail" --version

# Before swift test: the DNS tests run a name server from dnslib in this venv.
if [ ! -x .venv/bin/pytest ] || ! .venv/bin/python3 -c "import dnslib" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q -r Tests/python/requirements.txt
fi

step "swift test"
swift build --build-tests 2>&1 | tail -1
log=.build/swift-test.log
if swift test --skip-build >"$log" 2>&1; then
  grep -E "^(✔|✘) Test run with|^Test Suite 'All tests'|Executed [0-9]+ tests" "$log" || tail -3 "$log"
else
  grep -E "^✘|recorded an issue|error:" "$log" | head -100
  tail -3 "$log"
  exit 1
fi

step "python tests (aiosmtpd interoperability)"
.venv/bin/pytest -q Tests/python

step "gsendmail's hot-code list: how much of what it runs now it covers (a report)"
# A stale list costs start-up speed, not correctness: this step never fails. The list
# is rewritten at release time (packaging/README.md).
log=.build/section-order-check.log
if packaging/update-section-order.sh --check >"$log" 2>&1; then
  grep -e "functions run now" -e "is stale" "$log"
else
  tail -3 "$log"
  echo "(could not measure the coverage; not a test failure)"
fi

step "pure cores import no I/O"
# Codecs, MessageCore, SMTPCore, SMTPServerCore, OAuth2, TOMLCore and GSendmailCore stay free of Foundation
# and Glibc: their behaviour is a function of their input, and tests feed them bytes.
if grep -rnE '^\s*(@_implementationOnly |internal |public )?import (Foundation|FoundationEssentials|Glibc|Transport|CShim)' \
  Sources/Codecs Sources/MessageCore Sources/SMTPCore Sources/SMTPServerCore Sources/OAuth2 Sources/TOMLCore \
  Sources/GSendmailCore; then
  echo "a pure core imports an I/O module" >&2
  exit 1
fi
echo "pure cores: clean"

step "man pages"
mandoc -Tlint -W warning man/*.[0-9]
echo "mandoc: clean"

if [ "$chroot_test" = 1 ]; then
  step "Debian packages: build, lintian, systemd-analyze verify"
  packaging/build-deb.sh
  # A chroot the preparation could not make is made by the test itself.
  wait "$prepare_pid" || cat packaging/out/prepare.log
  # The same stages on Debian 12 and 13, each from its own cached chroot; both run
  # before a failure of either fails the suite.
  chroot_failed=""
  for suite in bookworm trixie; do
    step "Debian packages: install, use, remove and purge on $suite"
    SUITE=$suite packaging/chroot-test.sh || chroot_failed="$chroot_failed $suite"
  done
  if [ -n "$chroot_failed" ]; then
    echo "the Debian chroot test failed on:$chroot_failed" >&2
    exit 1
  fi
fi

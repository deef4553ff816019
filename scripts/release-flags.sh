# The `swift build` options of the binaries as shipped, as a bash array
# ($release_flags); sourced by every script that builds them (tests, benchmarks, demo,
# Debian package), so that what is tested and measured is what is packaged.
#   --static-swift-stdlib   the Swift runtime linked in; no Swift on the target machine.
#   --disable-local-rpath   no RPATH pointing into the build directory.
#   -z now                  all symbols bound at start-up (lintian: hardening-no-bindnow).
#   --no-export-dynamic     an executable exports nothing: an empty dynamic symbol table
#                           keeps every library's symbol look-ups from searching it.
#   -function-sections and the section order
#                           each function in its own section, and the functions a
#                           send runs laid out together (packaging/gsendmail.order,
#                           written by packaging/update-section-order.sh), so that a
#                           process touches a few hundred KB of code instead of
#                           pages scattered over 10 MB. --section-ordering-file is
#                           gold's option, so gold is asked for by name.
# SwiftPM does not notice a change of the order file's contents, and has been seen to
# keep objects compiled without -function-sections: after changing either, remove
# .build/x86_64-unknown-linux-gnu/release (update-section-order.sh removes the linked
# gsendmail itself). Needs $top, the repository root.
release_flags=(
  -c release --static-swift-stdlib --disable-local-rpath
  -Xlinker -z -Xlinker now
  -Xlinker --no-export-dynamic
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections
  -Xswiftc -use-ld=gold
  "-Xlinker" "--section-ordering-file=$top/packaging/gsendmail.order"
)

# release_fixup BINDIR: after a release build, removes gsendmail's DT_NEEDED entry for
# libstdc++.so.6, which the toolchain's -lstdc++ adds although nothing in gsendmail
# binds to it: the C++ runtime pieces come from libstdc++.a (Sources/StaticCxxRuntime),
# and without the entry the dynamic loader does not load libstdc++.so (0.5 ms, 0.8 MB
# per run). Refuses, and fails, if a symbol does bind to it. Needs patchelf.
release_fixup() {
  local binary=$1/gsendmail dynamic versions
  [ -x "$binary" ] || return 0
  # Whole outputs first: `grep -q` on a pipe can end the writer with SIGPIPE.
  dynamic=$(readelf -d "$binary")
  grep -q 'NEEDED.*\[libstdc++\.so' <<<"$dynamic" || return 0
  versions=$(readelf -W -V --dyn-syms "$binary")
  if grep -qE '(GLIBCXX|CXXABI)_|File: libstdc\+\+' <<<"$versions"; then
    echo "release_fixup: $binary binds to libstdc++.so; not removing it" >&2
    return 1
  fi
  if ! command -v patchelf >/dev/null; then
    echo "release_fixup: patchelf is needed (apt install patchelf)" >&2
    return 1
  fi
  patchelf --remove-needed libstdc++.so.6 "$binary"
}

# release_build [SWIFT BUILD OPTIONS...]: builds with $release_flags (printing the build's
# last line on stderr, or all of its output when it fails), runs release_fixup, and sets
# $release_bin to the directory that holds the binaries.
release_build() {
  local log status=0
  log=$(mktemp)
  swift build "${release_flags[@]}" "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$log" >&2
  else
    tail -1 "$log" >&2
  fi
  rm -f "$log"
  [ "$status" -eq 0 ] || return "$status"
  release_bin=$(swift build "${release_flags[@]}" --show-bin-path)
  release_fixup "$release_bin"
}

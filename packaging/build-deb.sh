#!/bin/bash
# build-deb.sh: build the Debian packages gsendmail_VERSION_ARCH.deb and
# gsendmail-mta_VERSION_all.deb into packaging/out/, then run lintian on them.
#
# Usage: packaging/build-deb.sh [--skip-build] [--no-lintian]
#   --skip-build  package the release binaries already in .build/release
#   --no-lintian  do not run lintian
#
# The version is the one of packaging/debian/changelog (Debian revision
# included); the upstream part must match what `gsendmail --version` prints.
# Set GSENDMAIL_ALLOW_STUB=1 to package binaries that do not print a version
# yet (placeholders), with a warning instead of an error.
#
# Fails (non-zero) on: a build error, a version mismatch, a manual page that
# mandoc -Tlint finds fault with, a unit that systemd-analyze verify (when
# installed) finds fault with, a library that links the Swift runtime
# dynamically, or a lintian error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
out=$here/out
skip_build=0
run_lintian=1
for arg in "$@"; do
	case $arg in
	--skip-build) skip_build=1 ;;
	--no-lintian) run_lintian=0 ;;
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
		exit 0
		;;
	*)
		echo "build-deb.sh: unknown option $arg" >&2
		exit 64
		;;
	esac
done

say() { printf '==> %s\n' "$*"; }
die() {
	printf 'build-deb.sh: %s\n' "$*" >&2
	exit 1
}

umask 022
export LC_ALL=C.UTF-8

# --- version ----------------------------------------------------------------

cd "$here"
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
upstream=${version%-*}
arch=$(dpkg --print-architecture)
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l debian/changelog -S Timestamp)
export SOURCE_DATE_EPOCH
say "gsendmail $version ($arch)"

# --- man pages --------------------------------------------------------------

say "mandoc -Tlint man/*"
lint=$(cd "$top/man" && mandoc -Tlint ./*.[0-9] 2>&1 |
	grep -v -e 'referenced manual not found' -e 'outdated mandoc.db' || true)
if [ -n "$lint" ]; then
	printf '%s\n' "$lint" >&2
	die "the manual pages are not clean under mandoc -Tlint"
fi

# --- binaries ---------------------------------------------------------------

cd "$top"
# The options of every release build (tests, benchmarks): scripts/release-flags.sh.
source "$top/scripts/release-flags.sh"
swift_flags=("${release_flags[@]}")
if [ "$skip_build" -eq 0 ]; then
	for product in gsendmail gsendmailctl; do
		say "swift build ${swift_flags[*]} --product $product"
		(cd "$top" && release_build --product "$product")
	done
fi
bindir=$(swift build "${swift_flags[@]}" --show-bin-path)
release_fixup "$bindir" || die "release_fixup failed (see above)"  # also after --skip-build
for product in gsendmail gsendmailctl; do
	[ -x "$bindir/$product" ] || die "$bindir/$product is missing; run without --skip-build"
	if readelf -d "$bindir/$product" | grep -q 'NEEDED.*libswift'; then
		die "$product links the Swift runtime dynamically (built without --static-swift-stdlib?)"
	fi
	if readelf -d "$bindir/$product" | grep -q -E 'R(UN)?PATH'; then
		die "$product has an RPATH (built without --disable-local-rpath?)"
	fi
	printed=$("$bindir/$product" --version 2>/dev/null || true)
	if [ "$printed" != "gsendmail $upstream" ]; then
		if [[ $printed =~ ^gsendmail\ [0-9] ]] || [ "${GSENDMAIL_ALLOW_STUB:-0}" != 1 ]; then
			die "$product --version printed '$printed', expected 'gsendmail $upstream' (debian/changelog)"
		fi
		echo "build-deb.sh: warning: $product --version printed '$printed' (placeholder binary)" >&2
	fi
done

# --- package trees ----------------------------------------------------------

rm -rf "$out/root" "$out/work"
mkdir -p "$out/root" "$out/work"
main=$out/root/gsendmail
mta=$out/root/gsendmail-mta

# install_doc PACKAGE: the copyright and the changelog every package carries.
install_doc() {
	local doc=$out/root/$1/usr/share/doc/$1
	install -d "$doc"
	install -m 0644 "$here/debian/copyright" "$doc/copyright"
	gzip -9n <"$here/debian/changelog" >"$doc/changelog.Debian.gz"
	chmod 0644 "$doc/changelog.Debian.gz"
}

# install_man PACKAGE PAGE: a gzipped manual page in its section directory.
install_man() {
	local page=$2 section=${2##*.}
	local dir=$out/root/$1/usr/share/man/man$section
	install -d "$dir"
	gzip -9n <"$top/man/$page" >"$dir/$page.gz"
	chmod 0644 "$dir/$page.gz"
}

say "package tree: gsendmail"
install -d "$main/usr/sbin" "$main/usr/bin"
# Strip as dh_strip does for executables.
strip_flags=(--remove-section=.comment --remove-section=.note --strip-unneeded)
install -m 0755 "$bindir/gsendmail" "$main/usr/sbin/gsendmail"
install -m 0755 "$bindir/gsendmailctl" "$main/usr/bin/gsendmailctl"
strip "${strip_flags[@]}" "$main/usr/sbin/gsendmail" "$main/usr/bin/gsendmailctl"
install_man gsendmail gsendmail.8
install_man gsendmail gsendmailctl.8
install_man gsendmail gsendmail.conf.5
install -d "$main/usr/lib/systemd/system" "$main/usr/lib/systemd/user"
for unit in gsendmail-queue.service gsendmail-queue.timer \
	gsendmail-smtp.socket gsendmail-smtp@.service; do
	install -m 0644 "$here/systemd/$unit" "$main/usr/lib/systemd/system/$unit"
done
for unit in gsendmail-queue.service gsendmail-queue.timer; do
	install -m 0644 "$here/systemd/user/$unit" "$main/usr/lib/systemd/user/$unit"
done
install_doc gsendmail
# Shell completions, generated by swift-argument-parser from the command definitions.
install -d "$main/usr/share/bash-completion/completions" "$main/usr/share/zsh/vendor-completions" \
	"$main/usr/share/fish/vendor_completions.d"
"$bindir/gsendmailctl" --generate-completion-script bash >"$main/usr/share/bash-completion/completions/gsendmailctl"
"$bindir/gsendmailctl" --generate-completion-script zsh >"$main/usr/share/zsh/vendor-completions/_gsendmailctl"
"$bindir/gsendmailctl" --generate-completion-script fish >"$main/usr/share/fish/vendor_completions.d/gsendmailctl.fish"
# bash-completion sources the file; a #! line would only draw a lintian warning.
sed -i '1{/^#!/d}' "$main/usr/share/bash-completion/completions/gsendmailctl"
chmod 0644 "$main/usr/share/bash-completion/completions/gsendmailctl" \
	"$main/usr/share/zsh/vendor-completions/_gsendmailctl" "$main/usr/share/fish/vendor_completions.d/gsendmailctl.fish"

# The log file's rotation; a conffile, like everything under /etc.
install -d "$main/etc/logrotate.d"
install -m 0644 "$here/logrotate.gsendmail" "$main/etc/logrotate.d/gsendmail"
install -d "$main/usr/share/doc/gsendmail/examples"
install -m 0644 "$here/examples/config.toml" "$main/usr/share/doc/gsendmail/examples/config.toml"
install -m 0644 "$here/debian/README.Debian" "$here/../docs/setup.md" "$main/usr/share/doc/gsendmail/"
install -d "$main/DEBIAN"
for script in postinst prerm postrm; do
	install -m 0755 "$here/debian/gsendmail.$script" "$main/DEBIAN/$script"
done
(cd "$main" && find etc -type f -printf '/%p\n' | LC_ALL=C sort >DEBIAN/conffiles)
chmod 0644 "$main/DEBIAN/conffiles"

# The units as systemd reads them, when this machine has systemd-analyze: in a
# copy of the package tree over the machine's own units (the targets they
# name), so that ExecStart= finds the programs. A warning fails too.
if command -v systemd-analyze >/dev/null; then
	say "systemd-analyze verify"
	sroot=$out/work/systemd-root
	install -d "$sroot/usr/lib/systemd"
	cp -r /usr/lib/systemd/system "$sroot/usr/lib/systemd/"
	cp -a "$main/usr" "$sroot/"
	units=(gsendmail-queue.timer gsendmail-queue.service gsendmail-smtp.socket gsendmail-smtp@.service)
	verify=$(cd "$sroot" && systemd-analyze verify --root=. --man=no \
		"${units[@]/#/usr/lib/systemd/system/}" 2>&1) || verify="${verify:-failed}"
	if [ -n "$verify" ]; then
		printf '%s\n' "$verify" >&2
		die "systemd-analyze verify found fault with the units"
	fi
fi

say "package tree: gsendmail-mta"
# argv[0] picks the mode: sendmail = gsendmail, mailq = -bp, newaliases = -bi.
install -d "$mta/usr/sbin" "$mta/usr/bin" "$mta/usr/lib"
ln -s gsendmail "$mta/usr/sbin/sendmail"
ln -s gsendmail "$mta/usr/sbin/newaliases"
ln -s ../sbin/gsendmail "$mta/usr/bin/mailq"
ln -s ../sbin/gsendmail "$mta/usr/lib/sendmail"
install_man gsendmail-mta mailq.8
install_man gsendmail-mta newaliases.8
ln -s gsendmail.8.gz "$mta/usr/share/man/man8/sendmail.8.gz"
install_doc gsendmail-mta
install -d "$mta/DEBIAN"

# --- control files ----------------------------------------------------------

say "dpkg-shlibdeps"
cd "$here"
dpkg-shlibdeps -T"$out/work/gsendmail.substvars" \
	"$main/usr/sbin/gsendmail" "$main/usr/bin/gsendmailctl"
say "$(cat "$out/work/gsendmail.substvars")"
for pkg in gsendmail gsendmail-mta; do
	substvars=$out/work/$pkg.substvars
	touch "$substvars"
	dpkg-gencontrol -p"$pkg" -cdebian/control -ldebian/changelog \
		-T"$substvars" -P"$out/root/$pkg" -f"$out/work/files"
done

# --- build ------------------------------------------------------------------

for pkg in gsendmail gsendmail-mta; do
	(cd "$out/root/$pkg" &&
		find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z |
		xargs -0r md5sum >DEBIAN/md5sums)
	chmod 0644 "$out/root/$pkg/DEBIAN/md5sums"
done

debs=("$out/gsendmail_${version}_${arch}.deb" "$out/gsendmail-mta_${version}_all.deb")
rm -f "$out"/gsendmail_*.deb "$out"/gsendmail-mta_*.deb
dpkg-deb --root-owner-group --build "$main" "${debs[0]}"
dpkg-deb --root-owner-group --build "$mta" "${debs[1]}"
for deb in "${debs[@]}"; do
	printf '%s: %s bytes, Installed-Size %s KiB\n' "$(basename "$deb")" \
		"$(stat -c %s "$deb")" "$(dpkg-deb -f "$deb" Installed-Size)"
	dpkg-deb -f "$deb" Depends | sed 's/^/  Depends: /'
done

# --- lintian ----------------------------------------------------------------

if [ "$run_lintian" -eq 1 ]; then
	say "lintian"
	# lintian warns when run as root but works; CI runs as root in a container.
	lintian --fail-on error --display-info "${debs[@]}" 2>&1 |
		grep -v 'running with root privileges is not recommended' || true
	lintian --fail-on error "${debs[@]}" >/dev/null 2>&1 ||
		die "lintian reported errors"
fi
say "done: ${debs[*]}"

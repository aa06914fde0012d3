#!/usr/bin/env bash
# Build the .deb out of tree: packaging/build-deb.sh OUTDIR
# The work tree (tracked + untracked-but-not-ignored files, so uncommitted edits count) is copied
# to a temp dir under /var/tmp, packaging/debian becomes debian/ there, and dpkg-buildpackage -b
# runs with Debian's own python3 (a pyenv/venv python3 on PATH would break pybuild).
# The project's tests are not run (they need root and systemd). Outputs: OUTDIR/*.deb .changes .buildinfo
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
case "$out/" in "$top"/*) echo "build-deb.sh: OUTDIR must be outside the source tree ($top)" >&2; exit 2;; esac

ver=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
work=$(mktemp -d /var/tmp/conman-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
src="$work/conman-$ver"
mkdir "$src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard \
    | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
    | tar --null -T - -cf -) | tar -x -C "$src"
rm -rf "$src/debian"
cp -a "$top/packaging/debian" "$src/debian"

(cd "$src" && env -u VIRTUAL_ENV -u PYTHONPATH -u PYTHONHOME \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEB_BUILD_OPTIONS="nocheck${DEB_BUILD_OPTIONS:+ $DEB_BUILD_OPTIONS}" \
    DEB_BUILD_PROFILES="nocheck${DEB_BUILD_PROFILES:+ $DEB_BUILD_PROFILES}" \
    dpkg-buildpackage -us -uc -b)

cp "$work"/conman_"$ver"_*.deb "$work"/conman_"$ver"_*.changes "$work"/conman_"$ver"_*.buildinfo "$out"/
ls -1 "$out"/conman_"$ver"_*

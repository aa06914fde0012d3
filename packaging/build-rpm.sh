#!/usr/bin/env bash
# Build the .rpm (and .src.rpm) out of tree: packaging/build-rpm.sh OUTDIR
# Makes conman-systemd-VER.tar.gz of the work tree (tracked + untracked-but-not-ignored files)
# in a temp _topdir under /var/tmp and runs rpmbuild with the LOCAL stand-in macros
# (packaging/rpm/macros.shim; Debian has no Fedora macros) and --nodeps (Debian's rpmdb is empty).
# %check is an import check only. Outputs: OUTDIR/*.rpm
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
case "$out/" in "$top"/*) echo "build-rpm.sh: OUTDIR must be outside the source tree ($top)" >&2; exit 2;; esac

spec="$top/packaging/rpm/conman.spec"
shim="$top/packaging/rpm/macros.shim"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
unset VIRTUAL_ENV PYTHONPATH PYTHONHOME
ver=$(rpmspec --load "$shim" -q --srpm --qf '%{version}' "$spec")
work=$(mktemp -d /var/tmp/conman-rpm.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/SOURCES"
(cd "$top" && git ls-files -z --cached --others --exclude-standard \
    | xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
    | tar --null -T - --transform "s,^,conman-systemd-$ver/," -czf "$work/SOURCES/conman-systemd-$ver.tar.gz")

HOME="$work" rpmbuild --load "$shim" --define "_topdir $work" --define "_tmppath $work" \
    --define "_dbpath $work/rpmdb" \
    --nodeps -ba "$spec"

find "$work/RPMS" "$work/SRPMS" -name '*.rpm' -exec cp {} "$out"/ \;
ls -1 "$out"/*.rpm

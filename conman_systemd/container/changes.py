"""`conman diff`: what a container changed in its image, from its overlay's upper directory.

docker's letters: A added, C changed (also a directory whose content changed), D deleted (an
overlayfs whiteout: a 0:0 character device). Whether a path was there before is asked of the
image's layers one component at a time, never through a symlink (it would be followed on the
host). Stdlib only.
"""

from __future__ import annotations

import os
import stat


def _in_layer(layer: str, parts: list[str]) -> bool:
    path = layer
    for i, part in enumerate(parts):
        path = os.path.join(path, part)
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return False
        if i < len(parts) - 1 and not stat.S_ISDIR(mode):
            return False
    return True


def _whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def changes(upper: str, lower: str) -> list[tuple[str, str]]:
    """(letter, path in the container) for everything under upper, sorted by path."""
    layers = lower.split(":") if lower else []
    found = []
    for directory, dirs, files in os.walk(upper):
        for name in [*dirs, *files]:
            full = os.path.join(directory, name)
            inside = "/" + os.path.relpath(full, upper)
            parts = inside.strip("/").split("/")
            if _whiteout(os.lstat(full)):
                found.append(("D", inside))
            elif any(_in_layer(layer, parts) for layer in layers):
                found.append(("C", inside))
            else:
                found.append(("A", inside))
    return sorted(found, key=lambda item: item[1])


def export_argv(upper: str, lower: str, target: str) -> list[str]:
    """tar of the container's file system to stdout: its upper directory over the image's layers,
    all as read-only lower layers of an overlay mounted on target in a mount namespace of its own
    (nothing left mounted, no work directory shared with a running container)."""
    script = 'mount -t overlay -o "ro,lowerdir=$1" overlay "$2" && exec tar -C "$2" --numeric-owner -cf - .'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", f"{upper}:{lower}",
            target]  # fmt: skip

"""mount(2) and umount2(2) through libc: no `mount` process on the container start path. Stdlib only."""

from __future__ import annotations

import ctypes
import os

MNT_DETACH = 2
EINVAL = 22
ENOENT = 2

_libc = ctypes.CDLL(None, use_errno=True)


def _enc(s: str | None) -> bytes | None:
    return None if s is None else s.encode()


def mount(
    source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None
) -> None:
    if _libc.mount(_enc(source), _enc(target), _enc(fstype), flags, _enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype or source} on {target}: {os.strerror(err)}")


def umount(target: str) -> bool:
    """Detach target; False when nothing was mounted there."""
    if _libc.umount2(target.encode(), MNT_DETACH) == 0:
        return True
    err = ctypes.get_errno()
    if err in (EINVAL, ENOENT):
        return False
    raise OSError(err, f"umount {target}: {os.strerror(err)}")


def mount_overlay(lower: str, upper: str, work: str, target: str) -> None:
    mount("overlay", target, "overlay", 0, f"lowerdir={lower},upperdir={upper},workdir={work}")

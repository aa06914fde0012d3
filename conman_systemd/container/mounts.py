"""mount(2) and umount2(2) through libc: no `mount` process on the container start path. Stdlib only."""

from __future__ import annotations

import ctypes
import os

MNT_DETACH = 2
EINVAL = 22
ENOENT = 2

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conman_systemd.container.paths import Paths
    from conman_systemd.container.spec import ContainerSpec

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


PAGE = 4096  # mount(2) takes at most one page of options


def mount_overlay(lower: str, upper: str, work: str, target: str) -> None:
    """lower: the lower directories, top first, joined by ":". An image of many layers whose
    directories share a parent is mounted from there, by their names: absolute paths of 127
    layers (docker's limit) would not fit in a page of options."""
    options = f"lowerdir={lower},upperdir={upper},workdir={work}"
    parents = {os.path.dirname(p) for p in lower.split(":")}
    if len(options) < PAGE or len(parents) != 1:
        mount("overlay", target, "overlay", 0, options)
        return
    names = ":".join(os.path.basename(p) for p in lower.split(":"))
    here = os.open(".", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.chdir(parents.pop())
        mount("overlay", target, "overlay", 0, f"lowerdir={names},upperdir={upper},workdir={work}")
    finally:
        os.fchdir(here)
        os.close(here)


def mount_container(paths: Paths, spec: ContainerSpec, target: str) -> None:
    """The container's root on target: its writable layer over its image's layers."""
    os.makedirs(paths.work(spec.id), mode=0o700, exist_ok=True)
    # The overlay's root directory takes the upper dir's mode: 0755, or a non-root user cannot
    # even resolve paths in its own container. (The container's state dir above it is 0700.)
    os.makedirs(paths.upper(spec.id), mode=0o755, exist_ok=True)
    mount_overlay(spec.rootfs, paths.upper(spec.id), paths.work(spec.id), target)


def lower_file(lower: str, path: str) -> str | None:
    """The regular file at path (relative) as the overlay of lower (top first, ":"-joined) shows
    it, or None: the topmost layer that has it wins; a whiteout (a 0:0 character device) or an
    opaque parent directory hides the layers below. A symlink on the way counts as no file: it
    would be followed on the host, not in the container."""
    import stat

    for layer in lower.split(":"):
        parent = layer
        for part in os.path.dirname(path).split("/"):
            parent = os.path.join(parent, part)
            try:
                if not stat.S_ISDIR(os.lstat(parent).st_mode):
                    return None
            except OSError:
                break
        found = os.path.join(layer, path)
        try:
            st = os.lstat(found)
        except OSError:
            if _opaque(os.path.dirname(found)):
                return None
            continue
        return found if stat.S_ISREG(st.st_mode) else None
    return None


def _opaque(directory: str) -> bool:
    try:
        return os.getxattr(directory, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
    except OSError:
        return False

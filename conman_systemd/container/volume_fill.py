"""docker's copy-up: at a container's first start, an empty named volume gets what the image has
where the volume is mounted (files, links, devices, with their owners, modes and times), so
`-v data:/var/lib/app` starts from the image's /var/lib/app. `nocopy` turns it off; a volume with
anything in it is left as it is.

The image's side is opened inside the container's root (openat2 RESOLVE_IN_ROOT: an image's
symlink cannot lead to the host's files) and walked through directory fds, never following a
link. Stdlib only: the shim runs it, before the runtime mounts the volume.
"""

from __future__ import annotations

import fcntl
import os
import stat

from conman_systemd.container.copying import open_in_root
from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conman_systemd.container.paths import Paths
    from conman_systemd.container.spec import ContainerSpec

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def fill_new_volumes(paths: Paths, spec: ContainerSpec) -> None:
    todo = [v for v in spec.volumes if v.name and v.copy_up]
    if not todo:
        return
    root = os.open(paths.rootfs(spec.id), _DIR)
    try:
        for volume in todo:
            try:
                image_dir = open_in_root(root, volume.destination, os.O_RDONLY | os.O_DIRECTORY)
            except ConmanError:
                continue  # nothing there in the image (or not a directory): nothing to copy
            try:
                _fill(image_dir, paths.volume(volume.name))
            finally:
                os.close(image_dir)
    finally:
        os.close(root)


def _fill(image_dir: int, volume_dir: str) -> None:
    lock = os.open(volume_dir, _DIR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two containers starting on one new volume: one copies
        data = os.open("_data", _DIR, dir_fd=lock)
        try:
            if os.listdir(data):
                return
            _copy_tree(image_dir, data)
            st = os.fstat(image_dir)
            os.fchown(data, st.st_uid, st.st_gid)
            os.fchmod(data, stat.S_IMODE(st.st_mode))
        finally:
            os.close(data)
    finally:
        os.close(lock)


def _copy_tree(source: int, dest: int) -> None:
    for entry in os.scandir(source):
        st = entry.stat(follow_symlinks=False)
        name = entry.name
        if stat.S_ISDIR(st.st_mode):
            os.mkdir(name, 0o700, dir_fd=dest)
            inner_source = os.open(name, _DIR, dir_fd=source)
            inner_dest = os.open(name, _DIR, dir_fd=dest)
            try:
                _copy_tree(inner_source, inner_dest)
            finally:
                os.close(inner_source)
                os.close(inner_dest)
        elif stat.S_ISREG(st.st_mode):
            _copy_file(source, dest, name)
        elif stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(name, dir_fd=source), name, dir_fd=dest)
        elif stat.S_ISSOCK(st.st_mode):
            continue  # a socket is its process's, not a file to copy
        else:  # fifos and device nodes, as the image has them
            os.mknod(name, st.st_mode, st.st_rdev, dir_fd=dest)
        os.chown(name, st.st_uid, st.st_gid, dir_fd=dest, follow_symlinks=False)
        if not stat.S_ISLNK(st.st_mode):  # after chown, which clears set-user-ID bits
            os.chmod(name, stat.S_IMODE(st.st_mode), dir_fd=dest)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dest, follow_symlinks=False)


def _copy_file(source: int, dest: int, name: str) -> None:
    src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=source)
    try:
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                      dir_fd=dest)  # fmt: skip
        try:
            while os.sendfile(out, src, None, 1 << 30):
                pass
        finally:
            os.close(out)
    finally:
        os.close(src)

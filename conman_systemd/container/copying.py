"""`conman cp`: files into and out of a container's file system, running or stopped.

The container's paths are resolved as the container would resolve them: openat2(2) with
RESOLVE_IN_ROOT on its root, so no symlink of the container's (`/data -> /etc`) leads to the
host's files. Below the resolved path nothing is followed: out of the container tar walks it
(tar does not follow symlinks it meets), into it every directory and file is made through the
directory's fd with O_NOFOLLOW, and an existing symlink in the way is an error.

The root: a running container's own overlay mount; for a stopped one, its overlay mounted in a
child process's private mount namespace (nothing stays mounted, whatever happens).
"""

from __future__ import annotations

import ctypes
import os
import stat

from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

SYS_OPENAT2 = 437  # the same number on every architecture (new syscalls share one table)
RESOLVE_IN_ROOT = 0x10
RESOLVE_NO_MAGICLINKS = 0x02
CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE = 0x4000, 0x40000


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)


def open_in_root(root_fd: int, path: str, flags: int = os.O_RDONLY) -> int:
    """An fd of path as the container sees it (its symlinks resolved inside its root)."""
    how = _OpenHow(flags | os.O_CLOEXEC, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)
    fd = _libc.syscall(SYS_OPENAT2, root_fd, path.encode(), ctypes.byref(how), ctypes.sizeof(how))
    if fd < 0:
        err = ctypes.get_errno()
        raise ConmanError(f"{path} in the container: {os.strerror(err)}")
    return int(fd)


def copy_in(source: str, dest_dir_fd: int, name: str) -> None:
    """source (a host file or directory) as name in the directory dest_dir_fd."""
    st = os.lstat(source)
    if stat.S_ISDIR(st.st_mode):
        try:
            os.mkdir(name, st.st_mode & 0o7777, dir_fd=dest_dir_fd)
        except FileExistsError:
            pass
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dest_dir_fd)
        try:
            for entry in sorted(os.listdir(source)):
                copy_in(os.path.join(source, entry), fd, entry)
        except NotADirectoryError:
            raise ConmanError(f"{name} in the container is not a directory") from None
        finally:
            os.close(fd)
    elif stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(source), name, dir_fd=dest_dir_fd)
    elif stat.S_ISREG(st.st_mode):
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            out = os.open(name, flags, st.st_mode & 0o7777, dir_fd=dest_dir_fd)
        except OSError as e:
            raise ConmanError(f"cannot write {name} in the container: {e.strerror}") from None
        try:
            with open(source, "rb") as f:
                while chunk := f.read(1 << 20):
                    os.write(out, chunk)
        finally:
            os.close(out)
    else:
        raise ConmanError(f"{source}: only files, directories and symlinks are copied")


def copy_into(root: str, source: str, inside: str) -> None:
    """docker's cp SRC CONTAINER:DEST: into DEST when it is a directory, else as DEST."""
    if not os.path.lexists(source):
        raise ConmanError(f"{source}: no such file or directory")
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            target = open_in_root(root_fd, inside, os.O_RDONLY | os.O_DIRECTORY)
            name = os.path.basename(os.path.normpath(source))
        except ConmanError:
            target = open_in_root(
                root_fd, os.path.dirname(inside.rstrip("/")) or "/", os.O_RDONLY | os.O_DIRECTORY
            )
            name = os.path.basename(inside.rstrip("/"))
        try:
            copy_in(source, target, name)
        finally:
            os.close(target)
    finally:
        os.close(root_fd)


def tar_out_argv(root: str, inside: str) -> tuple[list[str], int]:
    """(tar's argv, the fd it needs kept open): the resolved path's parent as tar's directory, the
    entry by its name (tar stores it, and walks it without following symlinks)."""
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        parent = open_in_root(
            root_fd, os.path.dirname(inside.rstrip("/")) or "/", os.O_RDONLY | os.O_DIRECTORY
        )
    finally:
        os.close(root_fd)
    name = os.path.basename(inside.rstrip("/")) or "."
    os.set_inheritable(parent, True)  # tar reaches it as /proc/self/fd/N
    try:
        os.lstat(name, dir_fd=parent)
    except OSError:
        os.close(parent)
        raise ConmanError(f"{inside} in the container: no such file or directory") from None
    return ["tar", "-C", f"/proc/self/fd/{parent}", "--numeric-owner", "-cf", "-", "--", name], parent


def in_private_namespace(mount_root: Callable[[], None], work: Callable[[], None]) -> None:
    """Run work() in a child with a mount namespace of its own where mount_root() mounted the
    container's root: nothing stays mounted when the child ends. The child's ConmanError comes
    back as this process's."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no Python cleanup, only _exit
        os.close(read)
        code = 0
        try:
            if _libc.unshare(CLONE_NEWNS) != 0:
                raise OSError(ctypes.get_errno(), "unshare")
            if _libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
                raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
            mount_root()
            work()
        except ConmanError as e:
            os.write(write, e.message.encode())
            code = 125
        except OSError as e:
            os.write(write, f"{e.filename or ''} {e.strerror}".strip().encode())
            code = 125
        os._exit(code)
    os.close(write)
    message = b""
    while chunk := os.read(read, 65536):
        message += chunk
    os.close(read)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise ConmanError(message.decode(errors="replace") or "cp failed")

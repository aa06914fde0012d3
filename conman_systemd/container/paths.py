"""Where a container's state lives, and the records that must outlive its unit.

`--root` (default /var/lib/conman) keeps what must survive a reboot or a unit's garbage
collection: the spec, the OCI config the runtime reads, the name, the writable layer, the start,
exit and error records. `--runroot` (default /run/conman) keeps what dies with the machine: the
rootfs mount, the runtimes' own state, sockets. Every record is written atomically (write, fsync,
rename): a crash leaves the old record or the new one, never half of one. Stdlib only (the shim
uses it).
"""

from __future__ import annotations

import errno
import os
import time

from conman_systemd import fastjson
from conman_systemd.frozen import Frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def write_atomic(path: str, text: str, mode: int = 0o600) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        try:
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)  # a full disk must not keep half a record
        raise


def read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path) as f:
            data = fastjson.loads(f.read())
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class Paths(Frozen):
    root: str
    runroot: str

    @property
    def containers(self) -> str:
        return os.path.join(self.root, "containers")

    @property
    def names(self) -> str:
        return os.path.join(self.root, "names")

    @property
    def images(self) -> str:
        return os.path.join(self.root, "images")

    def runtime_root(self, runtime: str) -> str:
        """The state directory of one OCI runtime (its --root)."""
        return os.path.join(self.runroot, runtime)

    @property
    def volumes(self) -> str:
        return os.path.join(self.root, "volumes")

    def volume(self, name: str) -> str:
        """A named volume's directory: its record (volume.json) and its files (_data, as docker's)."""
        return os.path.join(self.volumes, name)

    def volume_data(self, name: str) -> str:
        return os.path.join(self.volumes, name, "_data")

    @property
    def networks(self) -> str:
        """Network definitions (NAME.json, netavark's network format, as podman keeps them)."""
        return os.path.join(self.root, "networks")

    def network(self, name: str) -> str:
        return os.path.join(self.networks, f"{name}.json")

    @property
    def network_run(self) -> str:
        """What the networks' runs keep: address leases, and aardvark-dns's config (netavark's)."""
        return os.path.join(self.runroot, "networks")

    def netns(self, cid: str) -> str:
        """The container's network namespace, bound to a file: it outlives each start's init."""
        return os.path.join(self.run_dir(cid), "netns")

    def container(self, cid: str) -> str:
        """The container's state directory; also the OCI bundle (config.json) the runtime gets."""
        return os.path.join(self.containers, cid)

    def spec(self, cid: str) -> str:
        return os.path.join(self.container(cid), "spec.json")

    def oci_config(self, cid: str) -> str:
        return os.path.join(self.container(cid), "config.json")

    def upper(self, cid: str) -> str:
        return os.path.join(self.container(cid), "upper")

    def work(self, cid: str) -> str:
        return os.path.join(self.container(cid), "work")

    def record(self, cid: str, kind: str) -> str:
        """kind: "started", "exit", "error", "backoff", "stop-requested" or "user-stopped"."""
        return os.path.join(self.container(cid), f"{kind}.json")

    def exit_reserve(self, cid: str) -> str:
        return os.path.join(self.container(cid), "exit-reserve")

    def lock(self, cid: str) -> str:
        return os.path.join(self.container(cid), "lock")

    def run_dir(self, cid: str) -> str:
        return os.path.join(self.runroot, cid)

    def rootfs(self, cid: str) -> str:
        return os.path.join(self.run_dir(cid), "rootfs")

    def init_pid(self, cid: str) -> str:
        """Where the runtime writes the pid of the container's init."""
        return os.path.join(self.run_dir(cid), "init.pid")

    def runtime_log(self, cid: str) -> str:
        """The runtime's JSON log: its error messages come from there."""
        return os.path.join(self.run_dir(cid), "runtime.log")

    def notify_dir(self, cid: str) -> str:
        """--sdnotify=container: the directory of the app's notify socket, bound into the container."""
        return os.path.join(self.run_dir(cid), "notify")

    def health_socket(self, cid: str) -> str:
        """Where the health checks tell the shim their status (root's alone, not in the container)."""
        return os.path.join(self.run_dir(cid), "health.sock")

    def attach_socket(self, cid: str) -> str:
        return os.path.join(self.run_dir(cid), "attach")

    def stop_timeout(self, cid: str) -> str:
        return os.path.join(self.run_dir(cid), "stop-timeout")

    def name_link(self, name: str) -> str:
        return os.path.join(self.names, name)


_HEX = frozenset("0123456789abcdef")
ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_NAME_CHARS = ALNUM | frozenset("_.-")
NAME_MAX = 128  # a name is a file name (NAME_MAX 255) and a journal identifier; docker sets none


def is_name(text: str) -> bool:
    """[a-zA-Z0-9][a-zA-Z0-9_.-]*, at most NAME_MAX: a name, an ID or an ID prefix. No "/" and
    no leading ".": used as a file name, it stays in its directory."""
    return 0 < len(text) <= NAME_MAX and text[0] in ALNUM and _NAME_CHARS.issuperset(text)


def is_id(text: str) -> bool:
    """A full container ID: 64 lower-case hex digits, nothing else (it names directories)."""
    return len(text) == 64 and _HEX.issuperset(text)


def secure(paths: Paths) -> None:
    """The store's directories are root's alone, however they were made (an older conman, a
    hand-made --root): an image's setuid files and device nodes must be out of other users'
    reach. Each command checks at its start; conman makes them 0700. The --root itself is the
    user's and is left as it is."""
    for path in (paths.containers, paths.images, paths.names, paths.volumes):
        try:
            if os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o700)
        except FileNotFoundError:
            pass


def read_pid(path: str) -> int:
    with open(path) as f:
        return int(f.read())


def write_record(paths: Paths, cid: str, kind: str, **fields: Any) -> None:
    write_atomic(paths.record(cid, kind), fastjson.dumps(fields))


# Space set aside at create for the exit record: a disk that filled up meanwhile still gets it.
RESERVE_SIZE = 4096


def set_aside(paths: Paths, cid: str) -> None:
    """The reserve, unless it is there (a restart after an exit that used it makes it again)."""
    reserve = paths.exit_reserve(cid)
    if os.path.exists(reserve):
        return
    try:
        fd = os.open(reserve, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, bytes(RESERVE_SIZE))
        finally:
            os.close(fd)
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise


def write_exit_record(paths: Paths, cid: str, **fields: Any) -> None:
    """The exit record, written on a full disk too: the reserve is given up for it."""
    try:
        write_record(paths, cid, "exit", **fields)
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        try:
            os.unlink(paths.exit_reserve(cid))
        except FileNotFoundError:
            raise e from None
        write_record(paths, cid, "exit", **fields)


def record_start(paths: Paths, cid: str) -> int:
    """The init's pid as the runtime wrote it, kept in the start record with the time; the pid."""
    pid = read_pid(paths.init_pid(cid))
    write_record(paths, cid, "started", started_at=time.time(), pid=pid)
    set_aside(paths, cid)
    return pid


def read_record(paths: Paths, cid: str, kind: str) -> dict[str, Any] | None:
    return read_json(paths.record(cid, kind))


# The restart back-off's records (shim/backoff.py): a stop or start a user asks for clears them.
BACKOFF_RECORDS = ("backoff", "stop-requested")
# A user stopped the container (not the machine's shutdown): --restart unless-stopped keeps it down
# at boot, until a user starts it.
USER_STOPPED = "user-stopped"


def remove_records(paths: Paths, cid: str, kinds: tuple[str, ...]) -> None:
    for kind in kinds:
        try:
            os.unlink(paths.record(cid, kind))
        except FileNotFoundError:
            pass

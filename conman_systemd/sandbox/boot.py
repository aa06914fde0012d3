"""Stage two of a sandbox: runs as PID 1 of the new namespaces, sets the filesystem up, execs systemd.

Run by path (`python boot.py CONFIG_JSON`), stdlib only, with no import of conman_systemd, so
it works whatever the launcher's sys.path was. Everything below happens in the sandbox's own
mount namespace, made private first: nothing here may reach the host's /tmp, /run, /var/tmp,
/etc, /dev, sysctls or cgroup roots (a boot in merely new pid and mount namespaces, with nothing
masked, wiped the host's /tmp: systemd-tmpfiles-setup runs `D /tmp`).
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from typing import Any

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2

_libc = ctypes.CDLL(None, use_errno=True)

# (path, mode): directories that get a fresh tmpfs, so the sandbox never writes the host's.
TMPFS_DIRS = (("/run", 0o755), ("/tmp", 0o1777), ("/var/tmp", 0o1777), ("/var/lib/conman", 0o700))
# Device nodes the sandbox's private /dev gets: (name, major, minor).
DEVICES = (
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
)


def mount(
    source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None
) -> None:
    def enc(s: str | None) -> bytes | None:
        return None if s is None else s.encode()

    if _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype or source} on {target}: {os.strerror(err)}")


def umount(target: str) -> None:
    if _libc.umount2(target.encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"umount {target}: {os.strerror(err)}")


def bind_readonly(path: str) -> None:
    # A bind remount changes only this mount point's flags, never the shared superblock's.
    mount(path, path, None, MS_BIND | MS_REC)
    mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)


def is_under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def mount_tmpfs_keeping(keep: list[str]) -> None:
    """Fresh tmpfs on TMPFS_DIRS; paths under them that CMD needs (its cwd...) are bound back."""
    held = [(p, os.open(p, os.O_PATH)) for p in keep if any(is_under(p, d) for d, _ in TMPFS_DIRS)]
    for path, mode in TMPFS_DIRS:
        os.makedirs(path, exist_ok=True)
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode:o}")
    for path, fd in sorted(held):
        os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)


def loopback_up() -> None:
    """A new network namespace has lo down: up, as a booted machine has it."""
    import fcntl
    import socket
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sH14x", b"lo", flags | iff_up))


def mount_dev() -> None:
    """A private /dev: the host's devtmpfs is shared, and units create links there (/dev/log)."""
    mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=755")
    for name, major, minor in DEVICES:
        os.mknod(f"/dev/{name}", 0o666 | 0o020000, os.makedev(major, minor))
        os.chmod(f"/dev/{name}", 0o666)
    os.mkdir("/dev/pts")
    mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    os.symlink("pts/ptmx", "/dev/ptmx")
    os.mkdir("/dev/shm")
    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{i}", f"/dev/{name}")
    os.symlink("/proc/self/fd", "/dev/fd")


def mount_cgroups(mode: str, v1: list[str]) -> None:
    """Fresh cgroup filesystems, rooted at the sandbox's own subtree by its cgroup namespace."""
    umount("/sys/fs/cgroup")
    if mode == "v2":
        mount("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        return
    mount("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755")
    for controllers in v1:
        where = "/sys/fs/cgroup/" + controllers.removeprefix("name=")
        os.mkdir(where)
        data = controllers if not controllers.startswith("name=") else f"none,{controllers}"
        mount("cgroup", where, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, data)
    if mode == "hybrid":
        os.mkdir("/sys/fs/cgroup/unified")
        mount("cgroup2", "/sys/fs/cgroup/unified", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def write_units(config: dict[str, Any]) -> None:
    write(f"/run/systemd/system/{config['target']}", config["target_unit"])
    write("/run/systemd/journald.conf.d/50-conman-sandbox.conf", config["journald_conf"])
    # system.control outranks /etc/systemd/system, so a unit the image ships in /etc is masked too.
    os.makedirs("/run/systemd/system.control", exist_ok=True)
    for unit in config["masks"]:
        os.symlink("/dev/null", f"/run/systemd/system.control/{unit}")
    write(config["generator_path"], config["generator"])
    os.chmod(config["generator_path"], 0o755)


def main() -> None:
    config = json.loads(sys.argv[1])
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    bind_readonly("/proc/sys")  # sysctls stay the host's business
    mount_tmpfs_keeping(config["keep"])
    if config.get("own_network"):
        loopback_up()  # (a new namespace has it down)
        # Its own network's sysctls (ip_forward, route_localnet...) are the sandbox's to set:
        # /proc/sys/net shows the reader's network namespace.
        mount("/proc/sys/net", "/proc/sys/net", None, MS_BIND)
        mount(None, "/proc/sys/net", None, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount_dev()
    bind_readonly("/sys")  # the cgroup filesystems mounted below stay writable
    mount_cgroups(config["cgroup_mode"], config["v1"])
    bind_readonly("/etc")  # e.g. ldconfig or machine-id units must not write the host's /etc
    name = config["name"].encode()
    _libc.sethostname(name, len(name))
    write_units(config)
    # conman inside reads it: with the host's network, containers default to it and no bridge
    # may be made (netavark would change the host's interfaces, firewall and sysctls).
    write("/run/conman-sandbox/network", "private\n" if config.get("own_network") else "host\n")
    os.chdir("/")
    argv = [config["systemd"], "--system", f"--unit={config['target']}"]
    os.execve(argv[0], argv, config["env"])


if __name__ == "__main__":
    main()

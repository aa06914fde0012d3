"""The OCI runtime config (config.json) crun or runc gets for a container.

The CLI writes it when it creates the container, so a start only mounts and runs: the container's
options are decided before its unit starts, and `conman run --dry-run` prints exactly this.

Defaults follow `runc spec` and docker: the default capability set, masked and read-only /proc
paths, private namespaces. The cgroup path is the unit's own cgroup plus /container: the runtime's
default path lies outside the unit, where neither journald's attribution of the output, `systemctl
stop` nor the unit's limits reach.
"""

from __future__ import annotations

import os

from conman_systemd.container import etc_files, security
from conman_systemd.container.spec import NOTIFY_DIR, ContainerSpec, unit_cgroup

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.container.paths import Paths

MASKED_PATHS = [
    "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi", "/sys/devices/virtual/powercap",
]  # fmt: skip
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _mounts(spec: ContainerSpec, paths: Paths) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]  # fmt: skip
    mounts += etc_files.mounts(paths, spec)
    if spec.init:
        mounts.append({"destination": security.INIT_PATH, "type": "bind", "source": spec.init,
                       "options": ["rbind", "ro"]})  # fmt: skip
    for v in spec.volumes:
        # :ro is read-only all the way down (rro, mount_setattr(2)), as docker 25 makes it: a plain
        # ro bind of / left the host's /run, /dev/shm and every other mount below writable.
        options = ["rbind", *(("ro", "rro") if v.read_only else ("rw",))]
        mounts.append({"destination": v.destination, "type": "bind", "source": v.source, "options": options})
    if spec.sdnotify == "container":
        mounts.append({"destination": NOTIFY_DIR, "type": "bind", "source": paths.notify_dir(spec.id),
                       "options": ["rbind", "rw", "nosuid", "nodev", "noexec"]})  # fmt: skip
    for t in spec.tmpfs:
        mounts.append(
            {"destination": t.destination, "type": "tmpfs", "source": "tmpfs", "options": list(t.options)}
        )
    return mounts


HOST_NOTIFY_SOCKET = "/run/systemd/notify"


def exposed_notify_sockets(spec: ContainerSpec) -> list[str]:
    """Where a volume shows the host's sd_notify socket in the container (`-v /run:/run`): masked,
    so the container cannot speak for its unit (MAINPID= of a host process, that a stop kills)."""
    masked = []
    for v in spec.volumes:
        inside = os.path.relpath(HOST_NOTIFY_SOCKET, v.source)
        if not inside.startswith(".."):
            masked.append(os.path.normpath(os.path.join(v.destination, inside)))
    return masked


UNLIMITED = 2**64 - 1  # RLIM_INFINITY, as an OCI rlimit spells it


def rlimits(spec: ContainerSpec) -> list[dict[str, Any]]:
    return [
        {
            "type": f"RLIMIT_{name.upper()}",
            "soft": UNLIMITED if soft < 0 else soft,
            "hard": UNLIMITED if hard < 0 else hard,
        }
        for name, (soft, hard) in sorted(spec.ulimits.items())
    ]


def environment(spec: ContainerSpec) -> list[str]:
    """The container's environment: the image's and the user's, PATH and HOSTNAME ensured."""
    env = {} if any(e.startswith("PATH=") for e in spec.env) else {"PATH": DEFAULT_PATH[5:]}
    env["HOSTNAME"] = spec.hostname
    if spec.tty:
        env["TERM"] = "xterm"
    for item in spec.env:
        key, _, value = item.partition("=")
        env[key] = value
    if spec.sdnotify == "container":  # the shim's proxy reads it, and tells systemd what it may
        env["NOTIFY_SOCKET"] = f"{NOTIFY_DIR}/notify.sock"
    return [f"{k}={v}" for k, v in env.items()]


def config(spec: ContainerSpec, paths: Paths) -> dict[str, Any]:
    # A cgroup namespace: the container sees its own cgroup as the root, not the host's tree.
    namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "cgroup")]
    if spec.network == "none":
        namespaces.append({"type": "network"})
    elif spec.bridged:  # the namespace the shim made and netavark set up
        namespaces.append({"type": "network", "path": paths.netns(spec.id)})
    elif spec.network_of:  # the path (of that container's init, /proc/PID/ns/net) is the shim's at start
        namespaces.append({"type": "network", "path": ""})
    caps = security.capabilities(spec)
    filter_ = security.seccomp(spec, caps)
    nodes, allowed = security.devices(spec)
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": spec.tty,
            "user": {"uid": spec.uid, "gid": spec.gid, "additionalGids": list(spec.additional_gids)},
            # --init: catatonit and tini both take the command after "--"
            "args": [security.INIT_PATH, "--", *spec.command] if spec.init else list(spec.command),
            "env": environment(spec),
            "cwd": spec.workdir,
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": spec.no_new_privileges,
            **({"rlimits": rlimits(spec)} if spec.ulimits else {}),
        },
        "root": {"path": paths.rootfs(spec.id), "readonly": spec.read_only},
        "hostname": spec.hostname,
        "mounts": _mounts(spec, paths),
        "linux": {
            "cgroupsPath": f"{unit_cgroup(spec.unit)}/container",
            "namespaces": namespaces,
            "resources": {
                "devices": [{"allow": spec.privileged, "access": "rwm"}, *allowed],
                **({"cpu": {"cpus": spec.cpuset_cpus}} if spec.cpuset_cpus else {}),
            },
            "maskedPaths": [] if spec.privileged else [*MASKED_PATHS, *exposed_notify_sockets(spec)],
            "readonlyPaths": [] if spec.privileged else READONLY_PATHS,
            **({"seccomp": filter_} if filter_ else {}),
            **({"devices": nodes} if nodes else {}),
        },
        "annotations": {"io.conman.name": spec.name, "io.conman.image": spec.image},
    }

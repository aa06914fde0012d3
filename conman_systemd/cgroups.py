"""What cgroup layout this machine has, read from /proc (stdlib only: the shim uses it)."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass

from conman_systemd.container.spec import CGROUP_ROOT


class CgroupMode(enum.StrEnum):
    V1 = "v1"  # legacy: every controller in its own v1 hierarchy
    HYBRID = "hybrid"  # v1 controllers plus an (empty) cgroup2 at /sys/fs/cgroup/unified
    V2 = "v2"  # unified: one cgroup2 hierarchy at /sys/fs/cgroup

    @property
    def has_v1_controllers(self) -> bool:
        return self is not CgroupMode.V2


@dataclass(frozen=True)
class Hierarchy:
    """One mounted cgroup hierarchy and where the calling process sits in it."""

    mountpoint: str
    fstype: str  # "cgroup" (v1) or "cgroup2"
    options: str  # v1: the controllers ("cpu", "name=systemd"); cgroup2: ""
    mount_root: str  # the cgroup the mount shows as its root
    own_path: str  # the caller's cgroup, from /proc/self/cgroup

    @property
    def own_dir(self) -> str:
        """The caller's cgroup as a directory under this mount."""
        rel = os.path.relpath(self.own_path, self.mount_root)
        return os.path.normpath(os.path.join(self.mountpoint, rel))


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def _mounts(mountinfo: str) -> list[tuple[str, str, str, str]]:
    """(mountpoint, fstype, super options, root) of every mount, in order."""
    out = []
    for line in mountinfo.splitlines():
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) >= 5 and len(tail) >= 3:
            out.append((_unescape(fields[4]), tail[0], tail[2], _unescape(fields[3])))
    return out


def _own_paths(proc_cgroup: str) -> dict[str, str]:
    """Map a hierarchy key ("" for cgroup2, "cpu,cpuacct", "name=systemd") to the caller's path."""
    paths = {}
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        paths[controllers] = path
    return paths


# Mount options of a v1 hierarchy that are not controllers.
_V1_NON_CONTROLLERS = {"rw", "ro", "xattr", "noprefix", "clone_children", "cpuset_v2_mode", "none"}


def _v1_key(super_options: str) -> str:
    def is_controller(option: str) -> bool:
        return option.startswith("name=") or ("=" not in option and option not in _V1_NON_CONTROLLERS)

    return ",".join(o for o in super_options.split(",") if is_controller(o))


def hierarchies(mountinfo: str, proc_cgroup: str) -> list[Hierarchy]:
    own = _own_paths(proc_cgroup)
    found: list[Hierarchy] = []
    for mountpoint, fstype, options, root in _mounts(mountinfo):
        if not mountpoint.startswith(CGROUP_ROOT):
            continue
        if fstype == "cgroup2":
            key = ""
        elif fstype == "cgroup":
            key = _v1_key(options)
            # /proc/self/cgroup lists co-mounted controllers in the kernel's order; match as sets.
            key = next((k for k in own if set(k.split(",")) == set(key.split(","))), key)
        else:
            continue
        if key in own:
            found.append(Hierarchy(mountpoint, fstype, "" if fstype == "cgroup2" else key, root, own[key]))
    return found


def detect_mode(mountinfo: str) -> CgroupMode | None:
    types = {mountpoint: fstype for mountpoint, fstype, _, _ in _mounts(mountinfo)}
    if types.get(CGROUP_ROOT) == "cgroup2":
        return CgroupMode.V2
    if types.get(CGROUP_ROOT) != "tmpfs":
        return None
    if types.get(f"{CGROUP_ROOT}/unified") == "cgroup2":
        return CgroupMode.HYBRID
    return CgroupMode.V1


def read_proc(name: str, pid: str = "self") -> str:
    with open(f"/proc/{pid}/{name}") as f:
        return f.read()


def current_mode() -> CgroupMode | None:
    return detect_mode(read_proc("mountinfo"))


def current_hierarchies(pid: str = "self") -> list[Hierarchy]:
    return hierarchies(read_proc("mountinfo"), read_proc("cgroup", pid))

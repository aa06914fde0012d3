"""Removing what a container left: used by the unit's clean-up, `conman rm` and crash recovery."""

from __future__ import annotations

import os

from conman_systemd import runner
from conman_systemd.container import mounts
from conman_systemd.container.runtime import Runtime
from conman_systemd.container.spec import CGROUP_ROOT, unified_cgroups, unit_cgroup

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conman_systemd.container.paths import Paths


def release(paths: Paths, cid: str, runtime: str, *also: str) -> None:
    """Everything of one run but its records: the runtime's state, the rootfs mount, the runtime
    dir (and the directories in also, removed with it)."""
    Runtime(runtime, paths).delete(cid)
    mounts.umount(paths.rootfs(cid))
    remove_trees(paths.run_dir(cid), *also)
    remove_unmanaged_cgroups(cid)


def remove_trees(*paths: str) -> None:
    """Each path and all below it, on its own file system only (never into a mount left behind),
    never following the container's symlinks. One `rm` rather than shutil, whose import costs the
    shim ~9 ms on every container that exits."""
    if existing := [p for p in paths if os.path.lexists(p)]:
        runner.run(["rm", "-rf", "--one-file-system", "--", *existing], check=False)


def remove_unmanaged_cgroups(cid: str) -> None:
    """The runtime made <unit>/container in every v1 hierarchy, also in those systemd does not
    manage (freezer, cpuset...): there nobody else removes the unit's directory. Busy ones stay.
    With the unified hierarchy alone there is nothing to do: systemd removes the unit's cgroup."""
    if unified_cgroups():
        return
    unit = unit_cgroup(cid).lstrip("/")
    try:
        hierarchies = os.listdir(CGROUP_ROOT)
    except OSError:
        return
    for hierarchy in hierarchies:
        base = os.path.join(CGROUP_ROOT, hierarchy, unit)
        for d in (os.path.join(base, "container"), base):
            try:
                os.rmdir(d)
            except OSError:
                pass


def remove_state(paths: Paths, cid: str, name: str, runtime: str) -> None:
    """Everything of the container: its run, its records, its writable layer and its name."""
    link = paths.name_link(name)
    try:
        if os.readlink(link) == cid:
            os.unlink(link)
    except OSError:
        pass
    release(paths, cid, runtime, paths.container(cid))

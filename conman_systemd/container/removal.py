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
    from conman_systemd.container.spec import ContainerSpec


def release(paths: Paths, spec: ContainerSpec, *also: str) -> None:
    """Everything of one run but its records: the runtime's state, the rootfs mount, the runtime
    dir (and the directories in also, removed with it), its network."""
    Runtime(spec.runtime, paths).delete(spec.id)
    if spec.bridged or os.path.lexists(paths.netns(spec.id)):
        from conman_systemd.container.network import tear_down

        tear_down(paths, spec)
    mounts.umount(paths.rootfs(spec.id))
    remove_trees(paths.run_dir(spec.id), *also)
    remove_unmanaged_cgroups(spec.unit)


def remove_trees(*paths: str) -> None:
    """Each path and all below it, on its own file system only (never into a mount left behind),
    never following the container's symlinks. One `rm` rather than shutil, whose import costs the
    shim ~9 ms on every container that exits."""
    if existing := [p for p in paths if os.path.lexists(p)]:
        runner.run(["rm", "-rf", "--one-file-system", "--", *existing], check=False)


def tree_size(top: str) -> int:
    """Bytes of the files under top: what removing it gives back."""
    total = 0
    for root, _, files in os.walk(top):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def remove_unmanaged_cgroups(unit_name: str) -> None:
    """The runtime made <unit>/container in every v1 hierarchy, also in those systemd does not
    manage (freezer, cpuset...): there nobody else removes the unit's directory. Busy ones stay.
    With the unified hierarchy alone there is nothing to do: systemd removes the unit's cgroup."""
    if unified_cgroups():
        return
    unit = unit_cgroup(unit_name).lstrip("/")
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


def remove_state(paths: Paths, spec: ContainerSpec, anonymous_volumes: bool = False) -> None:
    """Everything of the container: its run, its records, its writable layer and its name; with
    anonymous_volumes those too (`run --rm`, `rm -v` and a declared container's end, as docker's)."""
    link = paths.name_link(spec.name)
    try:
        if os.readlink(link) == spec.id:
            os.unlink(link)
    except OSError:
        pass
    volumes = (
        [paths.volume(v.name) for v in spec.volumes if v.anonymous and v.name] if anonymous_volumes else []
    )
    release(paths, spec, paths.container(spec.id), *volumes)

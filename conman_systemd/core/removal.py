"""Removing what a container left: used by the unit's clean-up, `conman rm` and crash recovery."""

from __future__ import annotations

import os
import shutil

from conman_systemd import runner
from conman_systemd.cgroups import current_hierarchies
from conman_systemd.core import mounts
from conman_systemd.core.store import Paths

UNIT_SLICE = "conman.slice"  # every container's unit lives in it


def delete_runc_state(paths: Paths, cid: str) -> None:
    """runc's state of an earlier run, if any (no runc process when there is none)."""
    if os.path.isdir(os.path.join(paths.runc_root, cid)):
        runner.run(["runc", "--root", paths.runc_root, "delete", "--force", cid], check=False)


def release(paths: Paths, cid: str) -> None:
    """Everything of one run but its records: runc's state, the rootfs mount, the runtime dir."""
    delete_runc_state(paths, cid)
    mounts.umount(paths.rootfs(cid))

    shutil.rmtree(paths.run_dir(cid), ignore_errors=True)
    remove_unmanaged_cgroups(f"/{UNIT_SLICE}/conman-{cid}.service")


def remove_unmanaged_cgroups(unit_cgroup: str) -> None:
    """runc made <unit>/container in every v1 hierarchy, also in those systemd does not manage
    (freezer, cpuset...): there nobody else removes the unit's directory. Busy ones stay."""
    for h in current_hierarchies():
        base = os.path.join(h.mountpoint, unit_cgroup.lstrip("/"))
        for d in (os.path.join(base, "container"), base):
            try:
                os.rmdir(d)
            except OSError:
                pass


def remove_state(paths: Paths, cid: str, name: str) -> None:
    """Everything of the container: its run, its records, its writable layer and its name."""
    release(paths, cid)
    link = paths.name_link(name)
    try:
        if os.readlink(link) == cid:
            os.unlink(link)
    except OSError:
        pass
    shutil.rmtree(paths.container(cid), ignore_errors=True)

"""The sandbox's own cgroup subtree: one directory per mounted hierarchy, removed at exit."""

from __future__ import annotations

import errno
import os
import time

from conman_systemd.cgroups import Hierarchy, current_hierarchies
from conman_systemd.log import debug
from conman_systemd.sandbox.plan import owner_pid


def create(name: str, found: list[Hierarchy]) -> list[str]:
    """Make <own cgroup>/<name> in every hierarchy; returns the directories made."""
    made: list[str] = []
    try:
        for h in found:
            path = os.path.join(h.own_dir, name)
            os.mkdir(path)
            made.append(path)
            if h.options == "cpuset":
                # A v1 cpuset cgroup takes no task until cpus and mems are set.
                for knob in ("cpuset.cpus", "cpuset.mems"):
                    with open(os.path.join(h.own_dir, knob)) as src:
                        value = src.read().strip()
                    with open(os.path.join(path, knob), "w") as dst:
                        dst.write(value)
    except BaseException:
        remove(made)
        raise
    debug(f"sandbox cgroups: {' '.join(made)}")
    return made


def enter(dirs: list[str], pid: int = 0) -> None:
    """Move pid (0: the caller) into every directory."""
    for d in dirs:
        with open(os.path.join(d, "cgroup.procs"), "w") as f:
            f.write(str(pid))


def _rmtree(path: str) -> None:
    for entry in os.scandir(path):
        if entry.is_dir(follow_symlinks=False):
            _rmtree(entry.path)
    os.rmdir(path)


def remove(dirs: list[str], timeout: float = 10.0) -> list[str]:
    """Remove the subtrees depth-first; dying processes may hold them briefly. Returns leftovers."""
    deadline = time.monotonic() + timeout
    left = []
    for d in dirs:
        while True:
            try:
                _rmtree(d)
                break
            except FileNotFoundError:
                break
            except OSError as e:
                if e.errno != errno.EBUSY or time.monotonic() > deadline:
                    left.append(d)
                    break
                time.sleep(0.02)
    return left


def _pid_alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


def remove_stale() -> None:
    """Remove subtrees of sandboxes whose launcher died (SIGKILL) before it could clean up."""
    for h in current_hierarchies():
        try:
            entries = os.listdir(h.own_dir)
        except OSError:
            continue
        for entry in entries:
            pid = owner_pid(entry)
            if pid is not None and not _pid_alive(pid):
                remove([os.path.join(h.own_dir, entry)], timeout=0.5)

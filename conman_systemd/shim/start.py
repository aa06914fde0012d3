"""`conman-shim start`: the unit's ExecStart.

Mounts the container's overlay, then has the runtime create and start the container inside the
unit's delegated cgroup (the OCI config the CLI wrote puts it at <unit cgroup>/container) with two
journald streams as its stdout and stderr. It then says READY=1, hands MAINPID over to the
container's init and exits: systemd supervises the container directly from then on, with no
process of ours left. An interactive container (-i/-t) instead gets an IO server that stays.
"""

from __future__ import annotations

import ctypes
import os

from conman_systemd.container import mounts
from conman_systemd.container.paths import Paths, read_json, read_record
from conman_systemd.container.spec import CGROUP_ROOT, ContainerSpec, unified_cgroups, unit_cgroup
from conman_systemd.errors import EXIT_ENGINE, ConmanError
from conman_systemd.log import debug
from conman_systemd.shim import backoff, systemd_io
from conman_systemd.shim.exits import exit_code, exit_like
from conman_systemd.shim.launch import create_and_start, edit_oci_config, say_ready

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PR_SET_CHILD_SUBREAPER = 36


def own_cgroup() -> str:
    """The shim's cgroup: the unified line of /proc/self/cgroup, or name=systemd's on v1."""
    with open("/proc/self/cgroup") as f:
        lines = dict(line.split(":", 2)[1:] for line in f.read().splitlines())
    return lines.get("") or lines.get("name=systemd") or "/"


def enter_unit_cgroup(spec: ContainerSpec) -> None:
    """The OCI config puts the container at <unit cgroup>/container: check that we are in that
    unit (a container outside it escapes limits, `systemctl stop` and journal attribution). On
    cgroup v2 the shim moves to a leaf first: a delegated cgroup with a child holds no process."""
    unit = unit_cgroup(spec.unit)
    if own_cgroup() != unit:
        raise ConmanError(f"the shim runs in cgroup {own_cgroup()}, not in its unit's {unit}")
    if unified_cgroups():
        leaf = f"{CGROUP_ROOT}{unit}/supervisor"
        os.makedirs(leaf, exist_ok=True)
        with open(f"{leaf}/cgroup.procs", "w") as f:
            f.write("0")


def join_network(paths: Paths, spec: ContainerSpec) -> None:
    """--network container:ID: the runtime joins that container's network namespace, its init's
    of this moment (a restart of it gives a new one): the OCI config gets /proc/PID/ns/net."""
    target = spec.network_of or ""
    started = read_record(paths, target, "started") or {}
    ended = read_record(paths, target, "exit") or {}
    pid = int(started.get("pid") or 0)
    running = pid > 0 and float(ended.get("finished_at") or 0) < float(started.get("started_at") or 0)
    if not running or not os.path.exists(f"/proc/{pid}/ns/net"):
        name = (read_json(paths.spec(target)) or {}).get("name") or target[:12]
        raise ConmanError(f"container {name} is not running: --network container:{name} joins its network",
                          exit_code=EXIT_ENGINE)  # fmt: skip

    def point(config: dict[str, Any]) -> None:
        for namespace in config["linux"]["namespaces"]:
            if namespace["type"] == "network":
                namespace["path"] = f"/proc/{pid}/ns/net"

    edit_oci_config(paths, spec, point)


def mount_rootfs(paths: Paths, spec: ContainerSpec) -> None:
    for d in (paths.run_dir(spec.id), paths.rootfs(spec.id)):
        os.makedirs(d, mode=0o700, exist_ok=True)
    rootfs = paths.rootfs(spec.id)
    mounts.umount(rootfs)  # a restart after a crash finds the old mount
    mounts.mount_container(paths, spec, rootfs)
    if any(v.name and v.copy_up for v in spec.volumes) and not os.path.exists(
        paths.record(spec.id, "started")
    ):
        from conman_systemd.container.volume_fill import fill_new_volumes

        fill_new_volumes(paths, spec)  # at the first start only, as docker's at create


def hand_over(pid: int) -> None:
    systemd_io.notify(f"MAINPID={pid}")
    systemd_io.notify_barrier()


def ended(pid: int) -> os.waitid_result | None:
    """How the init ended, if it has; WNOWAIT: a zombie left to systemd still gives it the status."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)


def start(paths: Paths, spec: ContainerSpec) -> int:
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1)  # the init stays our child until hand-over
    if spec.restarts:
        backoff.wait_before_start(paths, spec)
    enter_unit_cgroup(spec)
    if spec.network_of:
        join_network(paths, spec)
    elif spec.bridged:
        from conman_systemd.container.network import set_up

        set_up(paths, spec)
    mount_rootfs(paths, spec)
    if spec.owns_stdio:
        from conman_systemd.shim.interactive import start_interactive

        return start_interactive(paths, spec)
    if spec.shim_stays:  # passing notifications on: the app's, the checks'
        from conman_systemd.shim.notify_proxy import stay

        return stay(paths, spec)
    pid = create_and_start(paths, spec)
    say_ready(spec, pid)
    status = ended(pid)
    if status is not None:
        # Gone already (`true`), so no hand-over: we stay the main process and clean up now, which
        # spares the unit a clean-up process.
        from conman_systemd.shim.finish import finish, result_of

        finish(paths, spec, exit_code(status), result_of(spec, status))
        return exit_like(status)
    hand_over(pid)
    status = ended(pid)
    if status is not None:
        # Gone during the hand-over: systemd took the pid or (dead at its check) kept us as the
        # main process; we cannot tell which. Either way the unit's ExecStopPost records the end:
        # systemd hears that process's STATUS=, and would not hear ours once we are not the main.
        debug(f"shim: container init {pid} ended during the hand-over")
        return exit_like(status)
    debug(f"shim: MAINPID handed over to {pid}")
    # A machine from now on (the start job is done, nobody waits on this).
    from conman_systemd.shim.machined import register_in_background

    register_in_background(spec, pid, paths.rootfs(spec.id))
    return 0

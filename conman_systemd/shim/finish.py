"""After the container's end: how it ended, and `conman-shim cleanup` (the unit's ExecStopPost).

The exit is recorded, the run released (runtime state, mount, runtime dir), --rm applied and
on-failure:N enforced: by the start or IO process that saw the end itself, or else by the unit's
clean-up, from what systemd tells it in $EXIT_CODE, $EXIT_STATUS and $SERVICE_RESULT.
"""

from __future__ import annotations

import os
import time

from conman_systemd.container.paths import Paths, write_exit_record
from conman_systemd.container.removal import release, remove_state
from conman_systemd.container.spec import CGROUP_ROOT, ContainerSpec, unit_cgroup
from conman_systemd.log import debug
from conman_systemd.shim import backoff, systemd_io

TYPE_CHECKING = False
if TYPE_CHECKING:  # typeshed has no stubs for _signal; signal re-exports all of it
    import signal as _signal
else:
    import _signal

# Deaths systemd counts as clean for any service; the unit's SuccessExitStatus= adds more.
_CLEAN_SIGNALS = {_signal.SIGHUP, _signal.SIGINT, _signal.SIGTERM, _signal.SIGPIPE}


def result_of(spec: ContainerSpec, status: os.waitid_result) -> str:
    """The Result= systemd will give this exit (what $SERVICE_RESULT says in ExecStopPost)."""
    codes, signals = spec.success_exit_status()
    if status.si_code == os.CLD_EXITED:
        return "success" if status.si_status == 0 or status.si_status in codes else "exit-code"
    return "success" if status.si_status in _CLEAN_SIGNALS | set(signals) else "signal"


def oom_killed(spec: ContainerSpec) -> bool:
    """Whether the kernel's OOM killer killed a process of the container's unit, however the
    platform counts it: cgroup v2's memory.events, v1's memory.oom_control (the unit's cgroup and
    the runtime's below it). Read before the run is released: the cgroups are still there."""
    unit = unit_cgroup(spec.unit).lstrip("/")
    for path in (f"{CGROUP_ROOT}/{unit}/memory.events", f"{CGROUP_ROOT}/memory/{unit}/memory.oom_control",
                 f"{CGROUP_ROOT}/memory/{unit}/container/memory.oom_control"):  # fmt: skip
        try:
            with open(path) as f:
                counts = dict(line.split() for line in f if len(line.split()) == 2)
        except OSError:
            continue
        if int(counts.get("oom_kill", "0")) > 0:
            return True
    return False


def restart_follows(paths: Paths, spec: ContainerSpec, result: str) -> bool:
    """Whether systemd restarts the unit after this end (on-failure:N's limit aside)."""
    if not spec.restarts or os.path.exists(paths.record(spec.id, "stop-requested")):
        return False
    return spec.restart != "on-failure" or result != "success"


def finish(paths: Paths, spec: ContainerSpec, code: int | None, result: str) -> None:
    """Record the exit, release the run (the runtime dir goes: ExecStopPost then has nothing to
    do), enforce on-failure:N; with --rm remove everything instead (systemd keeps the exit status
    for whoever waits: its unit's ExecMainStatus). A declared container is removed too when no
    restart follows: its next start makes it again from its definition."""
    # A start that failed left its error on the STATUS line, for the CLI: that line stays.
    started = not os.path.exists(paths.record(spec.id, "error"))
    ending = spec.remove_on_exit or (spec.declared and not restart_follows(paths, spec, result))
    if ending:
        remove_state(paths, spec, anonymous_volumes=True)
    else:
        finished_at = time.time()
        try:
            write_exit_record(paths, spec.id, finished_at=finished_at, exit_code=code, result=result,
                              oom_killed=oom_killed(spec))  # fmt: skip
            backoff.count_exit(paths, spec, finished_at)
        except OSError as e:  # the run is released all the same: no mount or runtime state stays
            systemd_io.journal_send(
                f"conman-shim: cannot record the exit of container {spec.name}: {e.strerror}",
                systemd_io.PRIORITY_ERR, SYSLOG_IDENTIFIER="conman-shim", CONTAINER_ID_FULL=spec.id,
            )  # fmt: skip
        release(paths, spec)
    if spec.restart_max and result != "success" and _end_restarts_after(spec, spec.restart_max):
        if spec.declared and not ending:
            remove_state(paths, spec, anonymous_volumes=True)
    if started:  # `systemctl status` must not go on saying "running" after the end
        systemd_io.notify(f"STATUS=container {spec.name} exited with code {code}")
        systemd_io.notify_barrier()  # heard while we are the unit's process (NotifyAccess=exec)
    debug(f"shim: finished after exit code {code} ({result})")


def _exit_code_from_env() -> int | None:
    code, status = os.environ.get("EXIT_CODE"), os.environ.get("EXIT_STATUS", "")
    if code == "exited" and status.isdigit():
        return int(status)
    if code in ("killed", "dumped"):
        number = getattr(_signal, status if status.startswith("SIG") else f"SIG{status}", None)
        return 128 + number if isinstance(number, int) else None
    return None


def cleanup(paths: Paths, spec: ContainerSpec) -> int:
    finish(paths, spec, _exit_code_from_env(), os.environ.get("SERVICE_RESULT", ""))
    return 0


def _end_restarts_after(spec: ContainerSpec, limit: int) -> bool:
    """on-failure:N. systemd's start limit would count the refused start as a restart too
    (NRestarts = N+1); a stop job queued now, while the unit is in stop-post, ends it with
    NRestarts = N: systemd never restarts a unit someone asked to stop."""
    from conman_systemd.dbus.systemd import Systemd

    with Systemd.connect() as systemd:
        if systemd.restarts(spec.unit) >= limit:
            systemd.stop_no_wait(spec.unit)
            return True
    return False

"""A container spec as the properties of its transient unit: the one table conman maps through.

Each forced default says why. `conman run --dry-run` prints the result, so the mapping is tested
without systemd.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
from typing import Any

from conman_systemd.core.removal import UNIT_SLICE
from conman_systemd.core.spec import ContainerSpec, RestartPolicy
from conman_systemd.core.store import Paths

USEC = 1_000_000
LOG_BURST = 100_000_000  # lines per second; journald multiplies it by up to ~4 (free space): no overflow

# The stop helper enforces --stop-timeout itself; systemd's own timeout is only a backstop.
STOP_MARGIN = 15
RESTART_DELAY_USEC = 100_000  # systemd's default RestartSec=100ms; docker starts its backoff there

# Signatures of every property conman sets (org.freedesktop.systemd1(5)). An unknown one is a bug.
SIGNATURES = {
    "Description": "s",
    "Type": "s",
    "NotifyAccess": "s",
    "Delegate": "b",
    "KillMode": "s",
    "KillSignal": "i",
    "TimeoutStopUSec": "t",
    "ExecStart": "a(sasb)",
    "ExecStop": "a(sasb)",
    "ExecStopPost": "a(sasb)",
    "SyslogIdentifier": "s",
    "SuccessExitStatus": "(aiai)",
    "RestartForceExitStatus": "(aiai)",
    "Restart": "s",
    "RestartUSec": "t",
    "StartLimitIntervalUSec": "t",
    "LogRateLimitIntervalUSec": "t",
    "LogRateLimitBurst": "u",
    "CollectMode": "s",
    "Slice": "s",
    "Environment": "as",
}


def shim_path() -> str:
    """The conman-shim next to this interpreter (a venv's bin/), else on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "conman-shim")
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which("conman-shim") or "/usr/bin/conman-shim"


def _exec(shim: str, verb: str, spec: ContainerSpec, paths: Paths, ignore_failure: bool = False) -> Any:
    argv = [shim, verb, "--root", paths.root, "--runroot", paths.runroot, spec.id]
    return [(shim, argv, ignore_failure)]


WHEN = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "when.sh")


def success_exit_status(spec: ContainerSpec) -> tuple[list[int], list[int]]:
    """(exit codes, signals) that end the container cleanly beyond systemd's own: a stop ends the
    init by the stop signal (or exit 128+N), or by SIGKILL after the timeout, and none of those
    may leave the unit "failed" (users' pain with podman units). The shim predicts Result= by it."""
    stop = spec.stop_signal
    return [128 + stop, 128 + signal.SIGKILL], sorted({stop, signal.SIGKILL})


def _stop(shim: str, spec: ContainerSpec, paths: Paths) -> Any:
    """systemd runs ExecStop also after the container exited by itself: then there is nothing
    to stop, and when.sh ($MAINPID is unset) saves starting Python on every exit."""
    ((_, argv, _),) = _exec(shim, "stop", spec, paths)
    return [("/bin/sh", ["/bin/sh", WHEN, "mainpid", *argv], False)]


def _cleanup(shim: str, spec: ContainerSpec, paths: Paths) -> Any:
    """A shim that saw its container end cleaned up itself, runtime dir included: then when.sh
    spares starting Python again. The leading "-": a clean-up problem must not fail the unit."""
    ((_, argv, _),) = _exec(shim, "cleanup", spec, paths)
    return [("/bin/sh", ["/bin/sh", WHEN, "dir", paths.run_dir(spec.id), *argv], True)]


def properties(spec: ContainerSpec, paths: Paths, shim: str | None = None) -> list[tuple[str, Any]]:
    """(name, value) pairs in the order they go to StartTransientUnit."""
    shim = shim or shim_path()
    props: list[tuple[str, Any]] = [
        ("Description", f"conman container {spec.name} ({spec.image})"),
        # The shim says READY=1 after `runc start`, so a start job is done only once the container runs.
        ("Type", "notify"),
        # MAINPID= and READY=1 come from the shim, the main process only until it hands over.
        ("NotifyAccess", "all"),
        # runc creates the container's cgroup inside the unit's: limits, stop and accounting reach it.
        ("Delegate", True),
        # The stop signal goes to the container's init only, as docker does; SIGKILL at the end to all.
        ("KillMode", "mixed"),
        ("KillSignal", spec.stop_signal),
        ("ExecStart", _exec(shim, "start", spec, paths)),
        # The stop helper sends the stop signal, waits --stop-timeout, then SIGKILLs the init.
        ("ExecStop", _stop(shim, spec, paths)),
        # Records the exit, then removes runc's state, the rootfs mount and the runtime dir.
        ("ExecStopPost", _cleanup(shim, spec, paths)),
        ("TimeoutStopUSec", (spec.stop_timeout + STOP_MARGIN) * USEC),
        ("SyslogIdentifier", spec.name),
        # Every way a stop ends the container counts as success (see success_exit_status).
        ("SuccessExitStatus", success_exit_status(spec)),
        # Container output is data, not chatter: journald must not drop it (podman#18501). But
        # systemd exports no per-unit limit of 0 (journald's default then applies, and silently
        # drops lines past 10000 per 30 s, scaled by free space): a huge burst per second instead.
        ("LogRateLimitIntervalUSec", USEC),
        ("LogRateLimitBurst", LOG_BURST),
        # One slice for all containers: an administrator can bound them all at once.
        ("Slice", UNIT_SLICE),
        ("Environment", [f"CONMAN_CONTAINER_ID={spec.id}", f"CONMAN_CONTAINER_NAME={spec.name}"]),
    ]
    props += _restart(spec)
    if spec.remove_on_exit:
        # -d --rm: nothing of the container may stay, not even a failed unit.
        props.append(("CollectMode", "inactive-or-failed"))
    return props


def _restart(spec: ContainerSpec) -> list[tuple[str, Any]]:
    if not spec.restart.restarts:
        return [("Restart", "no")]
    policy = "on-failure" if spec.restart is RestartPolicy.ON_FAILURE else "always"
    props: list[tuple[str, Any]] = [
        ("Restart", policy),
        ("RestartUSec", RESTART_DELAY_USEC),
        # SIGKILL counts as success (so a stop never fails the unit), yet a SIGKILL nobody asked
        # for must still restart the container.
        ("RestartForceExitStatus", ([], [int(signal.SIGKILL)])),
    ]
    # Restart for ever, as docker's policies do; on-failure:N is ended by the clean-up (conman-shim).
    props.append(("StartLimitIntervalUSec", 0))
    return props


def encode(props: list[tuple[str, Any]]) -> list[tuple[str, tuple[str, Any]]]:
    """The D-Bus form a(sv), each value with its signature from SIGNATURES."""
    return [(name, (SIGNATURES[name], value)) for name, value in props]


def render(props: list[tuple[str, Any]]) -> str:
    """Properties as unit-file lines, for --dry-run."""
    return "\n".join(f"{name}={_show(name, value)}" for name, value in props)


def _show(name: str, value: Any) -> str:
    if name.startswith("Exec"):
        ((_, argv, ignore_failure),) = value
        return ("-" if ignore_failure else "") + shlex.join(argv)
    if name.endswith("ExitStatus"):
        codes, signals = value
        return " ".join([*map(str, codes), *(signal.Signals(s).name for s in signals)])
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return " ".join(map(str, value))
    return str(value)

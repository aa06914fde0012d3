"""A container spec as the properties of its transient unit: the one table conman maps through.

Each forced default says why. `conman run --dry-run` prints the result, so the mapping is tested
without systemd.
"""

from __future__ import annotations

import os
import sys

from conman_systemd.container.spec import SIGKILL, UNIT_SLICE, ContainerSpec
from conman_systemd.log import debug_enabled, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.container.paths import Paths

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
    "WatchdogUSec": "t",
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
    "LogExtraFields": "aay",
    "TasksMax": "t",
    "CPUAccounting": "b",
    "MemoryAccounting": "b",
    "IOAccounting": "b",
    "MemoryMax": "t",
    "MemoryLow": "t",
    "MemorySwapMax": "t",
    "CPUQuotaPerSecUSec": "t",
    "CPUWeight": "t",
    "IOWeight": "t",
    "IOReadBandwidthMax": "a(st)",
    "IOWriteBandwidthMax": "a(st)",
}
UNLIMITED = 2**64 - 1  # systemd's "infinity"


SHIM_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "shim")


def shim_command() -> list[str]:
    """The shim, run by this very interpreter: -I -S keep its start-up to the minimum (no site,
    no environment), and no console script sits in /usr/bin for a program users never call."""
    return [sys.executable, "-I", "-S", os.path.join(SHIM_DIR, "__main__.py")]


def _when(shim: list[str]) -> str:
    """when.sh sits next to the shim's __main__.py."""
    return os.path.join(os.path.dirname(shim[-1]), "when.sh")


def _shim(shim: list[str], verb: str, spec: ContainerSpec, paths: Paths) -> list[str]:
    return [*shim, verb, "--root", paths.root, "--runroot", paths.runroot, spec.id]


def _start(shim: list[str], spec: ContainerSpec, paths: Paths) -> Any:
    argv = _shim(shim, "start", spec, paths)
    return [(argv[0], argv, False)]


def _stop(shim: list[str], spec: ContainerSpec, paths: Paths) -> Any:
    """systemd runs ExecStop also after the container exited by itself: then there is nothing
    to stop, and when.sh ($MAINPID is unset) saves starting Python on every exit."""
    return [("/bin/sh", ["/bin/sh", _when(shim), "mainpid", *_shim(shim, "stop", spec, paths)], False)]


def _cleanup(shim: list[str], spec: ContainerSpec, paths: Paths) -> Any:
    """A shim that saw its container end cleaned up itself, runtime dir included: then when.sh
    spares starting Python again. The leading "-": a clean-up problem must not fail the unit."""
    argv = _shim(shim, "cleanup", spec, paths)
    return [("/bin/sh", ["/bin/sh", _when(shim), "dir", paths.run_dir(spec.id), *argv], True)]


def _environment(spec: ContainerSpec) -> list[str]:
    env = [f"CONMAN_CONTAINER_ID={spec.id}", f"CONMAN_CONTAINER_NAME={spec.name}"]
    # `conman --debug` reaches the shim: its lines go to the unit's journal (priority debug).
    return [*env, "CONMAN_DEBUG=1"] if debug_enabled() else env


def properties(spec: ContainerSpec, paths: Paths, shim: list[str] | None = None) -> list[tuple[str, Any]]:
    """(name, value) pairs in the order they go to StartTransientUnit."""
    shim = shim or shim_command()
    props: list[tuple[str, Any]] = [
        ("Description", f"conman container {spec.name} ({spec.image})"),
        # The shim says READY=1 after the runtime's start: a start job is done once the container runs.
        ("Type", "notify"),
        # READY=1, STATUS= and MAINPID= come from the shim while it is the main process (the
        # barrier after MAINPID= is the manager's), STATUS= at the end from its clean-up, a
        # control process. After the hand-over the main process is the container's init: no other
        # process of the container is heard (a host notify socket a volume would show is masked).
        ("NotifyAccess", "exec"),
        # The runtime makes the container's cgroup inside the unit's: limits, stop, accounting reach it.
        ("Delegate", True),
        # The stop signal goes to the container's init only, as docker does; SIGKILL at the end to all.
        ("KillMode", "mixed"),
        ("KillSignal", spec.stop_signal),
        ("ExecStart", _start(shim, spec, paths)),
        # The stop helper sends the stop signal, waits --stop-timeout, then SIGKILLs the init.
        ("ExecStop", _stop(shim, spec, paths)),
        # Records the exit, then removes the runtime's state, the rootfs mount and the runtime dir.
        ("ExecStopPost", _cleanup(shim, spec, paths)),
        ("TimeoutStopUSec", (spec.stop_timeout + STOP_MARGIN) * USEC),
        ("SyslogIdentifier", spec.name),
        # Every way a stop ends the container counts as success (see success_exit_status).
        ("SuccessExitStatus", spec.success_exit_status()),
        # --log-rate-limit (default 10000 lines per 10 s): one container's flood cannot push the
        # host's history out of the journal. `none` lifts it: systemd has no per-unit "no limit"
        # (0 would mean journald's own 10000 per 30 s), so a huge burst per second instead.
        ("LogRateLimitIntervalUSec", round(spec.log_interval * USEC) if spec.log_burst else USEC),
        ("LogRateLimitBurst", spec.log_burst or LOG_BURST),
        # One slice for all containers: an administrator can bound them all at once.
        ("Slice", UNIT_SLICE),
        ("Environment", _environment(spec)),
    ]
    if spec.watchdog:  # --sdnotify=container: the app's WATCHDOG=1 reaches systemd through the shim
        props.append(("WatchdogUSec", round(spec.watchdog * USEC)))
    props += _restart(spec)
    props += resources(spec)
    # docker's journald log driver fields on every line: `journalctl CONTAINER_NAME=web`.
    props.append(("LogExtraFields", [f.encode() for f in journal_fields(spec)]))
    if spec.remove_on_exit:
        # --rm: nothing of the container may stay, not even a failed unit.
        props.append(("CollectMode", "inactive-or-failed"))
    return props


def journal_fields(spec: ContainerSpec) -> list[str]:
    return [f"CONTAINER_ID={spec.short_id}", f"CONTAINER_ID_FULL={spec.id}", f"CONTAINER_NAME={spec.name}",
            f"CONTAINER_TAG={spec.short_id}", f"IMAGE_NAME={spec.image}"]  # fmt: skip


def resources(spec: ContainerSpec) -> list[tuple[str, Any]]:
    """The container's resource limits, as the unit's: its delegated cgroup bounds the container's.
    On cgroup v1 systemd applies MemoryMax= as MemoryLimit=, CPUWeight= as cpu.shares and IOWeight=
    as blkio.weight; MemoryLow= and MemorySwapMax= need v2 (systemd ignores them on v1)."""
    props: list[tuple[str, Any]] = [
        # `conman stats` reads the unit's own accounting; systemd keeps CPU and IO off by default.
        ("CPUAccounting", True),
        ("MemoryAccounting", True),
        ("IOAccounting", True),
        ("TasksMax", spec.pids_limit or UNLIMITED),
    ]
    if spec.memory:
        props.append(("MemoryMax", spec.memory))
    if spec.memory_reservation:
        props.append(("MemoryLow", spec.memory_reservation))
    if spec.memory_swap:  # docker's memory + swap; systemd's swap alone
        props.append(
            ("MemorySwapMax", UNLIMITED if spec.memory_swap < 0 else spec.memory_swap - spec.memory)
        )
    if spec.cpus:
        props.append(("CPUQuotaPerSecUSec", round(spec.cpus * USEC)))
    if spec.cpu_weight:
        props.append(("CPUWeight", spec.cpu_weight))
    if spec.blkio_weight:
        props.append(("IOWeight", spec.blkio_weight * 10))  # docker's 10-1000, systemd's 1-10000
    if spec.device_read_bps:
        props.append(("IOReadBandwidthMax", sorted(spec.device_read_bps.items())))
    if spec.device_write_bps:
        props.append(("IOWriteBandwidthMax", sorted(spec.device_write_bps.items())))
    return props


def _restart(spec: ContainerSpec) -> list[tuple[str, Any]]:
    if not spec.restarts:
        return [("Restart", "no")]
    policy = "on-failure" if spec.restart == "on-failure" else "always"
    props: list[tuple[str, Any]] = [
        ("Restart", policy),
        ("RestartUSec", RESTART_DELAY_USEC),
        # SIGKILL counts as success (so a stop never fails the unit), yet a SIGKILL nobody asked
        # for must still restart the container.
        ("RestartForceExitStatus", ([], [SIGKILL])),
    ]
    # Restart for ever, as docker's policies do; on-failure:N is ended by the clean-up (conman-shim).
    props.append(("StartLimitIntervalUSec", 0))
    return props


def encode(props: list[tuple[str, Any]]) -> list[tuple[str, tuple[str, Any]]]:
    """The D-Bus form a(sv), each value with its signature from SIGNATURES."""
    return [(name, (SIGNATURES[name], value)) for name, value in props]


def render(props: list[tuple[str, Any]]) -> str:
    """Properties as unit-file lines, for --dry-run."""
    return "\n".join(f"{name}={show(name, value)}" for name, value in props)


def signal_name(number: int) -> str:
    """As systemd writes it: real-time signals have no name of their own (SIGRTMIN+6)."""
    import signal

    if number >= signal.SIGRTMIN:
        return f"SIGRTMIN+{number - signal.SIGRTMIN}"
    return signal.Signals(number).name


def show(name: str, value: Any) -> str:
    if name.startswith("Exec"):
        ((_, argv, ignore_failure),) = value
        return ("-" if ignore_failure else "") + quote(argv)
    if name.endswith("ExitStatus"):
        codes, signals = value
        return " ".join([*map(str, codes), *map(signal_name, signals)])
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value == UNLIMITED:
        return "infinity"
    if name == "LogExtraFields":
        return " ".join(v.decode() for v in value)
    if name.startswith("IO") and name.endswith("BandwidthMax"):
        return " ".join(f"{path} {rate}" for path, rate in value)
    if isinstance(value, list):
        return " ".join(map(str, value))
    return str(value)

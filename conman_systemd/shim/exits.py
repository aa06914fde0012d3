"""How a container ended, and exiting as it did. Tiny: the IO server imports it too."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # typeshed has no stubs for _signal; signal re-exports all of it
    import signal as _signal
else:
    import _signal

_UNCATCHABLE = {_signal.SIGKILL, _signal.SIGSTOP}


# What the unit's main process passes on to the container's init when it stays (the IO server,
# the notify proxy): KillMode=mixed sends the stop signal to the main process alone.
FORWARDED = (_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP, _signal.SIGQUIT, _signal.SIGUSR1,
             _signal.SIGUSR2)  # fmt: skip


def kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def exit_code(status: os.waitid_result) -> int:
    """docker's number for an end: the exit code, or 128+N for death by signal N."""
    return status.si_status if status.si_code == os.CLD_EXITED else 128 + status.si_status


def exit_like(status: os.waitid_result | None) -> int:
    """Exit as the container did: the same code, or death by the same signal."""
    if status is None:
        return 0
    if status.si_code == os.CLD_EXITED:
        return status.si_status
    if status.si_status not in _UNCATCHABLE:  # their disposition cannot (and need not) be reset
        _signal.signal(status.si_status, _signal.SIG_DFL)
    os.kill(os.getpid(), status.si_status)
    return 128 + status.si_status

"""Restart back-off, as docker's: a container that keeps failing is restarted ever more slowly.

systemd 252 restarts after a fixed RestartSec= (100 ms; RestartSteps= came in 254). After the
n-th run in a row that ended by itself within 10 s, the next start waits 100 ms * 2^(n-1), at
most a minute (systemd's 100 ms included); a run of 10 s or more starts the count again. A stop
someone asked for (the unit's ExecStop marks it) and `conman start` clear it: a start a user asks
for is never delayed. Stdlib only: the shim runs it.
"""

from __future__ import annotations

import os
import time

from conman_systemd.container.paths import BACKOFF_RECORDS, Paths, read_record, remove_records, write_record
from conman_systemd.container.spec import ContainerSpec
from conman_systemd.shim import systemd_io

TYPE_CHECKING = False
if TYPE_CHECKING:  # typeshed has no stubs for _signal; signal re-exports all of it
    import signal as _signal
else:
    import _signal

QUICK = 10.0  # seconds: a shorter run counts as a failure in a row, as docker counts it
FIRST = 0.1  # systemd's RestartSec=
LONGEST = 60.0


def delay(failures: int) -> float:
    """The whole wait before the next start after `failures` quick exits in a row."""
    return 0.0 if failures < 1 else min(FIRST * 2 ** (failures - 1), LONGEST)


def stop_requested(paths: Paths, cid: str) -> None:
    """The unit's ExecStop: this end was asked for."""
    write_record(paths, cid, "stop-requested", at=time.time())


def count_exit(paths: Paths, spec: ContainerSpec, finished_at: float) -> None:
    """After the container's end: one more quick failure, or the count starts again."""
    if not spec.restarts or os.path.exists(paths.record(spec.id, "stop-requested")):
        remove_records(paths, spec.id, BACKOFF_RECORDS)
        return
    started = float((read_record(paths, spec.id, "started") or {}).get("started_at") or finished_at)
    failures = int((read_record(paths, spec.id, "backoff") or {}).get("failures") or 0)
    failures = failures + 1 if finished_at - started < QUICK else 0
    write_record(paths, spec.id, "backoff", failures=failures, delay=delay(failures))


def wait_before_start(paths: Paths, spec: ContainerSpec) -> None:
    """In ExecStart, before anything is set up: the back-off beyond systemd's own RestartSec=."""
    record = read_record(paths, spec.id, "backoff") or {}
    extra = float(record.get("delay") or 0) - FIRST
    if extra > 0:
        failures = record.get("failures")
        systemd_io.notify(
            f"STATUS=restarting in {extra + FIRST:.1f} s: back-off after {failures} quick exits"
        )
        # A stop now (systemd runs no ExecStop for a unit still starting) is one asked for too.
        previous = _signal.signal(_signal.SIGTERM, lambda *_: _stopped_while_waiting(paths, spec.id))
        time.sleep(extra)
        _signal.signal(_signal.SIGTERM, previous)


def _stopped_while_waiting(paths: Paths, cid: str) -> None:
    stop_requested(paths, cid)
    os._exit(128 + _signal.SIGTERM)

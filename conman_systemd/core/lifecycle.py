"""Container lifecycle over D-Bus: start as a transient unit, stop, kill, remove, wait."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

from conman_systemd.core import unit
from conman_systemd.core.containers import State, Store, UnitFacts
from conman_systemd.core.removal import remove_state
from conman_systemd.core.spec import ContainerSpec
from conman_systemd.core.store import write_atomic
from conman_systemd.dbus import messages
from conman_systemd.dbus.bus import JOB_DONE, Bus, BusError
from conman_systemd.errors import ConmanError

UNIT_EXISTS = "org.freedesktop.systemd1.UnitExists"
NO_SUCH_UNIT = "org.freedesktop.systemd1.NoSuchUnit"
# ListUnits* rows: (name, description, load, active, sub, following, path, job id, job type, job path)
_ACTIVE, _SUB = 3, 4
SERVICE_FACTS = ("MainPID", "NRestarts", "Result", "StatusText")


def facts_from(row: tuple[Any, ...] | None, service: dict[str, tuple[str, Any]]) -> UnitFacts:
    if row is None:
        return UnitFacts()
    get = {k: v[1] for k, v in service.items() if k in SERVICE_FACTS}
    return UnitFacts(
        active_state=row[_ACTIVE],
        sub_state=row[_SUB],
        main_pid=int(get.get("MainPID", 0)),
        n_restarts=int(get.get("NRestarts", 0)),
        result=str(get.get("Result", "")),
        status_text=str(get.get("StatusText", "")),
    )


class Lifecycle:
    def __init__(self, store: Store, bus: Bus) -> None:
        self.store = store
        self.paths = store.paths
        self.bus = bus

    # -- what systemd knows

    def facts(self, spec: ContainerSpec) -> UnitFacts:
        (rows,) = self.bus.call(messages.list_units_by_names([spec.unit]))
        row = next((r for r in rows if r[2] == "loaded"), None)
        if row is None:
            return UnitFacts()
        (service,) = self.bus.call(
            messages.get_all_properties(messages.unit_path(spec.unit), messages.SERVICE_IFACE)
        )
        return facts_from(row, service)

    def state(self, spec: ContainerSpec) -> State:
        return self.facts(spec).container_state(ever_started=bool(self.store.records(spec.id)))

    # -- actions

    def start(self, spec: ContainerSpec) -> None:
        """Start the container's unit; returns once the container runs (the job result is "done")."""
        if self.state(spec).is_running:
            return
        for kind in ("error", "exit"):
            _remove(self.paths.record(spec.id, kind))
        props = unit.encode(unit.properties(spec, self.paths))
        msg = messages.start_transient_unit(spec.unit, props)
        try:
            result = self.bus.run_job(msg)
        except BusError as e:
            if e.name != UNIT_EXISTS:
                raise
            # A failed unit of an earlier run is still loaded: reset it and try once more.
            self._reset_failed(spec)
            result = self.bus.run_job(messages.start_transient_unit(spec.unit, props))
        if result != JOB_DONE:
            raise self._start_failure(spec, result)

    def _start_failure(self, spec: ContainerSpec, result: str) -> ConmanError:
        error = self.store.records(spec.id).get("error")
        if error:
            return ConmanError(error["message"], exit_code=int(error.get("exit_code", 125)))
        return ConmanError(
            f"container {spec.name} did not start: systemd job result {result}",
            hint=f"see `journalctl -u {spec.unit}`",
        )

    def _reset_failed(self, spec: ContainerSpec) -> None:
        try:
            self.bus.call(messages.reset_failed_unit(spec.unit))
        except BusError as e:
            if e.name != NO_SUCH_UNIT:
                raise

    def stop(self, spec: ContainerSpec, timeout: int | None = None) -> None:
        if not self.state(spec).is_running:
            return
        if timeout is not None:
            # Read by the unit's stop helper (conman-shim stop).
            write_atomic(self.paths.stop_timeout(spec.id), str(timeout))
        budget = (timeout if timeout is not None else spec.stop_timeout) + unit.STOP_MARGIN + 30
        self.bus.run_job(messages.stop_unit(spec.unit), timeout=budget)

    def kill(self, spec: ContainerSpec, sig: int) -> None:
        if not self.state(spec).is_running:
            raise ConmanError(f"container {spec.name} is not running")
        self.bus.call(messages.kill_unit(spec.unit, "main", sig))

    def remove(self, spec: ContainerSpec, force: bool) -> None:
        if self.state(spec).is_running:
            if not force:
                raise ConmanError(f"container {spec.name} is running: stop it first or use `rm -f`")
            self.kill_now(spec)
        self._reset_failed(spec)
        remove_state(self.paths, spec.id, spec.name)

    def kill_now(self, spec: ContainerSpec) -> None:
        """rm -f: SIGKILL everything of the unit, then wait for the stop to finish."""
        try:
            self.bus.call(messages.kill_unit(spec.unit, "all", signal.SIGKILL))
            self.bus.run_job(messages.stop_unit(spec.unit), timeout=unit.STOP_MARGIN + 30)
        except BusError as e:
            if e.name != NO_SUCH_UNIT:  # gone already: remove_state() still releases what it left
                raise

    def wait(self, spec: ContainerSpec, timeout: float | None = None, poll: float = 1.0,
             each: Callable[[], None] | None = None) -> None:  # fmt: skip
        """Until the container has exited (and is not about to be restarted). each() runs before
        every check (a foreground run sends its stop there when the user interrupted it)."""
        rule = messages.unit_properties_changed_rule(spec.unit)
        deadline = None if timeout is None else time.monotonic() + timeout

        def done() -> bool:
            if deadline is not None and time.monotonic() > deadline:
                raise ConmanError(f"timed out waiting for container {spec.name}")
            if each is not None:
                each()
            return not self.facts(spec).container_state(ever_started=True).is_running

        # Re-check every poll seconds too: a signal could come between a check and the match.
        self.bus.wait_signal(rule, done, poll=poll)

    def exit_code(self, spec: ContainerSpec) -> int | None:
        record = self.store.records(spec.id).get("exit")
        code = record.get("exit_code") if record else None
        return int(code) if code is not None else None


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass

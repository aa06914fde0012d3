"""Container lifecycle through systemd: start as a transient unit, stop, kill, remove, wait."""

from __future__ import annotations

import os
import time

from conman_systemd.container.paths import BACKOFF_RECORDS, USER_STOPPED, remove_records, write_record
from conman_systemd.container.spec import SIGKILL
from conman_systemd.core import unit
from conman_systemd.core.containers import ContainerInfo, Store
from conman_systemd.dbus.systemd import CALL_TIMEOUT, JOB_DONE, NO_SUCH_UNIT, BusError, Systemd
from conman_systemd.errors import EXIT_CANNOT_INVOKE, EXIT_ENGINE, EXIT_NOT_FOUND, ConmanError
from conman_systemd.log import debug

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from conman_systemd.container.spec import ContainerSpec
    from conman_systemd.dbus.units import UnitState, UnitWatch

SHIM_FAILURES = (EXIT_ENGINE, EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND)
DECLARED_START_TIMEOUT = 300.0  # its ExecStartPre= may pull the image
APP_START_TIMEOUT = 24 * 3600.0


class Lifecycle:
    def __init__(self, store: Store, systemd: Systemd) -> None:
        self.store = store
        self.paths = store.paths
        self.systemd = systemd

    # -- what is known

    def info(self, spec: ContainerSpec, unit_state: UnitState | None = None) -> ContainerInfo:
        """The container as one object: its records read once, its unit asked once."""
        if unit_state is None:
            unit_state = self.systemd.unit_state(spec.unit)
        return ContainerInfo(spec=spec, records=self.store.records(spec.id), unit=unit_state)

    def running(self, spec: ContainerSpec) -> bool:
        """Whether the container runs: its unit's word alone (its records do not change that)."""
        return self.systemd.unit_state(spec.unit).running

    # -- actions

    def start(self, spec: ContainerSpec, new: bool = False) -> UnitWatch:
        """Start the container's unit; returns once the container runs (the job result is "done"),
        with the watch that follows the unit from before its start. A new container (just
        created) has neither a unit nor records yet: nothing to ask or remove first."""
        watch = self.systemd.watch(spec.unit)
        if new:
            watch.known = True  # no unit: all it becomes, the signals tell
        else:
            info = self.info(spec)  # the watch takes in the unit's state too
            if info.running:
                return watch
            # a user's start: no back-off, and it counts again at boot
            remove_records(self.paths, spec.id, ("error", "exit", USER_STOPPED, *BACKOFF_RECORDS))
        # The app's own READY=1 may take long: systemd's TimeoutStartSec= (which EXTEND_TIMEOUT_USEC
        # moves) is the bound then, not ours.
        waits_for_app = spec.sdnotify != "conman"
        if spec.declared:  # its unit file makes it anew from the definition (ExecStartPre=)
            timeout = APP_START_TIMEOUT if waits_for_app else DECLARED_START_TIMEOUT
            result = self.systemd.start_unit(spec.unit, timeout=timeout)
        else:
            properties = unit.encode(unit.properties(spec, self.paths))
            timeout = APP_START_TIMEOUT if waits_for_app else CALL_TIMEOUT
            result = self.systemd.start_transient(spec.unit, properties, timeout)
        if result != JOB_DONE:
            raise self._start_failure(spec, watch, result)
        return watch

    def _start_failure(self, spec: ContainerSpec, watch: UnitWatch, result: str) -> ConmanError:
        """The shim's own message: it exits 125, 126 or 127 with the message as the unit's status
        text, which outlives an --rm clean-up."""
        state = watch.state
        if state.status_text and state.exit_code in SHIM_FAILURES:
            return ConmanError(state.status_text, exit_code=state.exit_code)
        error = self.store.records(spec.id).error
        if error:
            return ConmanError(error["message"], exit_code=int(error.get("exit_code", EXIT_ENGINE)))
        return ConmanError(
            f"container {spec.name} did not start: systemd job result {result}",
            hint=f"see `journalctl -u {spec.unit}`",
        )

    def stop(self, spec: ContainerSpec, timeout: int | None = None) -> None:
        if spec.restart == "unless-stopped":  # also when it waits for its next restart
            write_record(self.paths, spec.id, USER_STOPPED, at=time.time())
        if self.running(spec):
            if timeout is not None:
                # Read by the unit's stop helper (conman-shim stop).
                from conman_systemd.container.paths import write_atomic

                write_atomic(self.paths.stop_timeout(spec.id), str(timeout))
            budget = (timeout if timeout is not None else spec.stop_timeout) + unit.STOP_MARGIN + 30
            self.systemd.stop(spec.unit, timeout=budget)
        # A stop asked for ends the restart back-off (between two restarts no ExecStop runs).
        remove_records(self.paths, spec.id, BACKOFF_RECORDS)

    def pause(self, spec: ContainerSpec, pause: bool = True) -> None:
        """systemd's freezer where it has one (cgroup v2), else the runtime's (v1's freezer)."""
        info = self.info(spec)
        if not info.running:
            raise ConmanError(f"container {spec.name} is not running")
        if info.paused == pause:
            raise ConmanError(f"container {spec.name} is {'already' if pause else 'not'} paused")
        how = info.records.paused.get("by", "systemd") if not pause else "systemd"
        if how == "systemd":
            try:
                self.systemd.freeze(spec.unit, pause)
            except BusError as e:
                if not pause:
                    raise
                debug(f"systemd cannot freeze {spec.unit} ({e.message}): the runtime pauses it")
                how = "runtime"
        if how == "runtime":
            from conman_systemd.container.runtime import Runtime

            runtime = Runtime(spec.runtime, self.paths)
            runtime.pause(spec.id) if pause else runtime.resume(spec.id)
        if pause:
            write_record(self.paths, spec.id, "paused", by=how, at=time.time())
        else:
            remove_records(self.paths, spec.id, ("paused",))

    def update(self, spec: ContainerSpec, updated: ContainerSpec) -> None:
        """New resource limits: the running unit's at once, the spec's for the next start."""
        if not self.running(spec):
            raise ConmanError(f"container {spec.name} is not running", hint="update a running container")
        self.systemd.set_properties(spec.unit, unit.encode(unit.resources(updated)))
        self.store.save(updated)

    def kill(self, spec: ContainerSpec, sig: int) -> None:
        """The signal goes to the container's init, as docker's: the unit's main process once the
        shim handed over; else (-i, -t, health checks, --sdnotify=container) the shim is the main
        process and the init is signalled itself."""
        if not self.running(spec):
            raise ConmanError(f"container {spec.name} is not running")
        pid = int(self.store.records(spec.id).started.get("pid") or 0) if spec.shim_stays else 0
        if pid:
            try:
                os.kill(pid, sig)
                return
            except ProcessLookupError:
                raise ConmanError(f"container {spec.name} is not running") from None
        self.systemd.kill(spec.unit, "main", sig)

    def remove(self, spec: ContainerSpec, force: bool, volumes: bool = False) -> None:
        """volumes: its anonymous volumes go too (docker's `rm -v`)."""
        if self.running(spec):
            if not force:
                raise ConmanError(f"container {spec.name} is running: stop it first or use `rm -f`")
            self.kill_now(spec)
        if spec.health is not None:  # a check still running as the container went goes too
            for health_unit in spec.health_units:
                self._stop_if_loaded(health_unit)
        self.systemd.reset_failed(spec.unit)
        from conman_systemd.container.removal import remove_state  # (mounts: ctypes, off run's path)

        remove_state(self.paths, spec, anonymous_volumes=volumes)

    def _stop_if_loaded(self, name: str) -> None:
        try:
            self.systemd.stop(name)
        except BusError as e:
            if e.name != NO_SUCH_UNIT:
                raise

    def kill_now(self, spec: ContainerSpec) -> None:
        """rm -f: SIGKILL everything of the unit, then wait for the stop to finish."""
        try:
            self.systemd.kill(spec.unit, "all", SIGKILL)
            self.systemd.stop(spec.unit, timeout=unit.STOP_MARGIN + 30)
        except BusError as e:
            if e.name != NO_SUCH_UNIT:  # gone already: remove_state() still releases what it left
                raise

    def wait(self, spec: ContainerSpec, watch: UnitWatch | None = None, poll: float = 1.0,
             each: Callable[[], None] | None = None) -> UnitState:  # fmt: skip
        """Until the container has exited (and is not about to be restarted); the unit's last state.
        each() runs between checks (a foreground run sends its stop there when interrupted)."""
        watch = watch or self.systemd.watch(spec.unit)
        return self.systemd.settle(watch, lambda state: not state.running, poll, each)

    def exit_code(self, spec: ContainerSpec, last: UnitState | None = None) -> int | None:
        """The exit code of the container's last run: its exit record, or (when --rm removed it)
        what systemd said of the unit's main process."""
        code = self.store.records(spec.id).exit_code
        if code is None and last is not None:
            code = last.exit_code
        return code

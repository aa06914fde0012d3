"""Every call conman makes to systemd, over one connection: the façade the rest of conman uses.

conman talks to systemd over the system bus, asking once per connection for just the signals it
waits on (JobRemoved, and PropertiesChanged of the units it watches), in one round trip. Where no
bus daemon runs, root talks to systemd directly on its private socket, as systemctl does; there
systemd sends every signal to every client, which costs systemd more with each client at once
(4 parallel `conman run -d` were 30% slower per container there than one at a time).
"""

from __future__ import annotations

import os
import time

from conman_systemd.dbus import messages
from conman_systemd.dbus.connection import Connection, DBusError
from conman_systemd.dbus.units import UnitState, UnitWatch, state_from_row
from conman_systemd.errors import ConmanError
from conman_systemd.log import debug, debug_enabled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Self

    from conman_systemd.dbus.messages import Property
    from conman_systemd.dbus.wire import Message

PRIVATE_SOCKET = "/run/systemd/private"
SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket"
CALL_TIMEOUT = 30.0
RECONNECT_TIMEOUT = 15.0  # how long a waiting client retries after systemd re-executed itself
STATE_RECHECK = 1.0  # a wait re-reads the unit's state after this long without a signal
JOB_DONE = "done"  # JobRemoved's result strings: only "done" means success
UNIT_EXISTS = "org.freedesktop.systemd1.UnitExists"
NO_SUCH_UNIT = "org.freedesktop.systemd1.NoSuchUnit"


KILL_ROUNDS = 5
_EIO = ("org.freedesktop.DBus.Error.IOError", "System.Error.EIO")  # sd-bus's names for EIO


class BusError(ConmanError):
    """A D-Bus error reply; .name is the D-Bus error name (org.freedesktop.systemd1.NoSuchUnit...)."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(text or name)
        self.name = name


class Disconnected(ConmanError):
    """The connection to systemd broke (systemd re-executed itself, or stopped)."""


def _unreachable(address: str, error: Exception) -> ConmanError:
    if os.geteuid() != 0:
        return ConmanError("conman must run as root to manage system containers", hint="run it with sudo")
    why = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return ConmanError(
        f"systemd is not reachable on the system bus ({address}: {why})",
        hint="is systemd PID 1 here? `conman sandbox -- CMD` boots one for tests and demos",
    )


def _open() -> tuple[Connection, bool]:
    """(connection, direct): the system bus; without one, systemd's private socket (as root). An
    explicit $DBUS_SYSTEM_BUS_ADDRESS is the only address tried."""
    explicit = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    address = explicit or SYSTEM_BUS
    try:
        return Connection.connect(address, hello=True), False
    except (OSError, ValueError) as e:
        if explicit or os.geteuid() != 0:
            raise _unreachable(address, e) from None
        bus_error = e
    try:
        return Connection.connect(f"unix:path={PRIVATE_SOCKET}", hello=False), True
    except OSError as e:
        debug(f"dbus: {PRIVATE_SOCKET}: {e}")
        raise _unreachable(address, bus_error) from None


def _brief(body: tuple[Any, ...]) -> str:
    text = repr(body)
    return text if len(text) < 300 else text[:300] + "...)"


class Systemd:
    def __init__(self) -> None:
        self.conn, self.direct = _open()
        self._listening = self.direct  # a direct connection gets every signal unasked
        self._watches: dict[str, UnitWatch] = {}
        self._pending: list[Message] = []  # match rules and Subscribe, sent with the next call

    @classmethod
    def connect(cls) -> Systemd:
        return cls()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def call(self, msg: Message, timeout: float = CALL_TIMEOUT) -> tuple[Any, ...]:
        """msg's reply; match rules and Subscribe asked for meanwhile go first, in the same round
        trip (the bus daemon and systemd handle one client's calls in order)."""
        batch, self._pending = [*self._pending, msg], []
        if debug_enabled():  # a body's repr is no small cost on StartTransientUnit's
            for each in batch:
                debug(f"dbus: {each.member}{_brief(each.body)}")
        try:
            return self.conn.call_all(batch, timeout)[-1]
        except DBusError as e:
            raise BusError(e.name, e.text) from None
        except TimeoutError:
            raise ConmanError(f"systemd did not answer {msg.member} in {timeout:.0f} s") from None
        except OSError as e:
            raise Disconnected(f"lost the connection to systemd: {e.strerror or e}") from None

    # -- signals

    def listen(self) -> None:
        """Receive JobRemoved from the next call on (a direct connection gets every signal)."""
        if not self._listening:
            self._pending += [messages.add_match(messages.job_removed_rule()), messages.subscribe()]
            self._listening = True

    def watch(self, unit: str) -> UnitWatch:
        """A unit's state as systemd's signals tell it from the next call on: set it up before
        acting on the unit."""
        path = messages.unit_path(unit)
        if path not in self._watches:
            self.listen()
            self._watches[path] = UnitWatch(unit)
            if not self.direct:
                self._pending.append(messages.add_match(messages.properties_changed_rule(path)))
        return self._watches[path]

    def _receive(self, timeout: float) -> Message | None:
        """The next signal, after it has updated the watches it concerns."""
        msg = self.conn.receive_signal(timeout)
        if msg is not None:
            # UnitRemoved comes from the manager's object and names the unit's path in its body.
            path = msg.body[1] if msg.member == "UnitRemoved" else msg.path
            if path in self._watches:
                self._watches[path].update(msg)
        return msg

    def fileno(self) -> int:
        return self.conn.fileno()

    def pump(self, timeout: float) -> bool:
        """Take in the signals that came (waiting up to timeout for one); False when none came."""
        if self._pending:
            self.call(messages.ping())  # the watches asked for are in place before waiting on them
        received = self._receive(timeout) is not None
        while self._receive(0) is not None:
            pass
        return received

    def settle(self, watch: UnitWatch, done: Callable[[UnitState], bool], poll: float,
               each: Callable[[], None] | None = None) -> UnitState:  # fmt: skip
        """Wait until done(state) holds for the watched unit. Signals drive it; STATE_RECHECK
        seconds without one re-read the unit's state (nothing then hangs on a lost signal).
        each() runs between checks, at least every poll seconds. A watch that followed the unit
        since before it started knows its state; a connection that systemd's re-execution
        closed is opened again."""
        if not watch.known:
            self.unit_state(watch.unit)
        news = time.monotonic()  # of the last signal or read
        while not done(watch.state):
            if each is not None:
                each()
            try:
                if self.pump(poll):
                    news = time.monotonic()
                elif time.monotonic() - news >= STATE_RECHECK:
                    self.unit_state(watch.unit)
                    news = time.monotonic()
            except (OSError, Disconnected) as e:
                self._reconnect(e)
                self.unit_state(watch.unit)
        return watch.state

    def _reconnect(self, error: Exception) -> None:
        debug(f"dbus: connection lost ({error}); reconnecting")
        deadline = time.monotonic() + RECONNECT_TIMEOUT
        while True:
            try:
                self.conn.close()
                self.conn, self.direct = _open()
                break
            except ConmanError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)  # systemd is re-executing: its sockets come back within moments
        self._listening = self.direct
        self.listen()
        if not self.direct:
            self._pending += [messages.add_match(messages.properties_changed_rule(p)) for p in self._watches]

    # -- jobs

    def run_job(self, msg: Message, timeout: float = CALL_TIMEOUT) -> str:
        """Send a method that queues a job; its result once JobRemoved names it. Listening starts
        before the call, so a JobRemoved that comes before the reply is not missed."""
        self.listen()
        (job,) = self.call(msg, timeout)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            signal = self._receive(left)
            if signal is not None and signal.member == "JobRemoved" and signal.body[1] == job:
                debug(f"dbus: job {job} result={signal.body[3]}")
                return str(signal.body[3])
        raise ConmanError(f"systemd job {job} did not finish in time")

    def start_transient(self, unit: str, properties: list[Property], timeout: float = CALL_TIMEOUT) -> str:
        """Start a transient unit; the job's result. A failed unit of an earlier run that is still
        loaded is reset first, once."""
        try:
            return self.run_job(messages.start_transient_unit(unit, properties), timeout)
        except BusError as e:
            if e.name != UNIT_EXISTS:
                raise
        self.reset_failed(unit)
        return self.run_job(messages.start_transient_unit(unit, properties), timeout)

    def start_unit(self, unit: str, timeout: float = CALL_TIMEOUT) -> str:
        """Start a unit systemd has a file for (a declared container's); the job's result."""
        try:
            return self.run_job(messages.start_unit(unit), timeout)
        except BusError as e:
            if e.name != NO_SUCH_UNIT:
                raise
        raise ConmanError(
            f"systemd has no unit {unit}",
            hint="is its definition still there? run `systemctl daemon-reload`",
        )

    def freeze(self, unit: str, freeze: bool = True) -> None:
        """systemd's freezer (cgroup v2 only): BusError where the unit cannot be frozen."""
        self.call(messages.freeze_unit(unit) if freeze else messages.thaw_unit(unit))

    def set_properties(self, unit: str, properties: list[Property]) -> None:
        self.call(messages.set_unit_properties(unit, properties))

    def stop(self, unit: str, timeout: float = CALL_TIMEOUT) -> str:
        return self.run_job(messages.stop_unit(unit), timeout)

    def stop_no_wait(self, unit: str) -> None:
        self.call(messages.stop_unit(unit))

    def restart_no_wait(self, unit: str) -> None:
        self.call(messages.restart_unit(unit))

    def kill(self, unit: str, whom: str, signal: int) -> None:
        for attempt in range(KILL_ROUNDS):
            try:
                self.call(messages.kill_unit(unit, whom, signal))
                return
            except BusError as e:
                # systemd 252 fails with EIO on a short read of cgroup.procs while thousands of
                # the unit's processes die; the next round signals those still there.
                if e.name not in _EIO or attempt == KILL_ROUNDS - 1:
                    raise

    def reset_failed(self, unit: str) -> None:
        try:
            self.call(messages.reset_failed_unit(unit))
        except BusError as e:
            if e.name != NO_SUCH_UNIT:
                raise

    # -- state

    def version(self) -> str:
        (version,) = self.call(messages.manager_version())
        return str(version[1])

    def shutting_down(self) -> bool:
        (state,) = self.call(messages.system_state())
        return str(state[1]) == "stopping"

    def units(self, *patterns: str) -> dict[str, UnitState]:
        """The loaded units matching any of the patterns, from one ListUnitsByPatterns call."""
        (rows,) = self.call(messages.list_units_by_patterns([], list(patterns)))
        return {str(r[0]): state_from_row(r) for r in rows if r[2] == "loaded"}

    def unit_state(self, unit: str) -> UnitState:
        """What systemd knows of one unit, service properties included (UnitState() when it is
        not loaded). A watch on the unit takes it in too: it then knows its state."""
        (rows,) = self.call(messages.list_units_by_names([unit]))
        row = next((r for r in rows if r[2] == "loaded"), None)
        state = UnitState() if row is None else self.with_service(unit, state_from_row(row))
        watch = self._watches.get(messages.unit_path(unit))
        if watch is not None:
            watch.refresh(state)
        return state

    def with_service(self, unit: str, state: UnitState) -> UnitState:
        """state completed by the unit's Service properties (main pid, restarts, status, exit)."""
        (props,) = self.call(messages.get_all_properties(messages.unit_path(unit), messages.SERVICE_IFACE))
        return state.updated(props)

    def service_properties(self, unit: str) -> dict[str, Any]:
        """The unit's Service properties by name (accounting among them), values without signatures."""
        (props,) = self.call(messages.get_all_properties(messages.unit_path(unit), messages.SERVICE_IFACE))
        return {name: value[1] for name, value in props.items()}

    def restarts(self, unit: str) -> int:
        path = messages.unit_path(unit)
        (value,) = self.call(messages.get_property(path, messages.SERVICE_IFACE, "NRestarts"))
        return int(value[1])

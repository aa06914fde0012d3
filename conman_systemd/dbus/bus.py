"""The connection to the system bus: timeouts, debug logging, errors a user can act on."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from jeepney import DBusErrorResponse, HeaderFields, MatchRule, Message, MessageType
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from conman_systemd.dbus import messages
from conman_systemd.errors import ConmanError
from conman_systemd.log import debug

SYSTEM_BUS = "/run/dbus/system_bus_socket"
CALL_TIMEOUT = 30.0
# JobRemoved's result strings (org.freedesktop.systemd1(5)); only "done" means success.
JOB_DONE = "done"


class BusError(ConmanError):
    """A D-Bus error reply; .name is the D-Bus error name (org.freedesktop.systemd1.NoSuchUnit...)."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(text or name)
        self.name = name


def _unreachable(error: Exception) -> ConmanError:
    if os.geteuid() != 0:
        return ConmanError("conman must run as root to manage system containers", hint="run it with sudo")
    address = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={SYSTEM_BUS}")
    why = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return ConmanError(
        f"systemd is not reachable on the system bus ({address}: {why})",
        hint="is systemd PID 1 here? `conman sandbox -- CMD` boots one for tests and demos",
    )


class Bus:
    def __init__(self) -> None:
        try:
            self.conn: DBusConnection = open_dbus_connection(bus="SYSTEM")
        except (OSError, ValueError) as e:
            raise _unreachable(e) from None
        self._subscribed = False

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Bus:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def call(self, msg: Message, timeout: float = CALL_TIMEOUT) -> tuple[Any, ...]:
        debug(f"dbus: {msg.header.fields.get(_MEMBER)}{_brief(msg.body)}")
        try:
            reply = self.conn.send_and_get_reply(msg, timeout=timeout)
        except TimeoutError:
            raise ConmanError(
                f"systemd did not answer {msg.header.fields.get(_MEMBER)} in {timeout:.0f} s"
            ) from None
        except OSError as e:
            raise _unreachable(e) from None
        if reply.header.message_type == MessageType.error:
            err = DBusErrorResponse(reply)
            raise BusError(err.name, str(err.data[0]) if err.data else "")
        return tuple(reply.body)

    def subscribe(self) -> None:
        if not self._subscribed:
            self.call(messages.subscribe())
            self._subscribed = True

    def add_match(self, rule: MatchRule) -> None:
        self.call(message_bus.AddMatch(rule))

    def run_job(self, msg: Message, timeout: float = CALL_TIMEOUT) -> str:
        """Send a method that queues a job; wait for its JobRemoved and return the result string.

        The match is in place before the call, so a JobRemoved that comes before the reply is
        not missed (go-systemd's startJob does the same).
        """
        rule = messages.job_removed_rule()
        self.add_match(rule)
        self.subscribe()
        with self.conn.filter(rule, bufsize=1000) as queue:
            (job,) = self.call(msg, timeout)
            return self._wait_job(queue, job, timeout)

    def _wait_job(self, queue: Any, job: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            # recv_until_filtered hands back the message it took off the queue.
            msg = queue.popleft() if queue else self._recv(queue, deadline, job)
            _id, path, _unit, result = msg.body
            if path == job:
                debug(f"dbus: job {job} result={result}")
                return str(result)

    def _recv(self, queue: Any, deadline: float, job: str) -> Message:
        try:
            return self.conn.recv_until_filtered(queue, timeout=max(deadline - time.monotonic(), 0.001))
        except TimeoutError:
            raise ConmanError(f"systemd job {job} did not finish in time") from None

    def wait_signal(self, rule: MatchRule, until: Callable[[], bool], poll: float) -> None:
        """Wait until until() holds: checked when a signal matching rule arrives, and every poll s."""
        self.add_match(rule)
        with self.conn.filter(rule, bufsize=100) as queue:
            while not until():
                try:
                    self.conn.recv_until_filtered(queue, timeout=poll)
                except TimeoutError:
                    pass
                queue.clear()


_MEMBER = HeaderFields.member


def _brief(body: tuple[Any, ...]) -> str:
    text = repr(body)
    return text if len(text) < 300 else text[:300] + "...)"

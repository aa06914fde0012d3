"""A blocking D-Bus connection over a unix socket: SASL EXTERNAL, Hello, calls and signals.

Stdlib only, and cheap to import: _socket rather than socket, which imports enum.
"""

from __future__ import annotations

import _socket
import errno
import os
import select
import time

from conman_systemd.dbus.wire import ERROR, METHOD_RETURN, SIGNAL, Message, Parser, encode, method_call

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_CHUNK = 65536
_BUS_DAEMON = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")


class DBusError(Exception):
    """An error reply: .name is the D-Bus error name, .text its first string argument (or "")."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}" if text else name)
        self.name = name
        self.text = text


class Connection:
    """A connection to a bus daemon, or (no Hello) straight to a peer such as systemd's private socket.

    Not thread-safe. Signals read while waiting for a reply are queued for receive_signal(): a
    caller that polls fileno() should first drain receive_signal(0), as queued signals no longer
    make the socket readable. After a WireError or ConnectionError the stream is lost: close it.
    """

    def __init__(self, sock: _socket.socket) -> None:
        self._sock = sock
        self._poll = select.poll()
        self._poll.register(sock.fileno(), select.POLLIN)
        self._parser = Parser()
        self._signals: list[Message] = []  # a few at a time: no deque (collections: ~0.7 ms to import)
        self._serial = 0
        self.unique_name: str | None = None

    @classmethod
    def connect(cls, address: str, *, hello: bool, timeout: float = 5.0) -> Connection:
        """Connect, authenticate and, with hello, join the bus.

        OSError when the socket cannot be reached, when authentication fails (EPROTO) or takes
        longer than timeout (TimeoutError); ValueError for an address that is not unix:path= or
        unix:abstract=.
        """
        deadline = time.monotonic() + timeout
        where = _unix_address(address)
        conn = cls(_socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC))
        try:
            # Bounds connect() and a send that finds the socket full; receiving waits in poll().
            conn._sock.settimeout(timeout)
            conn._sock.connect(where)
            conn._authenticate(deadline)
            if hello:
                (name,) = conn.call(method_call(*_BUS_DAEMON, "Hello"), deadline - time.monotonic())
                conn.unique_name = str(name)
        except BaseException:
            conn.close()
            raise
        return conn

    def _authenticate(self, deadline: float) -> None:
        # EXTERNAL: the server reads our uid off the socket, and we claim it, in hex-encoded decimal.
        # BEGIN goes with AUTH, as sd-bus clients send it: systemd 252's private socket, reading
        # BEGIN together with the first message in one go, leaves that message unanswered.
        uid = str(os.geteuid()).encode().hex()
        self._sock.sendall(f"\0AUTH EXTERNAL {uid}\r\nBEGIN\r\n".encode())
        reply = b""
        while not reply.endswith(b"\r\n"):  # one line; after BEGIN the server is in message mode
            data = self._recv(deadline)
            if data is None:
                raise TimeoutError("the D-Bus server did not answer authentication in time")
            reply += data
        if not reply.startswith(b"OK ") or reply.count(b"\n") != 1:
            text = reply.decode(errors="replace").strip()
            raise OSError(errno.EPROTO, f"D-Bus authentication failed: {text}")

    def send(self, message: Message) -> int:
        """Send without waiting for a reply; return the serial the message went with."""
        self._serial += 1
        self._sock.sendall(encode(message, self._serial))
        return self._serial

    def call(self, message: Message, timeout: float) -> tuple[Any, ...]:
        """The body of the reply; DBusError for an error reply, TimeoutError after timeout seconds."""
        return self.call_all([message], timeout)[0]

    def call_all(self, messages: list[Message], timeout: float) -> list[tuple[Any, ...]]:
        """Several calls in one round trip: all are sent, then every reply awaited (a peer answers
        one connection's calls in order). The bodies, in order; the first error reply raises."""
        serials = [self.send(message) for message in messages]
        replies: dict[int, Message] = {}
        deadline = time.monotonic() + timeout
        while len(replies) < len(serials):
            received = self._read(deadline)
            if received is None:
                members = ", ".join(str(m.member) for m in messages)
                raise TimeoutError(f"no D-Bus reply to {members} in {timeout:g} s")
            for reply in received:
                if reply.reply_serial in serials and reply.kind in (METHOD_RETURN, ERROR):
                    replies[reply.reply_serial] = reply
        return [_body(replies[serial]) for serial in serials]

    def receive_signal(self, timeout: float | None) -> Message | None:
        """The next signal, or None when none came in timeout seconds (None: wait for ever)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._signals:
            if self._read(deadline) is None:
                return None
        return self._signals.pop(0)

    def _read(self, deadline: float | None) -> list[Message] | None:
        """The messages that came by deadline, signals aside (they are queued); None if none came."""
        data = self._recv(deadline)
        if data is None:
            return None
        messages = self._parser.feed(data)
        self._signals.extend(message for message in messages if message.kind == SIGNAL)
        return [message for message in messages if message.kind != SIGNAL]

    def _recv(self, deadline: float | None) -> bytes | None:
        # poll() and recv() retry by themselves on EINTR (PEP 475), poll() with the time left.
        wait = None if deadline is None else max(deadline - time.monotonic(), 0.0) * 1000
        if not self._poll.poll(wait):
            return None
        data = self._sock.recv(_CHUNK)
        if not data:
            raise ConnectionError("the D-Bus peer closed the connection")
        return data

    def fileno(self) -> int:
        return self._sock.fileno()

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _body(reply: Message) -> tuple[Any, ...]:
    if reply.kind == ERROR:
        text = reply.body[0] if reply.body and isinstance(reply.body[0], str) else ""
        raise DBusError(reply.error_name or "", text)
    return reply.body


def _unix_address(address: str) -> bytes:
    """The socket address of the first unix: entry in a D-Bus address list ("a;b")."""
    for entry in address.split(";"):
        transport, _, params = entry.partition(":")
        if transport != "unix":
            continue
        keys = {}
        for param in params.split(","):
            key, _, value = param.partition("=")
            keys[key] = _unescape(value)
        if "path" in keys:
            return keys["path"]
        if "abstract" in keys:
            return b"\0" + keys["abstract"]
        raise ValueError(f"cannot connect to D-Bus address {entry!r}: it has no path= or abstract=")
    raise ValueError(f"no unix: D-Bus address in {address!r}")


def _unescape(value: str) -> bytes:
    # Values may %-escape any byte; fromhex() raises ValueError for a bad escape.
    head, *escaped = value.split("%")
    out = bytearray(head.encode())
    for part in escaped:
        out += bytes.fromhex(part[:2]) + part[2:].encode()
    return bytes(out)

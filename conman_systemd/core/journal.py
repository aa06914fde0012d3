"""A container's output, read in-process through libsystemd's sd-journal (microseconds, where
spawning journalctl costs milliseconds); libsystemd is loaded on first use, so importing is cheap.

The container's stdout and stderr are two journald streams of its unit (priority 6 and 3); the
shim's own words use the native protocol, so `_TRANSPORT=stdout` selects the container's output.
"""

from __future__ import annotations

import _socket
import ctypes
import errno
import os
import time

from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

PRIORITY_ERR = 3
SD_JOURNAL_LOCAL_ONLY = 1
VARLINK_SOCKET = "/run/systemd/journal/io.systemd.journal"
_SYNCHRONIZE = b'{"method":"io.systemd.Journal.Synchronize","parameters":{}}\0'

_vp, _int, _u64, _size, _str, _P = (
    ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64, ctypes.c_size_t, ctypes.c_char_p, ctypes.POINTER
)  # fmt: skip
# Each returns an int, a negative errno on failure; all but sd_journal_open take the handle first.
_ARGTYPES: dict[str, list[type]] = {
    "sd_journal_open": [_P(_vp), _int],
    "sd_journal_close": [_vp],
    "sd_journal_add_match": [_vp, _str, _size],
    "sd_journal_set_data_threshold": [_vp, _size],
    "sd_journal_seek_head": [_vp],
    "sd_journal_seek_tail": [_vp],
    "sd_journal_seek_realtime_usec": [_vp, _u64],
    "sd_journal_seek_cursor": [_vp, _str],
    "sd_journal_test_cursor": [_vp, _str],
    "sd_journal_next": [_vp],
    "sd_journal_previous_skip": [_vp, _u64],
    "sd_journal_get_data": [_vp, _str, _P(_vp), _P(_size)],
    "sd_journal_get_realtime_usec": [_vp, _P(_u64)],
    "sd_journal_get_cursor": [_vp, _P(_vp)],
}
_libs: list[ctypes.CDLL] = []  # [libsystemd, libc] once loaded


def _load() -> tuple[ctypes.CDLL, ctypes.CDLL]:
    if not _libs:
        try:
            lib = ctypes.CDLL("libsystemd.so.0", use_errno=True)
        except OSError as e:
            raise ConmanError(f"cannot read the journal: {e}", hint="install libsystemd0") from None
        for name, argtypes in _ARGTYPES.items():
            function = getattr(lib, name)
            function.restype, function.argtypes = _int, argtypes
        lib.sd_journal_close.restype = None
        # Cursor strings are malloc()ed by libsystemd: free them with the process's own allocator.
        libc = ctypes.CDLL(None)
        libc.free.restype, libc.free.argtypes = None, [_vp]
        _libs[:] = [lib, libc]
    return _libs[0], _libs[1]


def _failed(name: str, result: int) -> ConmanError:
    return ConmanError(f"cannot read the journal: {name}: {os.strerror(-result)}")


class Entry:
    """One line of container output."""

    __slots__ = ("message", "stderr", "realtime_usec", "cursor", "line_break")

    def __init__(
        self, message: bytes, stderr: bool, realtime_usec: int, cursor: str, line_break: str | None = None
    ) -> None:
        self.message = message
        self.stderr = stderr
        self.realtime_usec = realtime_usec
        self.cursor = cursor
        self.line_break = line_break  # why journald cut the line, when not at a newline

    def timestamp(self) -> str:
        seconds, usec = divmod(self.realtime_usec, 1_000_000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{usec:06d}000Z"


class Repeats:
    """Entries already read, by their place in journald's sequence (a cursor's s= and i=).

    An entry at or before the newest one read of its sequence is a repeat: once in ~10^5 lines, on
    a journal that journald rotated during the read, sd-journal (v252) returned an entry twice.
    """

    def __init__(self) -> None:
        self.newest: dict[str, int] = {}

    def seen(self, cursor: str) -> bool:
        fields = dict(part.split("=", 1) for part in cursor.split(";") if "=" in part)
        sequence, number = fields.get("s"), fields.get("i")
        if sequence is None or number is None:
            return False
        place = int(number, 16)
        if place <= self.newest.get(sequence, -1):
            return True
        self.newest[sequence] = place
        return False


class Reader:
    """The container output of one unit: _SYSTEMD_UNIT=<unit> AND _TRANSPORT=stdout, local journal only.

    Reading starts at the head. The seek methods position the reader; next() then returns the
    entries after that position, and goes on returning new ones as journald appends them to the
    files it had open. A reader that follows output for long opens the journal afresh now and then
    (core/logs.py's Tail): it sees rotated files without sd-journal's inotify watches, whose
    instance costs ~8-15 ms to close.
    """

    def __init__(self, unit: str, only: str = "_TRANSPORT=stdout") -> None:
        """only: the second match; the default keeps the container's output (streams) alone."""
        self._lib, self._libc = _load()
        self._handle = _vp()
        if (r := self._lib.sd_journal_open(ctypes.byref(self._handle), SD_JOURNAL_LOCAL_ONLY)) < 0:
            raise _failed("sd_journal_open", r)
        # Seeking to the last lines leaves sd-journal on an entry that next() must still return.
        self._on_unread = False
        self._repeats = Repeats()
        try:
            for match in (f"_SYSTEMD_UNIT={unit}".encode(), only.encode()):
                self._call("sd_journal_add_match", match, len(match))  # different fields: ANDed
            # Fields longer than the threshold (64 KiB by default) may come back cut.
            self._call("sd_journal_set_data_threshold", 0)
        except BaseException:
            self.close()
            raise

    def _call(self, name: str, *args: object) -> int:
        result: int = getattr(self._lib, name)(self._handle, *args)
        if result < 0:
            raise _failed(name, result)
        return result

    def seek_head(self) -> None:
        self._repeats = Repeats()
        self._call("sd_journal_seek_head")
        self._on_unread = False

    def seek_tail_lines(self, n: int) -> None:
        """Position so that the next n entries read are the unit's last n (n=0: only new ones)."""
        self._repeats = Repeats()
        if n <= 0:
            self.last_cursor()
        else:
            self._on_unread = self._back_from_tail(n)

    def seek_after_cursor(self, cursor: str) -> None:
        """Position so that the next entry read is the first one after cursor's."""
        self._repeats = Repeats()
        self._repeats.seen(cursor)  # that entry and those before it are read
        self._call("sd_journal_seek_cursor", cursor.encode())
        # Seeking to a cursor lands next() on that entry, or on the next one when it is gone.
        self._on_unread = self._call("sd_journal_next") > 0
        if self._on_unread and self._call("sd_journal_test_cursor", cursor.encode()) > 0:
            self._on_unread = False

    def seek_realtime(self, usec: int) -> None:
        self._repeats = Repeats()
        self._call("sd_journal_seek_realtime_usec", usec)
        self._on_unread = False

    def next(self) -> Entry | None:
        """The next entry, or None at the end (for now: journald may append more)."""
        while True:
            if self._on_unread:
                self._on_unread = False
            elif self._call("sd_journal_next") == 0:
                return None
            cursor = self._cursor()
            if not self._repeats.seen(cursor):
                break
        usec = _u64()
        self._call("sd_journal_get_realtime_usec", ctypes.byref(usec))
        line_break = self._field(b"_LINE_BREAK")
        return Entry(
            self._field(b"MESSAGE") or b"",
            self._field(b"PRIORITY") == b"%d" % PRIORITY_ERR,
            usec.value,
            cursor,
            None if line_break is None else line_break.decode(errors="replace"),
        )

    def entries(self, until_usec: int | None = None) -> Iterator[Entry]:
        """next() until the end; an entry later than until_usec stops it and stays to be read."""
        while (entry := self.next()) is not None:
            if until_usec is not None and entry.realtime_usec > until_usec:
                self._on_unread = True
                return
            yield entry

    def last_cursor(self) -> str | None:
        """The cursor of the unit's newest entry (None: no output yet).

        Moves the reader to the end: next() returns only what comes after that entry.
        """
        self._on_unread = False
        return self._cursor() if self._back_from_tail(1) else None

    def _back_from_tail(self, n: int) -> bool:
        """Step back from the end onto the n-th newest entry (or the oldest); False when there is none.

        With none, the reader goes to the head: left at the tail, sd-journal's next() would jump
        to the newest entry, skipping the others journald appends in the meantime (v252).
        """
        self._call("sd_journal_seek_tail")
        if self._call("sd_journal_previous_skip", n) > 0:
            return True
        self._call("sd_journal_seek_head")
        return False

    def close(self) -> None:
        if self._handle:
            self._lib.sd_journal_close(self._handle)
            self._handle = _vp()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _field(self, name: bytes) -> bytes | None:
        data, length = _vp(), ctypes.c_size_t()
        result = self._lib.sd_journal_get_data(self._handle, name, ctypes.byref(data), ctypes.byref(length))
        if result == -errno.ENOENT:
            return None
        if result < 0:
            raise _failed("sd_journal_get_data", result)
        # data is "NAME=value", valid only until the reader moves: copy it out now.
        return ctypes.string_at(data, length.value)[len(name) + 1 :]

    def _cursor(self) -> str:
        pointer = _vp()
        self._call("sd_journal_get_cursor", ctypes.byref(pointer))
        try:
            return ctypes.string_at(pointer).decode()
        finally:
            self._libc.free(pointer)


def synchronize(timeout: float = 5.0) -> bool:
    """Make journald write out everything it received so far, as `journalctl --sync` does.

    False when there is no journald to ask (its varlink socket is missing or refuses connections).
    """
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    reply = b""
    try:
        sock.settimeout(timeout)
        sock.connect(VARLINK_SOCKET)
        sock.sendall(_SYNCHRONIZE)
        while not reply.endswith(b"\0") and (chunk := sock.recv(4096)):
            reply += chunk
    except (FileNotFoundError, ConnectionRefusedError):
        return False
    except TimeoutError:
        raise ConmanError(f"journald did not synchronize the journal within {timeout:g}s") from None
    except OSError as e:
        raise ConmanError(f"cannot ask journald to synchronize the journal: {e.strerror}") from None
    finally:
        sock.close()
    if not reply.endswith(b"\0"):
        raise ConmanError("journald closed the connection before it synchronized the journal")
    if b'"error"' in reply:
        import json  # only a failure needs more than a glance at the reply

        error = json.loads(reply[:-1]).get("error")
        raise ConmanError(f"journald failed to synchronize the journal: {error}")
    return True


_UNIT_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "μs": 10**3, "ms": 10**6,
            "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}  # fmt: skip


def parse_time(text: str, now: float) -> int:
    """docker's --since/--until forms, as microseconds since the epoch: a Unix timestamp
    (1700000000.25), an ISO 8601 time or date (UTC without a zone), or a Go duration back from now;
    and journalctl's words, which conman took when it asked journalctl: now, today, yesterday,
    tomorrow (local midnights)."""
    if text in _DAYS:
        midnight = time.mktime(time.localtime(now)[:3] + (0, 0, 0, 0, 0, -1))
        return round((now if text == "now" else midnight + _DAYS[text] * 86400) * 10**6)
    usec = _scaled(text, 10**6)
    if usec is None:
        usec = _iso_usec(text)
    if usec is None and (ns := _duration_ns(text)) is not None:
        usec = round(now * 10**6) - ns // 1000
    if usec is None:
        raise ConmanError(
            f'invalid time "{text}": use a duration (10m, 1h30m), '
            "an RFC 3339 time (2026-11-28T10:00:00Z) or a Unix timestamp"
        )
    return usec


_DAYS = {"now": 0, "today": 0, "yesterday": -1, "tomorrow": 1}


def _scaled(number: str, scale: int) -> int | None:
    """A decimal number ("12", "1.5", ".5") times scale, exactly; None when it is not one."""
    whole, _, fraction = number.partition(".")
    if not (digits := whole + fraction).isascii() or not digits.isdigit():  # isdigit() alone takes "²"
        return None
    divisor: int = 10 ** len(fraction)
    return int(whole or "0") * scale + int(fraction or "0") * scale // divisor


def _duration_ns(text: str) -> int | None:
    """Go's time.ParseDuration: [+-] then number-and-unit pairs (1h30m, 1.5h, 100ms)."""
    sign = -1 if text.startswith("-") else 1
    rest = text[1:] if text[:1] in ("+", "-") else text
    if not rest:
        return None
    total = 0
    while rest:
        after = rest.lstrip("0123456789.")
        unit = next((u for u in _UNIT_NS if after.startswith(u)), "")  # "ms" is tried before "m"
        value = _scaled(rest[: len(rest) - len(after)], _UNIT_NS[unit]) if unit else None
        if value is None:
            return None
        total += value
        rest = after[len(unit) :]
    return sign * total


def _iso_usec(text: str) -> int | None:
    from datetime import UTC, datetime, timedelta  # only --since and --until pay for it

    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)

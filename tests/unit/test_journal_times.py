"""The journal reader's pure parts: --since/--until times, timestamps, and what it does without journald."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conman_systemd.core import journal
from conman_systemd.core.journal import Entry, parse_time, synchronize
from conman_systemd.errors import ConmanError

TOP = Path(__file__).resolve().parent.parent.parent
NOW = 1_800_000_000.25  # 2027-01-15T08:00:00.25Z
NOW_USEC = 1_800_000_000_250_000
T = 1_795_860_000_000_000  # 2026-11-28T10:00:00Z
MINUTE = 60_000_000


@pytest.mark.parametrize(
    ("text", "usec"),
    [
        ("10m", NOW_USEC - 10 * MINUTE),
        ("45s", NOW_USEC - 45_000_000),
        ("1h30m", NOW_USEC - 90 * MINUTE),
        ("1.5h", NOW_USEC - 90 * MINUTE),
        ("2h3m4s", NOW_USEC - (2 * 3600 + 3 * 60 + 4) * 1_000_000),
        ("100ms", NOW_USEC - 100_000),
        ("1500us", NOW_USEC - 1_500),
        ("2µs", NOW_USEC - 2),
        ("3000ns", NOW_USEC - 3),
        (".5s", NOW_USEC - 500_000),
        ("+1m", NOW_USEC - MINUTE),
        ("-1m", NOW_USEC + MINUTE),  # Go's negative durations: after now
        ("2026-11-28T10:00:00Z", T),
        ("2026-11-28T10:00:00.5Z", T + 500_000),
        ("2026-11-28T10:00:00.123456789Z", T + 123_456),
        ("2026-11-28T10:00:00+01:00", T - 60 * MINUTE),
        ("2026-11-28T10:00:00-00:30", T + 30 * MINUTE),
        ("2026-11-28T10:00:00", T),  # no zone: UTC
        ("2026-11-28T10:00", T),
        ("2026-11-28", T - 600 * MINUTE),
        ("2024-02-29", 1_709_164_800_000_000),
        ("1700000000", 1_700_000_000_000_000),
        ("1700000000.25", 1_700_000_000_250_000),
        ("0", 0),  # as in docker: the epoch, not a zero duration
        ("10", 10_000_000),  # a number alone is a Unix timestamp, not a duration without a unit
    ],
)
def test_parse_time(text: str, usec: int) -> None:
    assert parse_time(text, NOW) == usec


@pytest.mark.parametrize(
    "text",
    ["", "h", "10x", "1h30", "1..5s", "1e5", "²", "+", "-", "2023-02-29", "2026-13-01",
     "2026-11-28T24:00:00Z", "2026-11-28T10:00:00+25:00", "last week", "10 m", "1700000000.2.5"],
)  # fmt: skip
def test_bad_times(text: str) -> None:
    message = (
        f'invalid time "{text}": use a duration (10m, 1h30m), '
        "an RFC 3339 time (2026-11-28T10:00:00Z) or a Unix timestamp"
    )
    with pytest.raises(ConmanError) as caught:
        parse_time(text, NOW)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("usec", "text"),
    [
        (0, "1970-01-01T00:00:00.000000000Z"),
        (T + 123_456, "2026-11-28T10:00:00.123456000Z"),
        (T + 1, "2026-11-28T10:00:00.000001000Z"),
        (1_709_251_199_999_999, "2024-02-29T23:59:59.999999000Z"),
    ],
)
def test_entry_timestamp(usec: int, text: str) -> None:
    assert Entry(b"x", False, usec, "s=1").timestamp() == text


def test_importing_the_reader_stays_lean() -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(TOP)!r}); import conman_systemd.core.journal; "
        "print(sorted(m for m in ('typing', 'enum', 'socket', 're', 'json', 'datetime', 'dataclasses', "
        "'subprocess', 'ctypes.util') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout == "[]\n"


def test_a_missing_libsystemd_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_library(name: str | None, **kw: object) -> None:
        raise OSError(f"{name}: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(journal, "_libs", [])
    monkeypatch.setattr(ctypes, "CDLL", no_library)
    with pytest.raises(ConmanError) as caught:
        journal.Reader("conman-x.service")
    assert str(caught.value) == (
        "cannot read the journal: libsystemd.so.0: cannot open shared object file: No such file or directory"
    )
    assert caught.value.hint == "install libsystemd0"


def test_synchronize_without_journald(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "VARLINK_SOCKET", "/nonexistent/io.systemd.journal")
    assert synchronize() is False
    monkeypatch.setattr(journal, "VARLINK_SOCKET", f"\0conman-test-nobody-{os.getpid()}")  # refused
    assert synchronize() is False


@pytest.fixture
def fake_journald(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """An abstract varlink socket standing in for journald: answers each request with replies.pop(0).

    A reply without its closing NUL is all the client gets until it hangs up.
    """
    address = f"\0conman-test-journald-{os.getpid()}"
    replies: list[bytes] = []
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    server.listen()
    requests: list[bytes] = []

    def serve() -> None:
        while True:
            conn, _ = server.accept()
            with conn:
                if (reply := replies.pop(0)) == b"quit":
                    return
                requests.append(conn.recv(4096))
                conn.sendall(reply)
                if reply and not reply.endswith(b"\0"):
                    conn.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    monkeypatch.setattr(journal, "VARLINK_SOCKET", address)
    yield replies
    replies.append(b"quit")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as wake:
        wake.connect(address)
    thread.join()
    server.close()
    assert all(r == b'{"method":"io.systemd.Journal.Synchronize","parameters":{}}\0' for r in requests)


def test_synchronize_replies(fake_journald: list[bytes]) -> None:
    fake_journald += [b'{"parameters":{}}\0', b"{}\0"]
    assert synchronize() is True
    assert synchronize() is True
    fake_journald.append(b'{"error":"org.varlink.service.MethodNotFound","parameters":{}}\0')
    with pytest.raises(ConmanError, match="^journald failed to synchronize the journal: org.varlink"):
        synchronize()
    fake_journald.append(b"")  # hangs up without a reply
    with pytest.raises(ConmanError, match="^journald closed the connection before it synchronized"):
        synchronize()


def test_synchronize_times_out(fake_journald: list[bytes]) -> None:
    fake_journald.append(b'{"param')  # half a reply, then silence
    with pytest.raises(ConmanError, match=r"^journald did not synchronize the journal within 0.2s$"):
        synchronize(timeout=0.2)


def test_journalctls_words_still_work() -> None:
    """conman once handed --since to journalctl: its words keep working (local midnights)."""
    import time as clock

    now = 1_795_950_000.5
    midnight = clock.mktime((*clock.localtime(now)[:3], 0, 0, 0, 0, 0, -1))
    assert parse_time("now", now) == round(now * 1e6)
    assert parse_time("today", now) == round(midnight * 1e6)
    assert parse_time("yesterday", now) == round((midnight - 86400) * 1e6)
    assert parse_time("tomorrow", now) == round((midnight + 86400) * 1e6)


def test_an_entry_read_again_is_a_repeat() -> None:
    def cursor(sequence: str, number: int) -> str:
        return f"s={sequence};i={number:x};b=b1;m=1f;t=5f;x=77"

    repeats = journal.Repeats()
    assert [repeats.seen(cursor("aa", n)) for n in (9, 10, 11, 10, 11, 12)] == [
        False, False, False, True, True, False
    ]  # fmt: skip
    # Another sequence (journald restarted with a new one) counts on its own.
    assert not repeats.seen(cursor("bb", 1)) and repeats.seen(cursor("bb", 1))
    assert not repeats.seen("not a cursor") and not repeats.seen("not a cursor")

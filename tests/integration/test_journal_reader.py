"""The in-process journal reader against a real journald: each test is a small script run inside the
sandbox that writes through units started with systemd-run, reads with Reader and prints repr()."""

from __future__ import annotations

import ast
import sys
import time
from typing import Any

import pytest

from tests.conftest import System

pytestmark = pytest.mark.systemd

PRELUDE = r"""
import os, secrets, select, subprocess, sys, time
from conman_systemd.core.journal import Reader, synchronize

UNIT = f"journal-test-{secrets.token_hex(4)}"
SERVICE = UNIT + ".service"

def unit_sh(script, wait=True):
    argv = ["systemd-run", "--wait", "--quiet", "--unit", UNIT, "sh", "-c", script]
    return subprocess.run(argv, check=True) if wait else subprocess.Popen(argv)

def read(reader):
    return [(e.message, e.line_break) for e in reader.entries()]

def everything():
    synchronize()
    with Reader(SERVICE) as reader:
        return read(reader)
"""

# conman's shim writes a container's stdout and stderr as two journald streams with priorities 6 and 3.
# A unit's own stdout and stderr share one stream at its SyslogLevel, so this writer opens them itself,
# from inside the unit (journald takes _SYSTEMD_UNIT from the writer's cgroup).
STREAMS = r"""
import socket, sys

def stream(priority):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect("/run/systemd/journal/stdout")
    sock.shutdown(socket.SHUT_RD)
    sock.sendall(f"test\n{sys.argv[1]}\n{priority}\n0\n0\n0\n0\n".encode())
    return sock

out, err = stream(6), stream(3)
for i in range(5):
    out.sendall(f"out {i}\n".encode())
    err.sendall(f"err {i}\n".encode())
"""


def inside(system: System, script: str) -> Any:
    """Run PRELUDE + script in the sandbox; the literal it prints last."""
    proc = system.run([sys.executable, "-c", PRELUDE + script], timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return ast.literal_eval(proc.stdout.splitlines()[-1])


def test_stdout_and_stderr_are_told_apart_each_in_order(system: System) -> None:
    script = f"""
subprocess.run(["systemd-run", "--wait", "--quiet", "--unit", UNIT, sys.executable, "-c", {STREAMS!r}, SERVICE],
               check=True)
synchronize()
with Reader(SERVICE) as reader:
    print([(e.message, e.stderr) for e in reader.entries()])
"""
    got = inside(system, script)
    assert len(got) == 10
    assert [m for m, stderr in got if not stderr] == [f"out {i}".encode() for i in range(5)]
    assert [m for m, stderr in got if stderr] == [f"err {i}".encode() for i in range(5)]


def test_messages_are_bytes_and_line_breaks_are_reported(system: System) -> None:
    # journald ends a line at a NUL byte (_LINE_BREAK=nul): a NUL can never be inside a message.
    got = inside(
        system, r"""unit_sh(r"printf 'a\000b\377c\n\001\n'; printf 'no newline'"); print(everything())"""
    )
    assert got == [(b"a", "nul"), (b"b\xffc", None), (b"\x01", None), (b"no newline", "eof")]


def test_seeking(system: System) -> None:
    script = """
unit_sh("for i in 1 2 3 4 5; do echo $i; done")
synchronize()
with Reader(SERVICE) as reader:
    entries = [(e.message, e.realtime_usec) for e in reader.entries()]
    reader.seek_tail_lines(2); last2 = read(reader)
    reader.seek_tail_lines(0); last0 = read(reader)
    reader.seek_tail_lines(10); last10 = read(reader)
    reader.seek_head(); head = read(reader)
    reader.seek_head(); until = [e.message for e in reader.entries(until_usec=entries[2][1])]
    following = reader.next()
    reader.seek_realtime(entries[3][1]); since = [e.message for e in reader.entries()]
print(dict(entries=entries, last2=last2, last0=last0, last10=last10, head=head, until=until,
           following=following and following.message, since=since))
"""
    got = inside(system, script)
    entries = got["entries"]
    lines = [(str(i).encode(), None) for i in range(1, 6)]
    assert [m for m, _ in entries] == [m for m, _ in lines]
    assert (got["last2"], got["last0"], got["last10"], got["head"]) == (lines[3:], [], lines, lines)
    # Entries read in one go share a timestamp: until and since cut by time, not by position.
    until = [m for m, usec in entries if usec <= entries[2][1]]
    assert got["until"] == until
    assert got["following"] == (entries[len(until)][0] if len(until) < 5 else None)
    assert got["since"] == [m for m, usec in entries if usec >= entries[3][1]]


def test_seek_after_cursor_gives_only_newer_entries(system: System) -> None:
    script = """
unit_sh("echo a; echo b")
synchronize()
with Reader(SERVICE) as reader:
    first = list(reader.entries())
    mark = reader.last_cursor()
    after_mark = read(reader)
unit_sh("echo c; echo d")  # the same unit again, as `conman start -a` does
synchronize()
with Reader(SERVICE) as reader:
    reader.seek_after_cursor(mark); after_b = [e.message for e in reader.entries()]
    reader.seek_after_cursor(first[0].cursor); after_a = [e.message for e in reader.entries()]
with Reader("journal-test-never-ran.service") as reader:
    never = reader.last_cursor()
print((mark == first[-1].cursor, after_mark, after_b, after_a, never))
"""
    assert inside(system, script) == (True, [], [b"c", b"d"], [b"b", b"c", b"d"], None)


def test_an_open_reader_sees_lines_appended_after_it_opened(system: System) -> None:
    # Both lines are in the journal before the first look: a reader that sd-journal had left at
    # the tail would show only the newest of them.
    script = """
reader = Reader(SERVICE)
assert reader.last_cursor() is None and reader.next() is None
unit_sh("echo one; echo two")
synchronize()
got = [e.message for e in reader.entries()]
unit_sh("echo three")
synchronize()
more = [e.message for e in reader.entries()]
reader.close()
print((got, more))
"""
    assert inside(system, script) == ([b"one", b"two"], [b"three"])


def test_a_tail_prints_each_new_line_once(system: System) -> None:
    script = """
from io import BytesIO
from conman_systemd.core.logs import Printer, Tail
unit_sh("echo old")
synchronize()
out, err = BytesIO(), BytesIO()
tail = Tail(SERVICE, Printer(out=out, err=err))  # from now on
for line in ("new1", "new2"):
    unit_sh(f"echo {line}")
    synchronize()
    tail.read()
tail.read()
print((out.getvalue(), err.getvalue()))
"""
    assert inside(system, script) == (b"new1\nnew2\n", b"")


def test_synchronize_makes_a_line_just_written_readable(system: System) -> None:
    script = """
unit_sh("echo just now")
synced = synchronize()
with Reader(SERVICE) as reader:
    print((synced, read(reader)))
"""
    assert inside(system, script) == (True, [(b"just now", None)])


def test_a_line_longer_than_line_max_arrives_in_pieces(system: System) -> None:
    # One writer (tr) for the whole line: a newline from another process would be a "pid-change".
    script = r"""unit_sh(r"{ head -c 100000 /dev/zero; printf '\n'; } | tr '\0' x"); print(everything())"""
    got = inside(system, script)
    assert [(len(m), why) for m, why in got] == [(49152, "line-max"), (49152, "line-max"), (1696, None)]
    assert b"".join(m for m, _ in got) == b"x" * 100_000


def test_a_message_over_64k_is_not_truncated(system: System) -> None:
    # Only a larger LineMax lets journald store such a line whole; it is restored at once.
    script = r"""
conf = "/run/systemd/journald.conf.d/90-journal-reader-test.conf"
try:
    with open(conf, "w") as f:
        f.write("[Journal]\nLineMax=1M\n")
    subprocess.run(["systemctl", "restart", "systemd-journald"], check=True)
    unit_sh(r"{ head -c 100000 /dev/zero; printf '\n'; } | tr '\0' y")
finally:
    os.remove(conf)
    subprocess.run(["systemctl", "restart", "systemd-journald"], check=True)
print([(len(m), m == b"y" * len(m), why) for m, why in everything()])
"""
    assert inside(system, script) == [(100_000, True, None)]


def test_entry_timestamps_are_now(system: System) -> None:
    script = """
unit_sh("echo tick")
with Reader(SERVICE) as reader:
    synchronize()
    entry = reader.next()
print((entry.timestamp(), entry.realtime_usec, time.time()))
"""
    stamp, usec, now = inside(system, script)
    assert abs(usec / 1e6 - now) < 10 and abs(usec / 1e6 - time.time()) < 60
    assert (
        stamp == time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(usec // 10**6)) + f".{usec % 10**6:06d}000Z"
    )

"""A container's output, read back from the journal (journalctl, through the command gateway).

The container's stdout and stderr are two journald streams of its unit (priority 6 and 3); the
shim's own words use the native protocol, so `_TRANSPORT=stdout` selects the container's output.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from conman_systemd import runner

PRIORITY_ERR = "3"


@dataclass(frozen=True)
class Entry:
    message: bytes
    stderr: bool
    realtime_usec: int
    cursor: str

    def timestamp(self) -> str:
        when = datetime.fromtimestamp(self.realtime_usec / 1e6, UTC)
        return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def parse(line: str) -> Entry | None:
    try:
        data: dict[str, Any] = json.loads(line)
    except ValueError:
        return None
    message = data.get("MESSAGE")
    if isinstance(message, list):  # journalctl's form for non-UTF-8 data
        raw = bytes(message)
    else:
        raw = (message or "").encode()
    return Entry(
        raw,
        data.get("PRIORITY") == PRIORITY_ERR,
        int(data.get("__REALTIME_TIMESTAMP", 0)),
        data.get("__CURSOR", ""),
    )


def journal_argv(
    unit: str,
    *,
    follow: bool = False,
    tail: int | None = None,
    since: str | None = None,
    until: str | None = None,
    after_cursor: str | None = None,
) -> list[str]:
    argv = ["journalctl", "--no-pager", "--quiet", "-o", "json",
            "--output-fields=MESSAGE,PRIORITY", f"_SYSTEMD_UNIT={unit}", "_TRANSPORT=stdout"]  # fmt: skip
    argv.append(f"--lines={tail}" if tail is not None else "--lines=all")
    if follow:
        argv.append("--follow")
    if since:
        argv.append(f"--since={since}")
    if until:
        argv.append(f"--until={until}")
    if after_cursor:
        argv.append(f"--after-cursor={after_cursor}")
    return argv


class Printer:
    """Writes entries to our stdout or stderr, as the container wrote them; remembers the last cursor."""

    def __init__(self, timestamps: bool = False, out: IO[bytes] | None = None, err: IO[bytes] | None = None):
        self.timestamps = timestamps
        self.out = out or sys.stdout.buffer
        self.err = err or sys.stderr.buffer
        self.cursor: str | None = None

    def __call__(self, entry: Entry) -> None:
        stream = self.err if entry.stderr else self.out
        prefix = f"{entry.timestamp()} ".encode() if self.timestamps else b""
        stream.write(prefix + entry.message + b"\n")
        stream.flush()
        self.cursor = entry.cursor or self.cursor


def entries(lines: Iterable[str]) -> Iterable[Entry]:
    for line in lines:
        if (entry := parse(line)) is not None:
            yield entry


def show(unit: str, printer: Printer, **kw: Any) -> None:
    for entry in entries(runner.run(journal_argv(unit, **kw)).stdout.splitlines()):
        printer(entry)


def sync() -> None:
    """Make journald write out everything it received so far (its streams are read first)."""
    runner.run(["journalctl", "--sync"], check=False)


def follow_until(unit: str, printer: Printer, finished: Callable[[], None], **kw: Any) -> None:
    """Print the unit's output as it comes until finished() returns, then the rest of it.

    finished() blocks until the container has exited. Then journald is synced, the follower is
    stopped, and whatever came after the last line printed is printed: nothing lost, nothing twice.
    """
    proc = runner.spawn(journal_argv(unit, follow=True, **kw), stdout=subprocess.PIPE)
    assert proc.stdout is not None
    stdout = proc.stdout

    def pump() -> None:
        for raw in stdout:
            if (entry := parse(raw.decode(errors="replace"))) is not None:
                printer(entry)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        finished()
        sync()
    finally:
        proc.terminate()
        proc.wait()
        reader.join()
        stdout.close()
    rest = {k: v for k, v in kw.items() if k != "after_cursor"}
    show(unit, printer, after_cursor=printer.cursor or kw.get("after_cursor"), **rest)


def last_cursor(unit: str) -> str | None:
    """The cursor of the unit's newest output line, to follow only what comes after it."""
    for entry in entries(runner.run(journal_argv(unit, tail=1)).stdout.splitlines()):
        return entry.cursor
    return None

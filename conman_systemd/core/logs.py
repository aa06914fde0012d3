"""A container's output from the journal, printed as the container wrote it: stdout to stdout,
stderr to stderr; followed live until its unit settles, then read to the end after a sync, so
nothing is lost and nothing comes twice."""

from __future__ import annotations

import sys

from conman_systemd.core.journal import Reader, synchronize
from conman_systemd.log import debug

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import IO

    from conman_systemd.core.journal import Entry
    from conman_systemd.dbus.systemd import Systemd
    from conman_systemd.dbus.units import UnitState, UnitWatch

# A following client reads the journal (and checks on the unit, and on Ctrl-C) this often when
# systemd is quiet: journald itself tells watchers of new lines only every ~250 ms.
FOLLOW_POLL = 0.25


# What ends an entry's line, by journald's _LINE_BREAK: a newline (none given), a NUL (journald
# breaks lines there too). A line longer than LineMax goes on in the next entry ("line-max"); a
# stream's last line without a newline ("eof"), or cut by another writer ("pid-change"), ends as
# it was written.
_ENDINGS = {None: b"\n", "nul": b"\0"}


class _Discard:
    """A stream `run -a` does not show."""

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        pass


DISCARD: IO[bytes] = _Discard()  # type: ignore[assignment]  # (write and flush are all Printer uses)


class Printer:
    """Entries back into the bytes the container wrote, stdout and stderr apart."""

    def __init__(self, timestamps: bool = False, out: IO[bytes] | None = None, err: IO[bytes] | None = None):
        self.timestamps = timestamps
        self.out = out or sys.stdout.buffer
        self.err = err or sys.stderr.buffer
        self.cursor: str | None = None  # of the last entry printed
        self._goes_on = {False: False, True: False}  # per stream: a line split by LineMax is open

    def __call__(self, entry: Entry) -> None:
        stream = self.err if entry.stderr else self.out
        stamp = self.timestamps and not self._goes_on[entry.stderr]  # one time for one line
        prefix = f"{entry.timestamp()} ".encode() if stamp else b""
        stream.write(prefix + entry.message + _ENDINGS.get(entry.line_break, b""))
        stream.flush()
        self._goes_on[entry.stderr] = entry.line_break == "line-max"
        self.cursor = entry.cursor


def show(reader: Reader, printer: Printer, tail: int | None = None, since_usec: int | None = None,
         until_usec: int | None = None) -> None:  # fmt: skip
    """The output so far: from since_usec up to until_usec, of that the last tail lines."""
    if since_usec is not None:
        reader.seek_realtime(since_usec)
    elif tail is not None and until_usec is None:
        reader.seek_tail_lines(tail)  # the common case, straight from the end
        tail = None
    entries: Iterable[Entry] = reader.entries(until_usec)
    if tail is not None:
        from collections import deque

        entries = deque(entries, maxlen=tail)
    for entry in entries:
        printer(entry)


class Tail:
    """A unit's output from a point on, printed a read() at a time; each read opens the journal
    afresh after the last line printed (see core/journal.py's Reader on why)."""

    def __init__(self, unit: str, printer: Printer, from_start: bool = False) -> None:
        self.unit = unit
        self.printer = printer
        if not from_start and printer.cursor is None:
            with Reader(unit) as reader:
                printer.cursor = reader.last_cursor()  # None: no output yet, so all of it is new

    def read(self) -> None:
        with Reader(self.unit) as reader:
            if self.printer.cursor is not None:
                reader.seek_after_cursor(self.printer.cursor)
            for entry in reader.entries():
                self.printer(entry)


def print_shim_lines(unit: str) -> None:
    """Under --debug: the shim's own lines for the unit (it writes them to the journal, where they
    cannot pass for container output) on our stderr, after ours."""
    synchronize()
    with Reader(unit, only="SYSLOG_IDENTIFIER=conman-shim") as reader:
        for entry in reader.entries():
            sys.stderr.buffer.write(entry.message + b"\n")
    sys.stderr.flush()


def follow(
    systemd: Systemd, watch: UnitWatch, tail: Tail, each: Callable[[], None] | None = None
) -> UnitState:
    """Print the unit's output as it comes until the unit settles; then journald is synced and the
    rest printed. The unit's last state."""

    def read_and_check() -> None:
        tail.read()
        if each is not None:
            each()

    state = systemd.settle(watch, lambda s: not s.running, FOLLOW_POLL, read_and_check)
    debug(f"journal: {watch.unit} settled ({state.active_state}); syncing")
    synchronize()
    tail.read()
    debug("journal: drained")
    return state

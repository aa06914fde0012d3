"""A container's output from the journal, printed as the container wrote it: stdout to stdout,
stderr to stderr; followed live until its unit settles, then read to the end after a sync, so
nothing is lost and nothing comes twice."""

from __future__ import annotations

import sys
from collections import deque

from conman_systemd.core.journal import Reader, synchronize
from conman_systemd.log import debug

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import IO

    from conman_systemd.core.journal import Entry
    from conman_systemd.dbus.systemd import Systemd
    from conman_systemd.dbus.units import UnitState, UnitWatch

FOLLOW_POLL = 0.25  # a foreground client checks on the unit (and on Ctrl-C) this often when quiet


class Printer:
    def __init__(self, timestamps: bool = False, out: IO[bytes] | None = None, err: IO[bytes] | None = None):
        self.timestamps = timestamps
        self.out = out or sys.stdout.buffer
        self.err = err or sys.stderr.buffer

    def __call__(self, entry: Entry) -> None:
        stream = self.err if entry.stderr else self.out
        prefix = f"{entry.timestamp()} ".encode() if self.timestamps else b""
        stream.write(prefix + entry.message + b"\n")
        stream.flush()

    def drain(self, reader: Reader, until_usec: int | None = None) -> None:
        """Everything the reader has now."""
        for entry in reader.entries(until_usec):
            self(entry)


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
        entries = deque(entries, maxlen=tail)
    for entry in entries:
        printer(entry)


def follow(systemd: Systemd, watch: UnitWatch, reader: Reader, printer: Printer,
           each: Callable[[], None] | None = None) -> UnitState:  # fmt: skip
    """Print what the reader gets as it comes, until the watched unit settles; then journald is
    synced and the rest printed. The unit's last state."""
    fd = reader.fileno()  # before reading to the end: a line written in between still wakes us

    def more() -> None:
        reader.process()
        printer.drain(reader)

    printer.drain(reader)
    state = systemd.settle(watch, lambda s: not s.running, FOLLOW_POLL, each, also=(fd, more))
    debug(f"journal: {watch.unit} settled ({state.active_state}); syncing")
    synchronize()
    printer.drain(reader)
    debug("journal: drained")
    return state

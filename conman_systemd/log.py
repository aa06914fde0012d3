"""Debug logging: `conman --debug` shows every external command and D-Bus call.

The CLI writes debug lines to stderr. The shim's stderr is the unit's journal stream, where a line
would pass for container output, so the shim sends its lines to the journal on their own
(set_sink). Stdlib only and light: the shim imports it.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_debug = os.environ.get("CONMAN_DEBUG") == "1"


def _to_stderr(message: str) -> None:
    print(f"conman: {message}", file=sys.stderr, flush=True)


_sink: Callable[[str], None] = _to_stderr


def set_debug(enabled: bool) -> None:
    global _debug
    _debug = enabled
    # Children (nested conman commands) inherit the choice; the shim gets it through its unit.
    if enabled:
        os.environ["CONMAN_DEBUG"] = "1"


def set_sink(sink: Callable[[str], None]) -> None:
    global _sink
    _sink = sink


def debug_enabled() -> bool:
    return _debug


def debug(message: str) -> None:
    """One line under --debug, stamped with CLOCK_MONOTONIC: one clock for the CLI, the shim and
    the runtime, so a start can be profiled phase by phase from their lines together."""
    if _debug:
        _sink(f"[{time.monotonic():.6f}] {message}")


_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")


def quote(argv: Sequence[str]) -> str:
    """argv as a shell would read it back (shlex.join's output, without importing shlex and re)."""
    return " ".join(a if a and _SAFE.issuperset(a) else "'" + a.replace("'", "'\"'\"'") + "'" for a in argv)

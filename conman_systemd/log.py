"""Debug logging: `conman --debug` shows every external command and D-Bus call on stderr."""

from __future__ import annotations

import os
import sys

_debug = os.environ.get("CONMAN_DEBUG") == "1"


def set_debug(enabled: bool) -> None:
    global _debug
    _debug = enabled
    # Children (the shim, nested conman commands) inherit the choice.
    if enabled:
        os.environ["CONMAN_DEBUG"] = "1"


def debug_enabled() -> bool:
    return _debug


def debug(message: str) -> None:
    if _debug:
        print(f"conman: {message}", file=sys.stderr, flush=True)

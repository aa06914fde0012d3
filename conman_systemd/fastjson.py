"""json.loads and json.dumps without importing `json` on the container start path.

`import json` imports `re` (~5 ms in the shim's `python3 -I -S`, on every container start). The C
scanner and encoder that `json` itself uses live in `_json` and need no `re`; where they are
missing (another Python implementation) this falls back to `json`. Output is exactly
`json.dumps(value, sort_keys=True)`; input is whatever `json.loads` accepts without surrounding
whitespace, which is how conman writes its files.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class _Options:
    """What the C scanner reads off json.JSONDecoder: plain values, no hooks."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = None


def _no_default(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_scan: Callable[[str, int], tuple[Any, int]] | None
try:
    from _json import encode_basestring_ascii, make_encoder, make_scanner

    _scan = make_scanner(_Options)  # type: ignore[arg-type]  # (typeshed wants a JSONDecoder)
except ImportError:  # not CPython
    _scan = None


def loads(text: str) -> Any:
    if _scan is None:
        import json

        return json.loads(text)
    try:
        value, end = _scan(text, 0)
    except StopIteration as e:
        raise ValueError(f"invalid JSON at character {e.value}") from None
    if end != len(text.rstrip()):
        raise ValueError(f"invalid JSON: extra data at character {end}")
    return value


def dumps(value: object) -> str:
    if _scan is None:
        import json

        return json.dumps(value, sort_keys=True)
    # A new encoder each time: its first argument tracks containers being encoded (cycles), and an
    # encoding that failed half-way would leave entries behind.
    # (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys, allow_nan)
    encode = make_encoder({}, _no_default, encode_basestring_ascii, None, ": ", ", ", True, False, True)
    return "".join(encode(value, 0))

"""The attach socket's wire format: frames of (kind: 1 byte, length: 4 bytes big-endian, payload).

Shared by the shim's IO server and the clients (`conman run -i/-t`, `conman attach`). Stdlib only
and light: the IO server stays in memory for as long as its container runs, so no enum here.
"""

from __future__ import annotations

import struct

HEADER = struct.Struct(">BI")
MAX_PAYLOAD = 1 << 20


class Kind:
    """Frame kinds (plain ints)."""

    # client -> shim
    STDIN = 0
    STDIN_EOF = 1
    RESIZE = 2  # payload: rows, cols as two big-endian uint16
    SIGNAL = 3  # payload: the signal number as a big-endian int32
    # shim -> client
    STDOUT = 10
    STDERR = 11
    EXIT = 12  # payload: the container's exit code as a big-endian int32

    ALL = frozenset({STDIN, STDIN_EOF, RESIZE, SIGNAL, STDOUT, STDERR, EXIT})


def frame(kind: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def resize(rows: int, cols: int) -> bytes:
    return frame(Kind.RESIZE, struct.pack(">HH", rows, cols))


def int_frame(kind: int, value: int) -> bytes:
    return frame(kind, struct.pack(">i", value))


def unpack_int(payload: bytes) -> int:
    return int(struct.unpack(">i", payload)[0])


def unpack_size(payload: bytes) -> tuple[int, int]:
    rows, cols = struct.unpack(">HH", payload)
    return int(rows), int(cols)


class Decoder:
    """Feed bytes in, get whole frames out."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buf += data
        frames = []
        while len(self.buf) >= HEADER.size:
            kind, length = HEADER.unpack_from(self.buf)
            if length > MAX_PAYLOAD:
                raise ValueError(f"attach frame too long: {length}")
            if kind not in Kind.ALL:
                raise ValueError(f"unknown attach frame kind {kind}")
            if len(self.buf) < HEADER.size + length:
                break
            payload = bytes(self.buf[HEADER.size : HEADER.size + length])
            del self.buf[: HEADER.size + length]
            frames.append((kind, payload))
        return frames

"""The attach protocol and detach keys: pure logic."""

from __future__ import annotations

import pytest

from conman_systemd.container.attach_proto import (
    Decoder,
    Kind,
    frame,
    int_frame,
    resize,
    unpack_int,
    unpack_size,
)
from conman_systemd.core.detach_keys import Detached, DetachMatcher, parse_detach_keys
from conman_systemd.errors import ConmanError


def test_frames_survive_any_split() -> None:
    data = frame(Kind.STDOUT, b"hello") + int_frame(Kind.EXIT, 130) + resize(40, 120) + frame(Kind.STDIN_EOF)
    for cut in range(len(data) + 1):
        d = Decoder()
        got = d.feed(data[:cut]) + d.feed(data[cut:])
        assert [k for k, _ in got] == [Kind.STDOUT, Kind.EXIT, Kind.RESIZE, Kind.STDIN_EOF]
        assert got[0][1] == b"hello" and unpack_int(got[1][1]) == 130 and unpack_size(got[2][1]) == (40, 120)


def test_oversized_frames_are_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        Decoder().feed(bytes([0]) + (1 << 30).to_bytes(4, "big"))


@pytest.mark.parametrize(
    ("text", "keys"), [("ctrl-p,ctrl-q", b"\x10\x11"), ("ctrl-a,x", b"\x01x"), ("ctrl-@", b"\x00")]
)
def test_detach_keys(text: str, keys: bytes) -> None:
    assert parse_detach_keys(text) == keys


@pytest.mark.parametrize("text", ["ctrl-", "ctrl-1", "ab", ""])
def test_bad_detach_keys(text: str) -> None:
    with pytest.raises(ConmanError, match="invalid detach keys"):
        parse_detach_keys(text)


def test_detach_matcher_passes_partial_matches_on() -> None:
    m = DetachMatcher(b"\x10\x11")
    assert m.feed(b"ab\x10c") == b"ab\x10c"
    assert m.feed(b"\x10") == b""  # maybe the start of the sequence: held back
    assert m.feed(b"z") == b"\x10z"
    m.feed(b"x\x10")
    with pytest.raises(Detached):
        m.feed(b"\x11")


def test_unknown_frame_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown attach frame kind 99"):
        Decoder().feed(bytes([99]) + (0).to_bytes(4, "big"))

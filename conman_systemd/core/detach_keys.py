"""Detach keys (docker's syntax, default ctrl-p,ctrl-q) and spotting them in the typed input."""

from __future__ import annotations

from conman_systemd.errors import ConmanError

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"


class Detached(Exception):
    """The user typed the detach keys."""


def parse_detach_keys(text: str) -> bytes:
    """docker's syntax: a comma-separated list of single characters or ctrl-<x>."""
    keys = bytearray()
    for part in text.split(","):
        if len(part) == 1:
            keys.append(ord(part))
        elif part.startswith("ctrl-") and len(part) == 6 and part[5] in "abcdefghijklmnopqrstuvwxyz@[\\]^_":
            keys.append(ord(part[5].upper()) & 0x1F)
        else:
            raise ConmanError(f'invalid detach keys "{text}": use a character or ctrl-<a-z@[\\]^_> per key, '
                              "separated by commas")  # fmt: skip
    if not keys:
        raise ConmanError(f'invalid detach keys "{text}": none given')
    return bytes(keys)


class DetachMatcher:
    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.matched = 0

    def feed(self, data: bytes) -> bytes:
        """Input to pass on; raises Detached when the whole sequence was typed."""
        out = bytearray()
        for byte in data:
            if byte == self.keys[self.matched]:
                self.matched += 1
                if self.matched == len(self.keys):
                    raise Detached
                continue
            out += self.keys[: self.matched]  # a partial match was ordinary input after all
            self.matched = 0
            if byte == self.keys[0]:
                self.matched = 1
            else:
                out.append(byte)
        return bytes(out)

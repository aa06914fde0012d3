"""The D-Bus wire format, sans I/O (D-Bus specification, "Message Protocol").

Stdlib only and cheap to import: `conman ps` has ~20 ms, and importing jeepney took half of it.
Values follow jeepney's conventions: int, bool, float and str for the basic types, list for
arrays (bytes for ay), dict for a{..}, tuple for structs and (signature, value) for variants.
"""

from __future__ import annotations

import struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
_MAX_MESSAGE = 1 << 27

# The 16 bytes every message starts with: endianness, type, flags, protocol version, body length,
# serial, and the length of the header field array that follows.
_PREFIX = {ord("l"): struct.Struct("<BBBBIII"), ord("B"): struct.Struct(">BBBBIII")}
_LITTLE = {code: struct.Struct("<" + c) for code, c in zip("ynqbiuxtdh", "BhHIiIqQdI", strict=True)}
_BIG = {code: struct.Struct(">" + c) for code, c in zip("ynqbiuxtdh", "BhHIiIqQdI", strict=True)}
_ALIGN = {
    code: size for size, codes in ((1, "ygv"), (2, "nq"), (4, "biuhsoa"), (8, "xtd({")) for code in codes
}
_BASIC = frozenset("ybnqiuxtdhsog")
_PATH_CHARS = frozenset("/_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_KINDS = {METHOD_CALL: "call", METHOD_RETURN: "return", ERROR: "error", SIGNAL: "signal"}

# Header fields 1 to 8 as (attribute, code, type), UNIX_FDS (9) left out: we pass no fds. Any
# order is valid on the wire; ascending code is jeepney's, so tests can compare bytes.
_NAMES = ("path", "interface", "member", "error_name", "reply_serial", "destination", "sender", "signature")
_FIELDS = tuple(zip(_NAMES, range(1, 9), "osssussg", strict=True))
_FIELD_BY_CODE = {code: (name, t) for name, code, t in _FIELDS}


class WireError(ValueError):
    """Malformed input, or a value that does not fit its signature."""


class Message:
    """One D-Bus message; serial is 0 until encode() or the Parser sets it."""

    __slots__ = ("kind", "flags", "serial", *_NAMES, "body")

    def __init__(
        self,
        kind: int,
        *,
        path: str | None = None,
        interface: str | None = None,
        member: str | None = None,
        error_name: str | None = None,
        reply_serial: int | None = None,
        destination: str | None = None,
        sender: str | None = None,
        signature: str = "",
        body: tuple[Any, ...] = (),
        flags: int = 0,
    ) -> None:
        self.kind = kind
        self.flags = flags
        self.serial = 0
        self.path = path
        self.interface = interface
        self.member = member
        self.error_name = error_name
        self.reply_serial = reply_serial
        self.destination = destination
        self.sender = sender
        self.signature = signature
        self.body = body

    def __repr__(self) -> str:
        # One line for --debug logs, the body clipped: ListUnits replies run to many kilobytes.
        reply = self.reply_serial is not None and f"re #{self.reply_serial}"
        kind = _KINDS.get(self.kind, str(self.kind))
        names = (self.sender, self.destination, self.path, self.interface, self.member, self.error_name)
        words = [kind, f"#{self.serial}", reply, *names, f"{self.body!r:.200}"]
        return f"<Message {' '.join(word for word in words if word)}>"


def method_call(
    destination: str | None,
    path: str,
    interface: str,
    member: str,
    signature: str = "",
    body: tuple[Any, ...] = (),
) -> Message:
    message = Message(METHOD_CALL, path=path, interface=interface, member=member, destination=destination)
    message.signature, message.body = signature, body
    return message


def encode(message: Message, serial: int) -> bytes:
    """The message as little-endian bytes; serial (non-zero) must be unique on its connection."""
    if not 0 < serial < 1 << 32:
        raise WireError(f"D-Bus serial {serial} out of range")
    body = _Writer()
    body.fields(_split(message.signature), message.body)
    # An absent field is None, or "" for the signature of an empty body.
    fields = [(code, (t, v)) for name, code, t in _FIELDS if (v := getattr(message, name)) not in (None, "")]
    header = _Writer()
    header.out += bytes(12)  # the start of the prefix, packed once the field array's length is known
    header.value("a(yv)", fields)
    prefix = (ord("l"), message.kind, message.flags, 1, len(body.out), serial, len(header.out) - 16)
    _PREFIX[ord("l")].pack_into(header.out, 0, *prefix)
    header.pad(8)  # the body starts 8-aligned
    message.serial = serial
    return bytes(header.out + body.out)


class Parser:
    """Splits a byte stream into messages, however it was cut. After a WireError, drop the stream."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        messages = []
        while len(self._buffer) >= 16 and len(self._buffer) >= (size := _size(self._buffer)):
            messages.append(_parse(bytes(self._buffer[:size])))
            del self._buffer[:size]
        return messages


def _size(start: bytearray) -> int:
    """The length of the message whose first 16 bytes are in start: known before the rest comes."""
    prefix = _PREFIX.get(start[0])
    if prefix is None:
        raise WireError(f"not a D-Bus message: endianness byte {start[0]:#04x}")
    _, _, _, version, body_length, _, fields_length = prefix.unpack_from(start)
    size: int = 16 + fields_length + (-fields_length % 8) + body_length
    if version != 1 or size > _MAX_MESSAGE:
        raise WireError(f"cannot read a D-Bus message of protocol {version} and {size} bytes")
    return size


def _parse(data: bytes) -> Message:
    _, kind, flags, _, _, serial, _ = _PREFIX[data[0]].unpack_from(data)
    message = Message(kind, flags=flags)
    message.serial = serial
    reader = _Reader(data)
    try:
        for code, (t, value) in reader.value("a(yv)"):
            name, expected = _FIELD_BY_CODE.get(code, (None, t))  # None: UNIX_FDS, or newer than us
            if t != expected:
                raise WireError(f"D-Bus header field {code} has type {t!r}, not {expected!r}")
            if name:
                setattr(message, name, value)
        reader.pos += -reader.pos % 8
        message.body = tuple([reader.value(t) for t in _split(message.signature)])
    except (IndexError, struct.error, UnicodeDecodeError, RecursionError) as e:
        raise WireError(f"malformed D-Bus message: {e}") from None
    if reader.pos != len(data):
        raise WireError(f"D-Bus message body does not match its signature {message.signature!r}")
    return message


# Signatures seen so far, split into their complete types: systemd and we use a few dozen.
_TYPES: dict[str, tuple[str, ...]] = {}


def _split(signature: str) -> tuple[str, ...]:
    """The single complete types a signature is made of; WireError if it is not valid."""
    types = _TYPES.get(signature)
    if types is None:
        if len(signature) > 255:
            raise WireError(f"D-Bus signature longer than 255 characters: {signature!r:.60}")
        found, start = [], 0
        while start < len(signature):
            end = _skip(signature, start)
            found.append(signature[start:end])
            start = end
        types = _TYPES[signature] = tuple(found)
    return types


def _skip(signature: str, i: int) -> int:
    """The index just past the single complete type that starts at signature[i]."""
    code = signature[i : i + 1]
    if code in _BASIC or code == "v":
        return i + 1
    if code == "a" and signature[i + 1 : i + 2] != "{":
        return _skip(signature, i + 1)
    # A dict entry {KV} is only ever an array's element, and its key K a basic type.
    if code == "a" and signature[i + 2 : i + 3] in _BASIC:
        end = _skip(signature, i + 3)
        if signature[end : end + 1] == "}":
            return end + 1
    if code == "(" and signature[i + 1 : i + 2] != ")":
        end = i + 1
        while signature[end : end + 1] != ")":  # at the end of the string, _skip() raises
            end = _skip(signature, end)
        return end + 1
    raise WireError(f"invalid D-Bus signature {signature!r}")


def _single(signature: str) -> str:
    types = _split(signature)
    if len(types) != 1:
        raise WireError(f"a D-Bus variant holds one complete type, not {signature!r}")
    return types[0]


def _check_text(code: str, text: str) -> None:
    if "\0" in text:
        raise WireError(f"D-Bus strings cannot hold NUL: {text!r:.60}")
    if code == "o" and not _is_path(text):
        raise WireError(f"invalid D-Bus object path {text!r:.60}")
    if code == "g":
        _split(text)


def _is_path(text: str) -> bool:
    # "/", or "/"-separated non-empty elements of [A-Za-z0-9_].
    well_formed = text[:1] == "/" and text[-1] != "/" and "//" not in text
    return text == "/" or (well_formed and set(text) <= _PATH_CHARS)


def _misfit(t: str, value: object) -> WireError:
    return WireError(f"{value!r:.60} does not fit D-Bus type {t!r}")


class _Reader:
    """Reads the values of one whole message; offsets, and so alignment, count from its first byte."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.numbers = _BIG if data[0] == ord("B") else _LITTLE
        self.pos = 12  # the header field array

    def value(self, t: str) -> Any:
        code = t[0]
        if code in self.numbers:
            return self.number(code)
        if code in "sog":
            return self.string(code)
        if code == "v":
            signature = self.string("g")
            return signature, self.value(_single(signature))
        if code == "(":
            self.pos += -self.pos % 8
            return tuple([self.value(field) for field in _split(t[1:-1])])
        return self.array(t[1:])

    def number(self, code: str) -> Any:
        number = self.numbers[code]
        start = self.pos + (-self.pos % number.size)
        self.pos = start + number.size
        (value,) = number.unpack_from(self.data, start)
        return bool(value) if code == "b" else value

    def string(self, code: str) -> str:
        end = self.number("y" if code == "g" else "u") + self.pos
        if self.data[end : end + 1] != b"\0":
            raise WireError("D-Bus string without its terminating NUL")
        text = self.data[self.pos : end].decode()
        self.pos = end + 1
        _check_text(code, text)
        return text

    def array(self, element: str) -> Any:
        size = self.number("u")
        self.pos += -self.pos % _ALIGN[element[0]]  # even when the array is empty
        end = self.pos + size
        if end > len(self.data):
            raise WireError(f"D-Bus array of {size} bytes runs past the end of its message")
        if element == "y":
            self.pos = end
            return self.data[end - size : end]
        item = f"({element[1:-1]})" if element[0] == "{" else element  # entries are laid out as structs
        items = []
        while self.pos < end:
            items.append(self.value(item))
        if self.pos != end:
            raise WireError("D-Bus array elements run past the array's length")
        return dict(items) if item != element else items


class _Writer:
    """Appends little-endian values; offsets count from the buffer's start, which stays 8-aligned."""

    def __init__(self) -> None:
        self.out = bytearray()

    def pad(self, alignment: int) -> None:
        self.out += bytes(-len(self.out) % alignment)

    def value(self, t: str, value: Any) -> None:
        code = t[0]
        if code in _LITTLE:
            self.number(code, value)
        elif code in "sog":
            self.string(code, value)
        elif code == "v":
            if not isinstance(value, tuple | list) or len(value) != 2:
                raise _misfit(t, value)
            self.string("g", value[0])
            self.value(_single(value[0]), value[1])
        elif code == "(":
            self.pad(8)
            self.fields(_split(t[1:-1]), value)
        else:
            self.array(t[1:], value)

    def number(self, code: str, value: Any) -> None:
        if code == "b" and value not in (0, 1):  # True and False among them
            raise _misfit(code, value)
        number = _LITTLE[code]
        self.pad(number.size)
        try:
            self.out += number.pack(value)
        except struct.error:
            raise _misfit(code, value) from None

    def string(self, code: str, value: Any) -> None:
        if not isinstance(value, str):
            raise _misfit(code, value)
        _check_text(code, value)
        try:
            data = value.encode()
        except UnicodeEncodeError:  # lone surrogates
            raise _misfit(code, value) from None
        self.number("y" if code == "g" else "u", len(data))  # a signature has at most 255 bytes
        self.out += data + b"\0"

    def fields(self, types: tuple[str, ...], values: Any) -> None:
        if not isinstance(values, tuple | list) or len(values) != len(types):
            raise _misfit("".join(types), values)
        for t, value in zip(types, values, strict=True):
            self.value(t, value)

    def array(self, element: str, values: Any) -> None:
        if element[0] == "{" and isinstance(values, dict):
            element, values = f"({element[1:-1]})", values.items()  # entries are laid out as structs
        elif element[0] == "{" or not isinstance(values, list | tuple | bytes):
            raise _misfit("a" + element, values)
        self.pad(4)
        at = len(self.out)
        self.out += bytes(4)  # the length, packed below
        self.pad(_ALIGN[element[0]])  # even when the array is empty
        start = len(self.out)
        for item in values:
            self.value(element, item)
        _LITTLE["u"].pack_into(self.out, at, len(self.out) - start)

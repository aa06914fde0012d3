"""The stdlib D-Bus client: wire format checked against jeepney, connection against a real dbus-daemon."""

from __future__ import annotations

import os
import select
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jeepney import DBusAddress, new_method_call
from jeepney.low_level import Endianness, Header, HeaderFields, MessageType
from jeepney.low_level import Message as JeepneyMessage
from jeepney.low_level import Parser as JeepneyParser

from conman_systemd.dbus.connection import Connection, DBusError
from conman_systemd.dbus.wire import (
    ERROR,
    METHOD_CALL,
    METHOD_RETURN,
    SIGNAL,
    Message,
    Parser,
    WireError,
    encode,
    method_call,
)

TOP = Path(__file__).resolve().parents[2]
SYSTEMD = "org.freedesktop.systemd1"
MANAGER_PATH = "/org/freedesktop/systemd1"
MANAGER = "org.freedesktop.systemd1.Manager"
UNIT_PATH = "/org/freedesktop/systemd1/unit/conman_2dweb_2eservice"
BUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")

# Structs are tuples: jeepney refuses lists for them.
PROPERTIES = [
    ("Description", ("s", "conman container web")),
    ("Delegate", ("b", True)),
    ("RemainAfterExit", ("b", False)),
    ("OOMScoreAdjust", ("i", -500)),
    ("UMask", ("u", 0o022)),
    ("TimeoutStopUSec", ("t", 10_000_000)),
    ("Environment", ("as", ["CONMAN_ID=web", "TERM=xterm"])),
    ("SupplementaryGroups", ("as", [])),
    ("ExecStart", ("a(sasb)", [("/usr/bin/conman-shim", ["conman-shim", "--id", "web"], False)])),
    ("ExecStopPost", ("a(sasb)", [])),
    ("SuccessExitStatus", ("(aiai)", ([143], []))),
    ("RestartPreventExitStatus", ("(aiai)", ([], []))),
]
AUX = [("conman-web-log.service", [("Description", ("s", "aux")), ("Delegate", ("b", False))])]

CALLS = [
    pytest.param(MANAGER_PATH, MANAGER, "Subscribe", "", (), id="no body"),
    pytest.param(UNIT_PATH, "org.freedesktop.DBus.Properties", "GetAll", "s", (MANAGER,), id="GetAll"),
    pytest.param(MANAGER_PATH, MANAGER, "KillUnit", "ssi", ("web.service", "all", 9), id="KillUnit"),
    pytest.param(MANAGER_PATH, MANAGER, "ListUnitsByPatterns", "asas", ([], []), id="empty arrays"),
    pytest.param(
        MANAGER_PATH, MANAGER, "ListUnitsByPatterns", "asas", (["active"], ["conman-*", "x"]), id="arrays"
    ),
    pytest.param(
        MANAGER_PATH,
        MANAGER,
        "StartTransientUnit",
        "ssa(sv)a(sa(sv))",
        ("web.service", "fail", PROPERTIES, AUX),
        id="StartTransientUnit",
    ),
]


@pytest.mark.parametrize(("path", "interface", "member", "signature", "body"), CALLS)
def test_encode_is_byte_identical_to_jeepney(
    path: str, interface: str, member: str, signature: str, body: tuple[Any, ...]
) -> None:
    # Whole messages compare: both write header fields in ascending code order.
    theirs = new_method_call(DBusAddress(path, SYSTEMD, interface), member, signature or None, body)
    ours = encode(method_call(SYSTEMD, path, interface, member, signature, body), 7)
    assert ours == theirs.serialise(serial=7)


def jeepney_bytes(
    kind: MessageType, fields: dict[HeaderFields, Any], body: tuple[Any, ...], big: bool
) -> bytes:
    header = Header(Endianness.big if big else Endianness.little, kind, 0, 1, 0, 5, fields)
    return bytes(JeepneyMessage(header, body).serialise())


UNITS = [
    ("web.service", "conman web", "loaded", "active", "running", "", UNIT_PATH, 0, "", "/"),
    (
        "db.service",
        "",
        "loaded",
        "failed",
        "failed",
        "",
        "/org/freedesktop/systemd1/unit/db_2eservice",
        7,
        "start",
        "/org/freedesktop/systemd1/job/7",
    ),
]
CHANGED = (
    "org.freedesktop.systemd1.Unit",
    {
        "ActiveState": ("s", "active"),
        "InvocationID": ("ay", bytes(range(16))),
        "ActiveEnterTimestamp": ("t", 5),
        "SuccessExitStatus": ("(aiai)", ([1], [9])),
        "Nested": ("v", ("as", ["x"])),
        "Conditions": ("a(sbbsi)", []),
    },
    ["Conditions"],
)


def list_units_reply(big: bool) -> bytes:
    fields = {
        HeaderFields.reply_serial: 3,
        HeaderFields.destination: ":1.9",
        HeaderFields.signature: "a(ssssssouso)",
    }
    return jeepney_bytes(MessageType.method_return, fields, (UNITS,), big)


def properties_changed(big: bool) -> bytes:
    fields = {
        HeaderFields.path: UNIT_PATH,
        HeaderFields.interface: "org.freedesktop.DBus.Properties",
        HeaderFields.member: "PropertiesChanged",
        HeaderFields.sender: ":1.0",
        HeaderFields.signature: "sa{sv}as",
    }
    return jeepney_bytes(MessageType.signal, fields, CHANGED, big)


@pytest.mark.parametrize("big", [False, True], ids=["little-endian", "big-endian"])
def test_parser_reads_what_jeepney_writes(big: bool) -> None:
    reply, signal = Parser().feed(list_units_reply(big) + properties_changed(big))
    assert (reply.kind, reply.serial, reply.reply_serial, reply.destination) == (METHOD_RETURN, 5, 3, ":1.9")
    assert reply.signature == "a(ssssssouso)" and reply.body == (UNITS,)
    assert (signal.kind, signal.path, signal.member, signal.sender) == (
        SIGNAL,
        UNIT_PATH,
        "PropertiesChanged",
        ":1.0",
    )
    assert signal.body == CHANGED


def test_jeepney_reads_what_we_write() -> None:
    # Every basic type jeepney takes (h needs fds), at their limits, and every container.
    values = [
        ("y", 255),
        ("n", -(2**15)),
        ("q", 2**16 - 1),
        ("i", -(2**31)),
        ("u", 2**32 - 1),
        ("x", -(2**63)),
        ("t", 2**64 - 1),
        ("d", 1.5),
        ("b", True),
        ("s", "ünï"),
        ("o", "/a/b_1"),
        ("g", "a{sv}"),
        ("ay", b"\0\1"),
        ("a{sv}", {"k": ("v", ("i", 1))}),
        ("a(ia{ss})", [(1, {})]),
    ]
    signature = "".join(t for t, _ in values)
    body = tuple(value for _, value in values)
    data = encode(Message(SIGNAL, path="/", interface="i.f", member="M", signature=signature, body=body), 9)
    (theirs,) = JeepneyParser().feed(data)
    (ours,) = Parser().feed(data)
    assert theirs.body == body and ours.body == body and ours.serial == 9


def as_fields(message: Message) -> tuple[Any, ...]:
    return tuple(getattr(message, name) for name in Message.__slots__)


def test_any_split_of_a_stream_gives_the_same_messages() -> None:
    call = encode(
        method_call(SYSTEMD, MANAGER_PATH, MANAGER, "KillUnit", "ssi", ("web.service", "all", 9)), 1
    )
    stream = call + list_units_reply(big=True) + properties_changed(big=False)
    want = [as_fields(m) for m in Parser().feed(stream)]
    assert [fields[0] for fields in want] == [METHOD_CALL, METHOD_RETURN, SIGNAL]
    for cut in range(len(stream) + 1):
        parser = Parser()
        assert [as_fields(m) for m in parser.feed(stream[:cut]) + parser.feed(stream[cut:])] == want
    parser = Parser()
    assert [as_fields(m) for i in range(len(stream)) for m in parser.feed(stream[i : i + 1])] == want


def test_error_replies_and_the_repr() -> None:
    error = Message(
        ERROR, error_name="org.freedesktop.DBus.Error.Failed", reply_serial=4, signature="s", body=("no",)
    )
    (parsed,) = Parser().feed(encode(error, 2))
    assert (parsed.error_name, parsed.reply_serial, parsed.body) == (
        "org.freedesktop.DBus.Error.Failed",
        4,
        ("no",),
    )
    assert repr(parsed) == "<Message error #2 re #4 org.freedesktop.DBus.Error.Failed ('no',)>"


def call_bytes() -> bytearray:
    call = method_call(SYSTEMD, MANAGER_PATH, MANAGER, "ListUnitsByNames", "as", (["a", "b"],))
    return bytearray(encode(call, 1))


def test_malformed_input_is_refused() -> None:
    bad_endianness = call_bytes()
    bad_endianness[0] = ord("X")
    past_the_body = call_bytes()
    body_length = struct.unpack_from("<I", past_the_body, 4)[0]
    struct.pack_into("<I", past_the_body, len(past_the_body) - body_length, 1000)  # the array's length
    too_large = call_bytes()
    struct.pack_into("<I", too_large, 4, 1 << 27)  # the body's length
    bad_signature = call_bytes().replace(b"\x02as\x00", b"\x02a{\x00")
    no_nul = call_bytes()
    no_nul[-1] = ord("x")  # "b"'s terminating NUL
    cases = {
        "endianness byte 0x58": bad_endianness,
        "array of 1000 bytes runs past": past_the_body,
        "protocol 1 and 1342": too_large,
        "invalid D-Bus signature 'a{'": bad_signature,
        "without its terminating NUL": no_nul,
    }
    for match, data in cases.items():
        with pytest.raises(WireError, match=match):
            Parser().feed(bytes(data))


@pytest.mark.parametrize(
    "signature", ["a", "(", "()", "(i", "i)", "a{vs}", "a{s}", "a{sss}", "{ss}", "z", "s" * 256]
)
def test_invalid_signatures_are_refused(signature: str) -> None:
    with pytest.raises(WireError):
        encode(Message(SIGNAL, path="/", interface="i.f", member="M", signature=signature), 1)


@pytest.mark.parametrize(
    ("signature", "value"),
    [
        ("i", "1"), ("y", 256), ("u", -1), ("x", 1.0), ("b", 2), ("b", "yes"), ("d", "x"),
        ("s", 1), ("s", "a\0b"), ("s", "\ud800"), ("o", "relative"), ("o", "/trailing/"), ("o", "/a//b"), ("o", "/é"),
        ("g", "a{vs}"), ("v", "s"), ("v", ("ss", "x")), ("v", ("i", "x")), ("(ii)", (1,)), ("(ii)", 1),
        ("ai", 1), ("ai", {1: 2}), ("a{sv}", [("k", ("s", "v"))]), ("a{si}", {"k": "v"}), ("ay", "text"),
    ],
)  # fmt: skip
def test_values_that_do_not_fit_their_signature_are_refused(signature: str, value: Any) -> None:
    with pytest.raises(WireError):
        encode(Message(SIGNAL, path="/", interface="i.f", member="M", signature=signature, body=(value,)), 1)


def test_a_body_must_match_the_signature_and_serials_are_not_zero() -> None:
    with pytest.raises(WireError):
        encode(method_call(None, "/", "i.f", "M", "ss", ("only one",)), 1)
    with pytest.raises(WireError):
        encode(method_call(None, "/", "i.f", "M"), 0)


def test_the_client_imports_nothing_slow() -> None:
    code = (
        f"import sys; sys.path.insert(0, {str(TOP)!r}); import conman_systemd.dbus.wire, conman_systemd.dbus.connection; "
        "print(sorted(m for m in ('typing','enum','socket','re','jeepney','dataclasses') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout == "[]\n"


@pytest.mark.parametrize("address", ["tcp:host=localhost,port=1", "unix:tmpdir=/tmp", "", "unix:path=%zz"])
def test_unusable_addresses(address: str) -> None:
    with pytest.raises(ValueError):
        Connection.connect(address, hello=False)


def test_an_unreachable_socket(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Connection.connect(f"unix:path={tmp_path}/none", hello=False)


def serve_once(where: str, handle: Callable[[socket.socket], None]) -> threading.Thread:
    """A unix socket server at where (a path, or "\0name") that handles one connection in a thread."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(where)
    server.listen(1)

    def run() -> None:
        with server, server.accept()[0] as peer:
            handle(peer)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def recv_until(peer: socket.socket, marker: bytes) -> bytes:
    """Read until marker; return what came after it."""
    data = b""
    while marker not in data:
        data += peer.recv(4096)
    return data.split(marker, 1)[1]


def fake_systemd(peer: socket.socket) -> None:
    """Like systemd's private socket: no Hello. Answers one call after a signal and a stray reply."""
    # The client sends BEGIN with AUTH, before the OK (as sd-bus clients do).
    rest = recv_until(peer, f"\0AUTH EXTERNAL {str(os.geteuid()).encode().hex()}\r\nBEGIN\r\n".encode())
    peer.sendall(b"OK 0123456789abcdef0123456789abcdef\r\n")
    parser = Parser()
    calls = parser.feed(rest)
    while not calls:
        calls = parser.feed(peer.recv(4096))
    serial = calls[0].serial
    signal = Message(
        SIGNAL,
        path=MANAGER_PATH,
        interface=MANAGER,
        member="UnitNew",
        signature="so",
        body=("web.service", UNIT_PATH),
    )
    stray = Message(METHOD_RETURN, reply_serial=serial + 100, signature="s", body=("not ours",))
    reply = Message(METHOD_RETURN, reply_serial=serial, signature="s", body=("pong",))
    peer.sendall(encode(signal, 1) + encode(stray, 2) + encode(reply, 3))


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_a_direct_connection_queues_signals_and_drops_stray_replies(tmp_path: Path, abstract: bool) -> None:
    name = f"conman-test-{os.getpid()}"
    thread = serve_once(f"\0{name}" if abstract else f"{tmp_path}/private", fake_systemd)
    address = f"unix:abstract={name}" if abstract else f"unix:path={tmp_path}/private"
    with Connection.connect(address, hello=False) as conn:
        assert conn.unique_name is None
        assert conn.call(method_call(None, MANAGER_PATH, MANAGER, "Ping"), 5) == ("pong",)
        signal = conn.receive_signal(0)
        assert signal is not None and (signal.member, signal.body) == ("UnitNew", ("web.service", UNIT_PATH))
        thread.join()
        with pytest.raises(ConnectionError, match="closed"):
            conn.receive_signal(5)


def test_a_refused_authentication(tmp_path: Path) -> None:
    def refuse(peer: socket.socket) -> None:
        recv_until(peer, b"\r\n")
        peer.sendall(b"REJECTED EXTERNAL\r\n")

    thread = serve_once(f"{tmp_path}/refuses", refuse)
    with pytest.raises(OSError, match="authentication failed: REJECTED EXTERNAL"):
        Connection.connect(f"unix:path={tmp_path}/refuses", hello=False)
    thread.join()


@pytest.fixture(scope="module")
def bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a private dbus-daemon of our own, for this module's tests."""
    path = tmp_path_factory.mktemp("dbus") / "bus"
    argv = ["dbus-daemon", "--session", "--nofork", f"--address=unix:path={path}", "--print-address"]
    daemon = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert daemon.stdout is not None
    try:
        ready, _, _ = select.select([daemon.stdout], [], [], 10)
        address = daemon.stdout.readline().strip() if ready else ""
        assert address.startswith("unix:"), f"dbus-daemon printed no address in 10 s ({address!r})"
        yield address
    finally:
        daemon.terminate()
        daemon.wait(5)
        daemon.stdout.close()


def next_signal(conn: Connection, member: str) -> Message:
    # Skips the NameAcquired the daemon sends each connection about its unique name, say.
    while (signal := conn.receive_signal(5)) is not None:
        if signal.member == member:
            return signal
    raise AssertionError(f"no {member} signal in 5 s")


def test_a_real_bus(bus: str) -> None:
    with Connection.connect(bus, hello=True) as conn:
        assert conn.unique_name is not None and conn.unique_name.startswith(":")
        rule = "type='signal',interface='org.freedesktop.DBus',member='NameOwnerChanged'"
        assert conn.call(method_call(*BUS, "AddMatch", "s", (rule,)), 5) == ()
        with Connection.connect(bus, hello=True) as other:
            (names,) = conn.call(method_call(*BUS, "ListNames"), 5)
            assert {"org.freedesktop.DBus", conn.unique_name, other.unique_name} <= set(names)
            with pytest.raises(DBusError) as error:
                conn.call(method_call(*BUS, "NoSuchMethod"), 5)
            assert error.value.name == "org.freedesktop.DBus.Error.UnknownMethod" and error.value.text
            with pytest.raises(TimeoutError):  # other never answers
                conn.call(method_call(other.unique_name, "/", "i.f", "M"), 0.05)
        signal = next_signal(conn, "NameOwnerChanged")
        assert signal.body == (other.unique_name, "", other.unique_name)


def test_a_bus_without_hello_and_through_an_escaped_address(bus: str) -> None:
    # The first unix address is used; %2f is "/".
    with Connection.connect("tcp:host=localhost,port=1;" + bus.replace("/", "%2f"), hello=False) as conn:
        assert conn.unique_name is None
        (name,) = conn.call(method_call(*BUS, "Hello"), 5)
        assert name.startswith(":")
        assert next_signal(conn, "NameAcquired").body == (name,)
        assert conn.receive_signal(0) is None

"""The two ways the shim talks to systemd without D-Bus: sd_notify and journald's sockets.

`_socket` rather than `socket` (which imports enum and more): this runs on every container start.
"""

from __future__ import annotations

import _socket
import os
import select
import sys

JOURNAL_STDOUT = "/run/systemd/journal/stdout"
JOURNAL_SOCKET = "/run/systemd/journal/socket"
PRIORITY_INFO = 6
PRIORITY_ERR = 3
_UNIX = _socket.AF_UNIX
_CLOEXEC = _socket.SOCK_CLOEXEC


def _notify_address() -> str | None:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return None
    return "\0" + address[1:] if address.startswith("@") else address


def notify(message: str) -> bool:
    """Send one sd_notify datagram; False when no one listens (not run by systemd)."""
    address = _notify_address()
    if address is None:
        return False
    sock = _socket.socket(_UNIX, _socket.SOCK_DGRAM | _CLOEXEC)
    try:
        sock.sendto(message.encode(), address)
    finally:
        sock.close()
    return True


def notify_barrier(timeout: float = 5.0) -> bool:
    """Wait until systemd has processed every notification sent before (sd_notify_barrier(3))."""
    address = _notify_address()
    if address is None:
        return False
    r, w = os.pipe2(os.O_CLOEXEC)
    sock = _socket.socket(_UNIX, _socket.SOCK_DGRAM | _CLOEXEC)
    try:
        sock.connect(address)
        sock.sendmsg(
            [b"BARRIER=1"], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, w.to_bytes(4, sys.byteorder))]
        )
        os.close(w)
        w = -1
        # systemd closes its copy of w once it got here: the read end then hangs up.
        poller = select.poll()
        poller.register(r, select.POLLHUP)
        return bool(poller.poll(timeout * 1000))
    finally:
        sock.close()
        os.close(r)
        if w >= 0:
            os.close(w)


def journal_stream(identifier: str, unit: str, priority: int) -> int:
    """A journald stdout stream (what StandardOutput=journal gives a service), as a writable fd.

    unit names the unit in the header: journald attributes the stream to it even after the
    process that opened it (the shim) is gone.
    """
    sock = _socket.socket(_UNIX, _socket.SOCK_STREAM | _CLOEXEC)
    try:
        sock.connect(JOURNAL_STDOUT)
        sock.shutdown(_socket.SHUT_RD)
        # identifier, unit, priority, level prefix, forward to syslog, kmsg, console
        sock.sendall(f"{identifier}\n{unit}\n{priority}\n0\n0\n0\n0\n".encode())
        return int(sock.detach())
    except BaseException:
        sock.close()
        raise


def journal_send(message: str, priority: int, **fields: str) -> bool:
    """One entry through journald's native protocol: the shim's own words, apart from the
    container's output (which uses stream sockets, _TRANSPORT=stdout)."""
    lines = [f"MESSAGE={message}", f"PRIORITY={priority}", *(f"{k}={v}" for k, v in fields.items())]
    if any("\n" in line for line in lines):
        return False
    sock = _socket.socket(_UNIX, _socket.SOCK_DGRAM | _CLOEXEC)
    try:
        sock.sendto("\n".join(lines).encode() + b"\n", JOURNAL_SOCKET)
    except OSError:
        return False
    finally:
        sock.close()
    return True

"""The sd_notify socket a sandbox's systemd reports READY=1 on.

An abstract socket (no file anywhere: the sandbox must not write the host's /run) in the
network namespace the sandbox shares with the host. SO_PASSCRED tells us the sender's pid as
the host sees it: that is the sandbox's PID 1.
"""

from __future__ import annotations

import os
import secrets
import socket
import struct
import time
from collections.abc import Callable

SO_PASSCRED = 16
SCM_CREDENTIALS = 2
_UCRED = struct.Struct("3i")


class NotifySocket:
    """Where the sandbox's systemd says READY=1: an abstract socket, or with path a file (an
    abstract name is of one network namespace: a sandbox with its own cannot reach ours)."""

    def __init__(self, path: str | None = None) -> None:
        self.name = path or f"@conman-sandbox/{os.getpid()}/{secrets.token_hex(8)}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_PASSCRED, 1)
        self.sock.bind(path or "\0" + self.name[1:])

    def wait_ready(self, timeout: float, alive: Callable[[], bool]) -> int | None:
        """Wait for READY=1; return the sender's pid, or None on timeout or when alive() fails."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and alive():
            self.sock.settimeout(min(0.1, max(deadline - time.monotonic(), 0.001)))
            try:
                data, ancdata, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(_UCRED.size))
            except TimeoutError:
                continue
            pid = next(
                (
                    _UCRED.unpack(d[: _UCRED.size])[0]
                    for lvl, typ, d in ancdata
                    if lvl == socket.SOL_SOCKET and typ == SCM_CREDENTIALS
                ),
                None,
            )
            if b"READY=1" in data.split(b"\n") and pid:
                return int(pid)
        return None

    def close(self) -> None:
        self.sock.close()

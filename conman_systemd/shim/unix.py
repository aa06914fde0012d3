"""Unix stream sockets on `_socket` (`socket` imports enum and more; the IO server stays in memory)."""

from __future__ import annotations

import _socket
import os


def listen(path: str) -> _socket.socket:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    old = os.umask(0o177)  # the socket is born 0600: only root may connect
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    sock.listen(16)
    return sock


def accept(listener: _socket.socket) -> _socket.socket:
    """The next connection (blocking as the listener's timeout says; TimeoutError after it)."""
    fd, _ = listener._accept()  # type: ignore[attr-defined]  # (not in typeshed's _socket)
    return _socket.socket(fileno=fd)

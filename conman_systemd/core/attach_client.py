"""The client end of an attach: our terminal <-> the shim's attach socket.

Raw mode on our terminal with -t (restored on every way out), window size following ours
(SIGWINCH), detach keys (default ctrl-p,ctrl-q), signals proxied to the container without -t.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import sys
import termios
import tty
from collections.abc import Iterator

from conman_systemd.container.attach_proto import Decoder, Kind, frame, int_frame, resize, unpack_int
from conman_systemd.core.detach_keys import DetachMatcher


class Interrupted(Exception):
    """A signal ended the client (args[0]: its number); the container runs on."""


def _interrupt(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


PROXIED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


@contextlib.contextmanager
def raw_terminal(fd: int, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise
    return sock


class Session:
    """One attached client. run() returns the container's exit code, or raises Detached."""

    def __init__(self, sock: socket.socket, *, stdin: bool, tty: bool, detach_keys: bytes, sig_proxy: bool,
                 outputs: frozenset[str] = frozenset({"stdout", "stderr"})):  # fmt: skip
        self.sock = sock
        self.outputs = outputs  # the streams shown (docker's `run -a`); a terminal's is stdout
        self.stdin = stdin
        self.tty = tty and os.isatty(0)
        self.detach = DetachMatcher(detach_keys)
        self.sig_proxy = sig_proxy and not tty
        self.decoder = Decoder()

    def send_size(self) -> None:
        if self.tty:
            size = os.get_terminal_size(0)
            self.sock.sendall(resize(size.lines, size.columns))

    def run(self) -> int | None:
        """The exit code the shim reported, or None when the connection ended without one."""
        old = {}
        if self.tty:
            old[signal.SIGWINCH] = signal.signal(signal.SIGWINCH, lambda *_: self.send_size())
            # With a terminal nothing is proxied (docker's rule): SIGTERM or SIGHUP end the client
            # alone, the terminal restored first (it was left raw).
            for sig in (signal.SIGTERM, signal.SIGHUP):
                old[sig] = signal.signal(sig, _interrupt)
        if self.sig_proxy:
            for sig in PROXIED:
                old[sig] = signal.signal(
                    sig, lambda signum, _f: self.sock.sendall(int_frame(Kind.SIGNAL, signum))
                )
        try:
            with raw_terminal(0, self.tty):
                self.send_size()
                return self._loop()
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)

    def _loop(self) -> int | None:
        # poll(2), not epoll: stdin may be a regular file or /dev/null (`run -i < file` in a
        # script), which epoll refuses; poll reports it readable until its end.
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        if self.stdin:
            poller.register(0, select.POLLIN)
        while True:
            for fd, _ in poller.poll():
                if fd == 0:
                    data = os.read(0, 65536)
                    if not data:
                        poller.unregister(0)
                        self.sock.sendall(frame(Kind.STDIN_EOF))
                    elif pass_on := self.detach.feed(data):
                        self.sock.sendall(frame(Kind.STDIN, pass_on))
                    continue
                data = self.sock.recv(65536)
                if not data:
                    return None
                for kind, payload in self.decoder.feed(data):
                    if kind == Kind.EXIT:
                        return unpack_int(payload)
                    name = "stderr" if kind == Kind.STDERR else "stdout"
                    if name in self.outputs:
                        out = sys.stderr.buffer if kind == Kind.STDERR else sys.stdout.buffer
                        out.write(payload)
                        out.flush()

"""The IO server of an interactive container (-i or -t): `conman-shim io ...`, exec'd by start.

It stays the unit's main process for as long as the container runs and owns the container's
stdio: pipes, or the pty master. It copies the output to the journal (stdout and stderr as two
streams) and to every client attached to <runroot>/<id>/attach (mode 0600), writes what clients
send to the container's stdin, resizes the pty, forwards signals, and finally exits as the
container did, so the unit records the container's exit code; the unit's clean-up does the rest.

Lean on purpose (one of these stays per -i/-t container): posix calls, `_socket`, `select`.
"""

from __future__ import annotations

import _socket
import fcntl
import os
import select
import struct
import time

from conman_systemd.container.attach_proto import Decoder, Kind, frame, int_frame, unpack_int, unpack_size
from conman_systemd.shim.exits import FORWARDED, exit_code, exit_like, kill
from conman_systemd.shim.unix import accept

TYPE_CHECKING = False
if TYPE_CHECKING:  # typeshed has no stubs for _signal; signal re-exports all of it
    import signal as _signal
else:
    import _signal

ATTACH_WAIT = 30.0  # how long a foreground start waits for its client before starting anyway
CLIENT_TIMEOUT = 2.0  # a client that cannot take output this long is dropped
DRAIN = 2.0  # after the init's end: a daemonised grandchild may hold a pipe open
TIOCSWINSZ = 0x5414  # termios.TIOCSWINSZ on Linux, without importing termios
IN = select.POLLIN | select.POLLHUP | select.POLLERR


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BrokenPipeError:
            return


class Server:
    """Container stdio <-> journal and attach clients, until the container's end."""

    def __init__(self, pid: int, tty: bool, fds: list[int]) -> None:
        stdin, stdout, stderr, listener, self.journal_out, self.journal_err = fds
        self.pid = pid
        self.tty = tty
        self.stdin = stdin if stdin >= 0 else None
        self.outputs = {fd: kind for fd, kind in ((stdout, Kind.STDOUT), (stderr, Kind.STDERR)) if fd >= 0}
        self.listener = _socket.socket(fileno=listener)
        self.clients: dict[int, tuple[_socket.socket, Decoder]] = {}
        self.poller = select.poll()
        self.poller.register(listener, IN)

    def accept(self, timeout: float | None = None) -> None:
        self.listener.settimeout(timeout)
        try:
            conn = accept(self.listener)
        except TimeoutError:
            return
        finally:
            self.listener.settimeout(None)
        conn.settimeout(CLIENT_TIMEOUT)
        self.clients[conn.fileno()] = (conn, Decoder())
        self.poller.register(conn.fileno(), IN)

    def drop(self, fd: int) -> None:
        conn, _ = self.clients.pop(fd)
        self.poller.unregister(fd)
        conn.close()

    def broadcast(self, data: bytes) -> None:
        for fd, (conn, _) in list(self.clients.items()):
            try:
                conn.sendall(data)
            except OSError:
                self.drop(fd)

    def output(self, fd: int) -> bool:
        """Copy what the container wrote; False at its end (EOF, or EIO on a pty)."""
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the pty's other side is closed
            data = b""
        if not data:
            self.poller.unregister(fd)
            os.close(fd)
            return False
        kind = self.outputs[fd]
        write_all(self.journal_out if kind == Kind.STDOUT else self.journal_err, data)
        self.broadcast(frame(kind, data))
        return True

    def client(self, fd: int) -> None:
        conn, decoder = self.clients[fd]
        try:
            data = conn.recv(65536)
            frames = decoder.feed(data) if data else None
        except (OSError, ValueError):  # gone, or speaking nonsense
            frames = None
        if frames is None:
            self.drop(fd)
            return
        for kind, payload in frames:
            try:
                self.handle(kind, payload)
            except (struct.error, OSError, ValueError):  # a malformed frame: drop its sender, not us
                self.drop(fd)
                return

    def handle(self, kind: int, payload: bytes) -> None:
        if kind == Kind.STDIN and self.stdin is not None:
            write_all(self.stdin, payload)
        elif kind == Kind.STDIN_EOF:
            self.close_stdin()
        elif kind == Kind.RESIZE and self.tty and self.stdin is not None:
            rows, cols = unpack_size(payload)
            fcntl.ioctl(self.stdin, TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        elif kind == Kind.SIGNAL:
            kill(self.pid, unpack_int(payload))

    def close_stdin(self) -> None:
        if self.stdin is None:
            return
        if self.tty:
            os.write(self.stdin, b"\x04")  # a terminal's end of input
        else:
            os.close(self.stdin)
            self.stdin = None

    def serve(self) -> None:
        pidfd = os.pidfd_open(self.pid)
        self.poller.register(pidfd, select.POLLIN)
        for fd in self.outputs:
            self.poller.register(fd, IN)
        open_outputs = len(self.outputs)
        exited_at: float | None = None
        while open_outputs and (exited_at is None or time.monotonic() - exited_at < DRAIN):
            # Asleep until something happens while the init lives; after it, the drain's rest.
            wait = None if exited_at is None else max(0, DRAIN - (time.monotonic() - exited_at)) * 1000
            for fd, _ in self.poller.poll(wait):
                if fd in self.outputs:
                    open_outputs -= not self.output(fd)
                elif fd in self.clients:
                    self.client(fd)
                elif fd == self.listener.fileno():
                    self.accept()
                elif fd == pidfd and exited_at is None:
                    self.poller.unregister(pidfd)
                    exited_at = time.monotonic()
        os.close(pidfd)

    def finish(self, code: int) -> None:
        self.broadcast(int_frame(Kind.EXIT, code))
        for fd in list(self.clients):
            self.drop(fd)
        self.listener.close()
        for fd in (self.journal_out, self.journal_err):
            os.close(fd)


def main(argv: list[str]) -> int:
    """io PID TTY STDIN STDOUT STDERR LISTENER JOURNAL_OUT JOURNAL_ERR [START ARGV...]"""
    pid, tty, fds, start = int(argv[0]), argv[1] == "1", [int(a) for a in argv[2:8]], argv[8:]
    server = Server(pid, tty, fds)
    for sig in FORWARDED:
        _signal.signal(sig, lambda signum, _frame: kill(pid, signum))
    if start:  # a foreground -i/-t: the process starts once its client is there
        server.accept(ATTACH_WAIT)
        from conman_systemd import runner

        runner.run(start)
    server.serve()
    status = os.waitid(os.P_PID, pid, os.WEXITED)
    assert status is not None
    server.finish(exit_code(status))
    return exit_like(status)

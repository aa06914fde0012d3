"""The shim as the IO server of an interactive container (-i or -t). Stdlib only.

The shim stays the unit's main process and owns the container's stdio: pipes, or the pty master
runc hands over on --console-socket. It copies the output to the journal (stdout and stderr as
separate streams) and to every client attached to <runroot>/<id>/attach (mode 0600), writes what
clients send to the container's stdin, resizes the pty, forwards signals, and finally exits as
the container did, so the unit still records the container's exit code.
"""

from __future__ import annotations

import errno
import fcntl
import os
import selectors
import signal
import socket
import struct
import termios
import time

from conman_systemd.core import systemd_io
from conman_systemd.core.attach_proto import Decoder, Kind, frame, int_frame, unpack_int, unpack_size
from conman_systemd.core.spec import ContainerSpec
from conman_systemd.core.store import Paths, write_record
from conman_systemd.shim import exit_code, exit_like, finish, result_of, runc, runc_create

ATTACH_WAIT = 30.0  # how long a foreground start waits for its client before starting anyway
CLIENT_TIMEOUT = 2.0  # a client that cannot take output this long is dropped
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
             signal.SIGWINCH)  # fmt: skip


def attach_path(paths: Paths, cid: str) -> str:
    return os.path.join(paths.run_dir(cid), "attach")


def _listen(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    old = os.umask(0o177)  # the socket is born 0600: only root may attach
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    sock.listen(16)
    return sock


def _receive_pty(listener: socket.socket) -> int:
    """The pty master runc sends over the console socket (SCM_RIGHTS)."""
    listener.settimeout(10)
    conn, _ = listener.accept()
    with conn:
        _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
    if not fds:
        raise OSError(errno.EIO, "runc sent no pty master on the console socket")
    return fds[0]


class Container:
    """The container's side of the stdio: where input goes and what output comes from."""

    def __init__(self, paths: Paths, spec: ContainerSpec) -> None:
        self.tty = spec.tty
        self.stdin: int | None = None  # our end of the container's stdin (the master with -t)
        self.outputs: dict[int, Kind] = {}  # our read ends and which stream each is
        run_dir = paths.run_dir(spec.id)
        if spec.tty:
            console = os.path.join(run_dir, "console.sock")
            listener = _listen(console)
            try:
                self.pid = runc_create(paths, spec, os.open(os.devnull, os.O_RDWR), _null(), _null(),
                                       console_socket=console)  # fmt: skip
                master = _receive_pty(listener)
            finally:
                listener.close()
                os.unlink(console)
            self.stdin = master
            self.outputs[master] = Kind.STDOUT
            return
        in_r, in_w = os.pipe2(os.O_CLOEXEC) if spec.interactive else (os.open(os.devnull, os.O_RDONLY), -1)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            self.pid = runc_create(paths, spec, in_r, out_w, err_w)
        finally:
            for fd in (in_r, out_w, err_w):
                os.close(fd)
        self.stdin = in_w if in_w >= 0 else None
        self.outputs = {out_r: Kind.STDOUT, err_r: Kind.STDERR}

    def close_stdin(self) -> None:
        if self.stdin is None:
            return
        if self.tty:
            os.write(self.stdin, b"\x04")  # a terminal's end of input
        else:
            os.close(self.stdin)
            self.stdin = None

    def resize(self, rows: int, cols: int) -> None:
        if self.tty and self.stdin is not None:
            fcntl.ioctl(self.stdin, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _null() -> int:
    return os.open(os.devnull, os.O_WRONLY)


class Server:
    def __init__(self, spec: ContainerSpec, container: Container, listener: socket.socket) -> None:
        self.spec = spec
        self.c = container
        self.listener = listener
        self.sel = selectors.DefaultSelector()
        self.clients: dict[socket.socket, Decoder] = {}
        self.journal = {
            Kind.STDOUT: systemd_io.journal_stream(spec.name, spec.unit, systemd_io.PRIORITY_INFO),
            Kind.STDERR: systemd_io.journal_stream(spec.name, spec.unit, systemd_io.PRIORITY_ERR),
        }

    def accept(self) -> None:
        conn, _ = self.listener.accept()
        conn.settimeout(CLIENT_TIMEOUT)
        self.clients[conn] = Decoder()
        self.sel.register(conn, selectors.EVENT_READ, "client")

    def drop(self, conn: socket.socket) -> None:
        self.sel.unregister(conn)
        del self.clients[conn]
        conn.close()

    def broadcast(self, data: bytes) -> None:
        for conn in list(self.clients):
            try:
                conn.sendall(data)
            except OSError:
                self.drop(conn)

    def output(self, fd: int) -> bool:
        """Copy what the container wrote; False at its end (EOF, or EIO on a pty)."""
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            if e.errno != errno.EIO:
                raise
            data = b""
        if not data:
            self.sel.unregister(fd)
            os.close(fd)
            return False
        kind = self.c.outputs[fd]
        _write_all(self.journal[kind], data)
        self.broadcast(frame(kind, data))
        return True

    def client(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.drop(conn)
            return
        for kind, payload in self.clients[conn].feed(data):
            if kind is Kind.STDIN and self.c.stdin is not None:
                _write_all(self.c.stdin, payload)
            elif kind is Kind.STDIN_EOF:
                self.c.close_stdin()
            elif kind is Kind.RESIZE:
                self.c.resize(*unpack_size(payload))
            elif kind is Kind.SIGNAL:
                _kill(self.c.pid, unpack_int(payload))

    def serve(self, pidfd: int) -> None:
        for fd in self.c.outputs:
            self.sel.register(fd, selectors.EVENT_READ, "output")
        self.sel.register(self.listener, selectors.EVENT_READ, "listener")
        self.sel.register(pidfd, selectors.EVENT_READ, "exit")
        open_outputs = len(self.c.outputs)
        exited_at: float | None = None
        while open_outputs and (exited_at is None or time.monotonic() - exited_at < 2.0):
            for key, _ in self.sel.select(timeout=0.5):
                if key.data == "output":
                    open_outputs -= not self.output(key.fd)
                elif key.data == "client":
                    self.client(key.fileobj)  # type: ignore[arg-type]
                elif key.data == "listener":
                    self.accept()
                elif key.data == "exit":
                    # The init is gone: drain what is left, for at most 2 s (a daemonised
                    # grandchild may hold a pipe open).
                    self.sel.unregister(pidfd)
                    exited_at = time.monotonic()

    def finish(self, code: int) -> None:
        self.broadcast(int_frame(Kind.EXIT, code))
        for conn in list(self.clients):
            self.drop(conn)
        for fd in self.journal.values():
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BrokenPipeError:
            return


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def serve(paths: Paths, spec: ContainerSpec) -> int:
    listener = _listen(attach_path(paths, spec.id))
    container = Container(paths, spec)
    for sig in FORWARDED:
        if sig != signal.SIGWINCH:
            signal.signal(sig, lambda signum, _frame: _kill(container.pid, signum))
    server = Server(spec, container, listener)
    write_record(paths, spec.id, "started", started_at=time.time(), pid=container.pid)
    systemd_io.notify(
        f"READY=1\nSTATUS=container {spec.name} is running (init pid {container.pid}, attachable)"
    )
    if spec.wait_for_attach:
        listener.settimeout(ATTACH_WAIT)
        try:
            server.accept()
        except TimeoutError:
            pass
        listener.settimeout(None)
    runc(paths, "start", spec.id)
    pidfd = os.pidfd_open(container.pid)
    server.serve(pidfd)
    status = os.waitid(os.P_PID, container.pid, os.WEXITED)
    assert status is not None
    server.finish(exit_code(status))
    listener.close()
    finish(paths, spec, exit_code(status), result_of(spec, status))
    return exit_like(status)

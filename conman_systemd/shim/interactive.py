"""Starting an interactive container (-i or -t): its stdio are ours to serve, so the shim stays.

The container is created with pipes, or with a pty whose master the runtime hands over on
--console-socket; the start process then execs a fresh, lean interpreter as the IO server
(io_server.py) that keeps those fds for as long as the container runs. A fresh process holds only
what serving needs: the IO server of every -i/-t container stays in memory.
"""

from __future__ import annotations

import _socket
import os
import sys

from conman_systemd.container.paths import Paths, record_start
from conman_systemd.container.runtime import Runtime
from conman_systemd.container.spec import ContainerSpec
from conman_systemd.runner import DEVNULL
from conman_systemd.shim import systemd_io
from conman_systemd.shim.unix import accept, listen


def _receive_pty(listener: _socket.socket) -> int:
    """The pty master the runtime sends over the console socket (SCM_RIGHTS)."""
    listener.settimeout(10)
    conn = accept(listener)
    try:
        _, ancillary, _, _ = conn.recvmsg(1024, _socket.CMSG_SPACE(4))
    finally:
        conn.close()
    for level, kind, data in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(data) >= 4:
            return int.from_bytes(data[:4], sys.byteorder)
    raise OSError("the runtime sent no pty master on the console socket")


def _create_with_pty(paths: Paths, spec: ContainerSpec, runtime: Runtime) -> tuple[int, int, int]:
    """(stdin, stdout, stderr) fds on our side: the pty master twice, no separate stderr."""
    console = os.path.join(paths.run_dir(spec.id), "console.sock")
    listener = listen(console)
    try:
        runtime.create(spec.id, (DEVNULL, DEVNULL, DEVNULL), console_socket=console)
        master = _receive_pty(listener)
    finally:
        listener.close()
        os.unlink(console)
    return master, master, -1


def _create_with_pipes(paths: Paths, spec: ContainerSpec, runtime: Runtime) -> tuple[int, int, int]:
    in_r, in_w = os.pipe() if spec.interactive else (DEVNULL, -1)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        runtime.create(spec.id, (in_r, out_w, err_w))
    finally:
        for fd in (in_r, out_w, err_w):
            if fd >= 0:
                os.close(fd)
    return in_w, out_r, err_r


def start_interactive(paths: Paths, spec: ContainerSpec) -> int:
    listener = listen(paths.attach_socket(spec.id))
    runtime = Runtime(spec.runtime, paths)
    create = _create_with_pty if spec.tty else _create_with_pipes
    stdin, stdout, stderr = create(paths, spec, runtime)
    pid = record_start(paths, spec.id)
    priorities = (systemd_io.PRIORITY_INFO, systemd_io.PRIORITY_ERR)  # the container's stdout, stderr
    journal = [systemd_io.journal_stream(spec.name, spec.unit, p) for p in priorities]
    systemd_io.notify(f"READY=1\nSTATUS=container {spec.name} is running (init pid {pid}, attachable)")
    start = runtime.start_argv(spec.id)
    if not spec.wait_for_attach:
        runtime.start(spec.id)
        start = []
    fds = [stdin, stdout, stderr, listener.detach(), *journal]
    for fd in fds:
        if fd >= 0:
            os.set_inheritable(fd, True)
    from conman_systemd.shim.machined import register_in_background

    register_in_background(spec, pid, paths.rootfs(spec.id))
    server = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__main__.py")
    argv = [sys.executable, "-I", "-S", server, "io", str(pid), str(int(spec.tty)), *map(str, fds), *start]
    os.execv(sys.executable, argv)

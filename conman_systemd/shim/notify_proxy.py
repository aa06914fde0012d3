"""The shim as the unit's main process that passes notifications on: the app's own (--sdnotify=
container) and the health checks' (their status on the unit's STATUS line; READY=1 after the first
pass with --sdnotify=healthy).

With --sdnotify=container the container gets a notify socket of ours ($NOTIFY_SOCKET=
/run/notify/notify.sock, a directory of the run dir bound in); the health checks (scheduled by
systemd, shim/health_timer.py) send to <run dir>/health.sock, which only root reaches. systemd
hears only its unit's main or control process (NotifyAccess=exec), so the shim stays the main
process, as the IO server of an interactive container does, and passes on what a service may say
of itself: READY, STATUS, RELOADING, STOPPING, WATCHDOG, ERRNO, BUSERROR, EXTEND_TIMEOUT_USEC,
WATCHDOG_USEC. MAINPID= and file descriptors are dropped: the app cannot name a host process as
the unit's, nor hand fds to systemd. A barrier (BARRIER=1) is answered once systemd has processed
what came before it. When the container's init ends the shim records the end and exits as it did.

Every notification is passed on as it comes: runc's own proxy passes on the first READY=1 only, so
WatchdogSec= (WATCHDOG=1 every interval) could not work through it.
"""

from __future__ import annotations

import _socket
import os
import select
import sys

from conman_systemd.container.paths import Paths, remove_records
from conman_systemd.container.spec import ContainerSpec
from conman_systemd.shim import systemd_io
from conman_systemd.shim.exits import FORWARDED, exit_code, exit_like, kill
from conman_systemd.shim.launch import create_and_start, edit_oci_config, say_ready

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal as _signal
    from typing import Any
else:
    import _signal

PASSED_ON = frozenset({"READY", "STATUS", "RELOADING", "STOPPING", "WATCHDOG", "ERRNO", "BUSERROR",
                       "EXTEND_TIMEOUT_USEC", "WATCHDOG_USEC", "MONOTONIC_USEC"})  # fmt: skip
MAX_MESSAGE = 4096
MAX_FDS = 16


def allowed(message: bytes) -> tuple[str, bool]:
    """The lines systemd may hear, and whether the message was a barrier."""
    lines = message.decode(errors="replace").splitlines()
    kept = [line for line in lines if line.partition("=")[0] in PASSED_ON]
    return "\n".join(kept), "BARRIER=1" in lines


def bind(path: str, mode: int) -> _socket.socket:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
    if os.path.lexists(path):  # a restart after a crash
        os.unlink(path)
    sock.bind(path)
    os.chmod(path, mode)
    return sock


def app_socket(paths: Paths, spec: ContainerSpec) -> _socket.socket:
    os.makedirs(paths.notify_dir(spec.id), mode=0o755, exist_ok=True)
    # Any user of the container may notify, as any process of a service may.
    return bind(os.path.join(paths.notify_dir(spec.id), "notify.sock"), 0o777)


def health_socket(paths: Paths, spec: ContainerSpec) -> _socket.socket:
    return bind(paths.health_socket(spec.id), 0o600)


def pass_on_watchdog(paths: Paths, spec: ContainerSpec) -> None:
    """The unit's WatchdogSec= reaches the app as sd_watchdog_enabled(3) reads it: WATCHDOG_USEC
    in its environment (not WATCHDOG_PID: the app is not the process systemd started)."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec:
        return

    def add(config: dict[str, Any]) -> None:
        env = [e for e in config["process"]["env"] if not e.startswith("WATCHDOG_USEC=")]
        config["process"]["env"] = [*env, f"WATCHDOG_USEC={usec}"]

    edit_oci_config(paths, spec, add)


def receive(sock: _socket.socket) -> bytes:
    message, ancillary, _, _ = sock.recvmsg(MAX_MESSAGE, _socket.CMSG_SPACE(4 * MAX_FDS))
    for level, kind, data in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            for i in range(0, len(data) - len(data) % 4, 4):
                os.close(int.from_bytes(data[i : i + 4], sys.byteorder))  # a barrier's, or refused fds
    return message


def stay(paths: Paths, spec: ContainerSpec) -> int:
    """Start the container and stay its unit's main process until it ends; its exit code."""
    sockets = []
    if spec.sdnotify == "container":
        sockets.append(app_socket(paths, spec))
        pass_on_watchdog(paths, spec)
    if spec.health is not None:
        sockets.append(health_socket(paths, spec))
        remove_records(paths, spec.id, ("health",))  # "starting" again
    pid = create_and_start(paths, spec)
    if spec.sdnotify == "conman":
        say_ready(spec, pid)
        from conman_systemd.shim.machined import register_in_background

        register_in_background(spec, pid, paths.rootfs(spec.id))
    else:
        waiting = "its READY=1" if spec.sdnotify == "container" else "a passing health check"
        systemd_io.notify(f"STATUS=container {spec.name} runs (init pid {pid}), waiting for {waiting}")
    if spec.health is not None:
        from conman_systemd.shim.health_timer import start_timer

        start_timer(paths, spec)
    return serve(paths, spec, pid, sockets)


def serve(paths: Paths, spec: ContainerSpec, pid: int, sockets: list[_socket.socket]) -> int:
    """Pass notifications on until the init ends; then record the end and exit as it did."""
    for sig in FORWARDED:
        _signal.signal(sig, lambda signum, _frame: kill(pid, signum))
    pidfd = os.pidfd_open(pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    by_fd = {sock.fileno(): sock for sock in sockets}
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    ready = spec.sdnotify == "conman"  # then the shim said READY=1 itself
    while True:
        events = dict(poller.poll())
        if pidfd in events:
            break
        for fd in events:
            text, barrier = allowed(receive(by_fd[fd]))
            if text:
                systemd_io.notify(text)
            if barrier:
                systemd_io.notify_barrier()
            if not ready and "READY=1" in text.splitlines():
                ready = True
                from conman_systemd.shim.machined import register_in_background

                register_in_background(spec, pid, paths.rootfs(spec.id))
    status = os.waitid(os.P_PID, pid, os.WEXITED)
    assert status is not None
    from conman_systemd.shim.finish import finish, result_of

    finish(paths, spec, exit_code(status), result_of(spec, status))
    return exit_like(status)

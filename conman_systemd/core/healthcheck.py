"""One health check of a running container: `conman healthcheck run`, by hand or scheduled by
systemd (shim/health_timer.py). The command runs in the container through the runtime; its
result goes to the container's health record, the status to the unit's STATUS line (through the
shim, the unit's main process), READY=1 after the first pass with --sdnotify=healthy, and, when
the container has just turned unhealthy, its --health-on-failure action happens."""

from __future__ import annotations

import _socket
import os
import time

from conman_systemd import runner
from conman_systemd.container.runtime import Runtime, last_error
from conman_systemd.container.spec import SIGKILL
from conman_systemd.core.containers import not_running
from conman_systemd.core.health import Health
from conman_systemd.errors import ConmanError
from conman_systemd.log import debug

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conman_systemd.container.spec import ContainerSpec, HealthCheck
    from conman_systemd.core.lifecycle import Lifecycle


def run_check(lc: Lifecycle, spec: ContainerSpec, check: HealthCheck) -> tuple[int, str]:
    """The command's exit code and output; a check that takes too long fails with code -1."""
    log = os.path.join(lc.paths.run_dir(spec.id), f"health-{os.urandom(4).hex()}.log")
    argv = Runtime(spec.runtime, lc.paths).exec_argv(
        spec.id, check.test, log, tty=False, detach=False, env=[], workdir=None, user=None
    )
    try:
        result = runner.run(argv, check=False, timeout=check.timeout)
        return result.returncode, last_error(log) or result.stdout + result.stderr
    except ConmanError:
        return -1, f"Health check exceeded timeout ({check.timeout:g}s)"
    finally:
        try:
            os.unlink(log)
        except FileNotFoundError:
            pass


def check_once(lc: Lifecycle, spec: ContainerSpec, scheduled: bool) -> str:
    """Run the check, record it, say it; the container's health status after it."""
    check = spec.health
    if check is None:
        raise ConmanError(f"container {spec.name} has no health check", hint="run it with --health-cmd CMD")
    info = lc.info(spec)
    if not info.running:
        raise not_running(spec)
    health = Health(lc.paths, spec.id)
    before = health.status
    begun = time.time()
    code, output = run_check(lc, spec, check)
    started = float(info.records.started.get("started_at") or begun)
    status = health.add(check, started, begun, code, output)
    ready = "\nREADY=1" if spec.sdnotify == "healthy" and status == "healthy" else ""
    tell_shim(lc, spec, f"STATUS=container {spec.name} is running (init pid {info.pid}), {status}{ready}")
    if scheduled and status == "unhealthy" and before != "unhealthy":
        act(lc, spec, check.on_failure, info.pid)
    return status


def tell_shim(lc: Lifecycle, spec: ContainerSpec, message: str) -> None:
    """To the shim's health socket: it passes the lines on to systemd as the unit's main process."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC)
    try:
        sock.sendto(message.encode(), lc.paths.health_socket(spec.id))
    except OSError as e:  # an interactive container's IO server has no such socket
        debug(f"health: no shim to tell ({e.strerror})")
    finally:
        sock.close()


def act(lc: Lifecycle, spec: ContainerSpec, action: str, pid: int) -> None:
    """podman's --health-on-failure: kill the container (its restart policy then applies), restart
    or stop its unit; none does nothing but the status."""
    debug(f"health: {spec.name} turned unhealthy: {action}")
    if action == "kill":
        try:
            os.kill(pid, SIGKILL)
        except ProcessLookupError:
            pass
    elif action == "restart":
        lc.systemd.restart_no_wait(spec.unit)
    elif action == "stop":
        lc.systemd.stop_no_wait(spec.unit)

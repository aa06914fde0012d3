"""`conman-shim stop`: the unit's ExecStop. The stop signal, --stop-timeout, then SIGKILL.

systemd runs ExecStop also after the container exited by itself; when.sh skips this then ($MAINPID
is unset), so this runs only while the container does.
"""

from __future__ import annotations

import os
import select
import time

from conman_systemd.container.paths import USER_STOPPED, Paths, read_record, write_record
from conman_systemd.container.spec import ContainerSpec
from conman_systemd.errors import ConmanError
from conman_systemd.shim import backoff

TYPE_CHECKING = False
if TYPE_CHECKING:  # typeshed has no stubs for _signal; signal re-exports all of it
    import signal as _signal
else:
    import _signal

KILL_GRACE = 5.0


def _shutting_down() -> bool:
    """Whether the machine is going down (then every unit stops, and no user asked for it)."""
    from conman_systemd.dbus.systemd import Systemd

    try:
        with Systemd.connect() as systemd:
            return systemd.shutting_down()
    except (ConmanError, OSError):
        return False


def _timeout(paths: Paths, spec: ContainerSpec) -> float:
    """`conman stop -t N` leaves its N for us; else the container's --stop-timeout."""
    try:
        with open(paths.stop_timeout(spec.id)) as f:
            return float(f.read())
    except (OSError, ValueError):
        return spec.stop_timeout


def stop(paths: Paths, spec: ContainerSpec) -> int:
    backoff.stop_requested(paths, spec.id)  # asked for: no back-off counts it
    if spec.restart == "unless-stopped" and not _shutting_down():
        # `systemctl stop` is a user's stop too: the container stays down at the next boot.
        write_record(paths, spec.id, USER_STOPPED, at=time.time())
    # The container's init, as recorded at start: with -i/-t the main process is the IO server.
    started = read_record(paths, spec.id, "started") or {}
    try:
        pidfd = os.pidfd_open(int(started.get("pid") or os.environ["MAINPID"]))
    except (KeyError, ValueError, ProcessLookupError):
        return 0  # already gone
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    try:
        for sig, wait in ((spec.stop_signal, _timeout(paths, spec)), (_signal.SIGKILL, KILL_GRACE)):
            try:
                _signal.pidfd_send_signal(pidfd, sig)
            except ProcessLookupError:
                break
            if poller.poll(wait * 1000):
                break
    finally:
        os.close(pidfd)
    return 0

"""Attaching a client to a container: its IO server's socket with -i/-t, else its journal output."""

from __future__ import annotations

import sys

from conman_systemd.core import logs
from conman_systemd.core.containers import not_running
from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:  # _signal, not signal (it imports enum, ~3 ms of every foreground run): no stubs
    import signal as _signal

    from conman_systemd.container.spec import ContainerSpec
    from conman_systemd.core.lifecycle import Lifecycle
    from conman_systemd.dbus.units import UnitWatch
else:
    import _signal


def attach(
    lc: Lifecycle, spec: ContainerSpec, detach_keys: bytes, stdin: bool, sig_proxy: bool
) -> int | None:
    """Attach to a running container; its exit code, or None when the user detached."""
    watch = lc.systemd.watch(spec.unit)
    if not lc.running(spec):
        raise not_running(spec)
    return stay_attached(lc, spec, watch, detach_keys, stdin=stdin, sig_proxy=sig_proxy)


def stay_attached(lc: Lifecycle, spec: ContainerSpec, watch: UnitWatch, detach_keys: bytes, *,
                  stdin: bool, sig_proxy: bool, from_start: bool = False) -> int | None:  # fmt: skip
    """Until the running container exits (its exit code) or the user detaches (None): through
    its IO server, or, when none owns its stdio, its output from the journal, as `docker attach`
    streams it; from_start: all of it, else what comes from now on."""
    if spec.owns_stdio:
        return attach_to_server(lc, spec, watch, detach_keys, stdin=stdin, sig_proxy=sig_proxy)
    return follow_to_exit(lc, spec, watch, logs.Tail(spec.unit, logs.Printer(), from_start=from_start))


def attach_to_server(lc: Lifecycle, spec: ContainerSpec, watch: UnitWatch, detach_keys: bytes, *,
                     stdin: bool, sig_proxy: bool) -> int | None:  # fmt: skip
    from conman_systemd.core.attach_client import Session, connect
    from conman_systemd.core.detach_keys import Detached

    try:
        sock = connect(lc.paths.attach_socket(spec.id))
    except OSError as e:
        raise ConmanError(f"cannot attach to container {spec.name}: {e.strerror}") from None
    session = Session(sock, stdin=stdin and spec.interactive, tty=spec.tty, detach_keys=detach_keys,
                      sig_proxy=sig_proxy)  # fmt: skip
    try:
        code = session.run()
    except Detached:
        print("\r\nread escape sequence", file=sys.stderr, flush=True)
        return None
    finally:
        sock.close()
    # Return once the unit is done too: its clean-up (and --rm's removal) has then happened.
    last = lc.wait(spec, watch)
    if code is None:  # the IO server went away without a word: the records or systemd know
        code = lc.exit_code(spec, last)
    return code if code is not None else 125


def follow_to_exit(lc: Lifecycle, spec: ContainerSpec, watch: UnitWatch, tail: logs.Tail) -> int:
    """Print the container's output until it exits; SIGINT or SIGTERM stop it. Its exit code."""
    interrupted: list[int] = []
    stop_sent: list[bool] = []

    def note(signum: int, _frame: object) -> None:
        interrupted.append(signum)

    def stop_if_interrupted() -> None:
        if interrupted and not stop_sent:
            stop_sent.append(True)
            lc.systemd.stop_no_wait(spec.unit)  # the wait sees it through

    old = {sig: _signal.signal(sig, note) for sig in (_signal.SIGINT, _signal.SIGTERM)}
    try:
        last = logs.follow(lc.systemd, watch, tail, each=stop_if_interrupted)
    finally:
        for sig, handler in old.items():
            _signal.signal(sig, handler)
    code = lc.exit_code(spec, last)
    if code is None:
        raise ConmanError(f"the exit status of container {spec.name} was not recorded",
                          hint=f"see `journalctl -u {spec.unit}`")  # fmt: skip
    return code

"""Attaching a client to a container: its IO server's socket with -i/-t, else its journal output."""

from __future__ import annotations

import sys
import time

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


BOTH = frozenset({"stdout", "stderr"})


def stay_attached(lc: Lifecycle, spec: ContainerSpec, watch: UnitWatch, detach_keys: bytes, *,
                  stdin: bool, sig_proxy: bool, from_start: bool = False,
                  outputs: frozenset[str] = BOTH) -> int | None:  # fmt: skip
    """Until the running container exits (its exit code) or the user detaches (None): through
    its IO server, or, when none owns its stdio, its output from the journal, as `docker attach`
    streams it; from_start: all of it, else what comes from now on. outputs: the streams shown
    (docker's `run -a`)."""
    if spec.owns_stdio:
        return attach_to_server(lc, spec, watch, detach_keys, stdin=stdin, sig_proxy=sig_proxy,
                                outputs=outputs)  # fmt: skip
    printer = logs.Printer(out=None if "stdout" in outputs else logs.DISCARD,
                           err=None if "stderr" in outputs else logs.DISCARD)  # fmt: skip
    tail = logs.Tail(spec.unit, printer, from_start=from_start)
    return follow_to_exit(lc, spec, watch, tail, sig_proxy)


def attach_to_server(
    lc: Lifecycle, spec: ContainerSpec, watch: UnitWatch, detach_keys: bytes, *,
    stdin: bool, sig_proxy: bool, outputs: frozenset[str] = BOTH,
) -> int | None:  # fmt: skip
    from conman_systemd.core.attach_client import Interrupted, Session, connect
    from conman_systemd.core.detach_keys import Detached

    try:
        sock = connect(lc.paths.attach_socket(spec.id))
    except OSError as e:
        raise ConmanError(f"cannot attach to container {spec.name}: {e.strerror}") from None
    session = Session(sock, stdin=stdin and spec.interactive, tty=spec.tty, detach_keys=detach_keys,
                      sig_proxy=sig_proxy, outputs=outputs)  # fmt: skip
    try:
        code = session.run()
    except Detached:
        print("\r\nread escape sequence", file=sys.stderr, flush=True)
        return None
    except Interrupted as e:
        return 128 + int(e.args[0])
    finally:
        sock.close()
    # Return once the unit is done too: its clean-up (and --rm's removal) has then happened.
    last = lc.wait(spec, watch)
    if code is None:  # the IO server went away without a word: the records or systemd know
        code = lc.exit_code(spec, last)
    return code if code is not None else 125


# As docker's --sig-proxy: what the client gets, the container's init gets. After one of the
# ending signals, a container still running when its stop timeout has passed is stopped (stop
# signal, then SIGKILL): a foreground run never strands its container.
PROXIED = (_signal.SIGHUP, _signal.SIGINT, _signal.SIGQUIT, _signal.SIGUSR1, _signal.SIGUSR2,
           _signal.SIGALRM, _signal.SIGTERM)  # fmt: skip
ENDING = frozenset({_signal.SIGHUP, _signal.SIGINT, _signal.SIGTERM})


class ClientSignalled(Exception):
    """--sig-proxy=false: a signal ends the client alone."""


def follow_to_exit(lc: Lifecycle, spec: ContainerSpec, watch: UnitWatch, tail: logs.Tail,
                   sig_proxy: bool = True) -> int:  # fmt: skip
    """Print the container's output until it exits; its exit code. Signals: see PROXIED."""
    received: list[int] = []
    stop_at: list[float] = []

    def note(signum: int, _frame: object) -> None:
        received.append(signum)

    def pass_signals_on() -> None:
        while received:
            sig = received.pop(0)
            if not sig_proxy:
                raise ClientSignalled(sig)
            try:
                lc.systemd.kill(spec.unit, "main", sig)
            except ConmanError:
                pass  # it has just ended: the wait sees that
            if sig in ENDING and not stop_at:
                stop_at.append(time.monotonic() + spec.stop_timeout)
        if stop_at and stop_at[0] and time.monotonic() >= stop_at[0]:
            stop_at[0] = 0.0
            lc.systemd.stop_no_wait(spec.unit)  # the wait sees it through

    watched = PROXIED if sig_proxy else tuple(ENDING)
    old = {sig: _signal.signal(sig, note) for sig in watched}
    try:
        last = logs.follow(lc.systemd, watch, tail, each=pass_signals_on)
    except ClientSignalled as e:
        return 128 + int(e.args[0])  # the container runs on (and --rm removes it when it ends)
    finally:
        for sig, handler in old.items():
            _signal.signal(sig, handler)
    code = lc.exit_code(spec, last)
    if code is None:
        raise ConmanError(f"the exit status of container {spec.name} was not recorded",
                          hint=f"see `journalctl -u {spec.unit}`")  # fmt: skip
    return code

"""Attaching a client to a container: its shim's socket with -i/-t, else its journal output."""

from __future__ import annotations

import os
import signal
import sys

from conman_systemd.core.attach_client import Detached, Session, connect
from conman_systemd.core.lifecycle import Lifecycle
from conman_systemd.core.spec import ContainerSpec
from conman_systemd.errors import ConmanError


def attach_socket(lc: Lifecycle, spec: ContainerSpec) -> str:
    return os.path.join(lc.paths.run_dir(spec.id), "attach")


def attach(
    lc: Lifecycle, spec: ContainerSpec, detach_keys: bytes, stdin: bool, sig_proxy: bool
) -> int | None:
    """Attach to a running container; its exit code, or None when the user detached."""
    if not lc.state(spec).is_running:
        raise ConmanError(
            f"container {spec.name} is not running", hint=f"start it with `conman start {spec.name}`"
        )
    if not (spec.interactive or spec.tty):
        # No shim owns its stdio: its output is in the journal, as `docker attach` streams it.
        from conman_systemd.core.logs import last_cursor

        return attach_until_exit(lc, spec, after_cursor=last_cursor(spec.unit) or "")
    try:
        sock = connect(attach_socket(lc, spec))
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
    lc.wait(spec)
    if code is None:  # the shim went away without a word: the records have the exit
        code = lc.exit_code(spec)
    return code if code is not None else 125


def attach_until_exit(lc: Lifecycle, spec: ContainerSpec, after_cursor: str | None = None) -> int:
    """Stream the container's output from the journal until it exits; SIGINT or SIGTERM stop it.
    Its exit code."""
    from conman_systemd.core import logs
    from conman_systemd.dbus import messages

    interrupted: list[int] = []
    stop_sent: list[bool] = []

    def note(signum: int, _frame: object) -> None:
        interrupted.append(signum)

    def stop_if_interrupted() -> None:
        if interrupted and not stop_sent:
            stop_sent.append(True)
            lc.bus.call(messages.stop_unit(spec.unit))  # the wait sees it through

    def exited() -> None:
        lc.wait(spec, poll=0.25, each=stop_if_interrupted)

    old = {sig: signal.signal(sig, note) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        logs.follow_until(spec.unit, logs.Printer(), exited, after_cursor=after_cursor)

    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    code = lc.exit_code(spec)
    if code is None:
        raise ConmanError(f"the exit status of container {spec.name} was not recorded",
                          hint=f"see `journalctl -u {spec.unit}`")  # fmt: skip
    return code

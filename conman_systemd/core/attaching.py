"""Attaching a client to a container: its shim's socket with -i/-t, else its journal output."""

from __future__ import annotations

import os
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
        from conman_systemd.cli.run import attach_until_exit
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

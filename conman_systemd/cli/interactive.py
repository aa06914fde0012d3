"""`conman attach`."""

from __future__ import annotations

import click

from conman_systemd.cli import App
from conman_systemd.cli.common import session
from conman_systemd.core.detach_keys import DEFAULT_DETACH_KEYS, parse_detach_keys


@click.command()
@click.option("--detach-keys", default=DEFAULT_DETACH_KEYS, show_default=True, help="Keys that detach.")
@click.option("--no-stdin", is_flag=True, help="Do not pass our stdin on.")
@click.option(
    "--sig-proxy/--no-sig-proxy", default=True, help="Pass signals on to the container (not with -t)."
)
@click.argument("container")
@click.pass_obj
def attach(app: App, detach_keys: str, no_stdin: bool, sig_proxy: bool, container: str) -> None:
    """Attach to a running container's main process: its output, and its stdin with -i."""
    from conman_systemd.core.attaching import attach as attach_to

    keys = parse_detach_keys(detach_keys)
    with session(app) as lc:
        code = attach_to(lc, lc.store.resolve(container), keys, stdin=not no_stdin, sig_proxy=sig_proxy)
    raise SystemExit(0 if code is None else code)

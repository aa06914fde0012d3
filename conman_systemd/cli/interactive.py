"""`conman attach` and `conman exec`."""

from __future__ import annotations

import click

from conman_systemd.cli import App
from conman_systemd.cli.common import session
from conman_systemd.core.attach_client import DEFAULT_DETACH_KEYS, parse_detach_keys


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


@click.command("exec", context_settings={"allow_interspersed_args": False})
@click.option("-i", "--interactive", is_flag=True, help="Keep stdin open.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a terminal.")
@click.option("-d", "--detach", is_flag=True, help="Run in the background.")
@click.option("-e", "--env", multiple=True, help="Set an environment variable (K=V).")
@click.option("-w", "--workdir", help="Working directory inside the container.")
@click.option("-u", "--user", help="UID[:GID] or names from the image.")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_obj
def exec_(app: App, interactive: bool, tty: bool, detach: bool, env: tuple[str, ...], workdir: str | None,
          user: str | None, container: str, command: tuple[str, ...]) -> None:  # fmt: skip
    """Run a new process in a running container."""
    import os

    from conman_systemd.cli.run import check_terminal
    from conman_systemd.core import options
    from conman_systemd.core.execute import execute

    if not detach:
        check_terminal(interactive, tty)

    items = options.parse_env(env, (), os.environ)
    cwd = options.parse_workdir(workdir) if workdir else None
    with session(app) as lc:
        spec = lc.store.resolve(container)
        uid_gid = options.parse_user(user, spec.rootfs) if user else None
        code = execute(lc, spec, command, interactive=interactive, tty=tty, detach=detach, env=items,
                       workdir=cwd, user=uid_gid)  # fmt: skip
    raise SystemExit(code)

"""`conman start|stop|restart|kill|rm|wait|unit`: act on existing containers by name, ID or prefix."""

from __future__ import annotations

import click

from conman_systemd.cli import App
from conman_systemd.cli.common import session
from conman_systemd.core.options import parse_signal, parse_stop_timeout

_names = click.argument("containers", nargs=-1, required=True)


@click.command()
@click.option("-a", "--attach", is_flag=True, help="Stream the output and exit with the container's code.")
@click.argument("container")
@click.pass_obj
def start(app: App, attach: bool, container: str) -> None:
    """Start a created or exited container."""
    with session(app) as lc:
        spec = lc.store.resolve(container)
        cursor = None
        if attach:
            from conman_systemd.core.logs import last_cursor

            cursor = last_cursor(spec.unit)
        with lc.store.locked(spec):
            lc.start(spec)
        if not attach:
            click.echo(container)
            return
        from conman_systemd.cli.run import attach_until_exit

        code = attach_until_exit(lc, spec, after_cursor=cursor)
    raise SystemExit(code)


@click.command()
@click.option(
    "-t", "--time", "timeout", type=int, help="Seconds to wait before SIGKILL (default: the container's)."
)
@_names
@click.pass_obj
def stop(app: App, timeout: int | None, containers: tuple[str, ...]) -> None:
    """Stop running containers: the stop signal, then SIGKILL after the timeout."""
    if timeout is not None:
        parse_stop_timeout(timeout)
    with session(app) as lc:
        for ref in containers:
            spec = lc.store.resolve(ref)
            with lc.store.locked(spec):
                lc.stop(spec, timeout)
            click.echo(ref)


@click.command()
@click.option(
    "-t", "--time", "timeout", type=int, help="Seconds to wait before SIGKILL (default: the container's)."
)
@_names
@click.pass_obj
def restart(app: App, timeout: int | None, containers: tuple[str, ...]) -> None:
    """Stop, then start containers."""
    if timeout is not None:
        parse_stop_timeout(timeout)
    with session(app) as lc:
        for ref in containers:
            spec = lc.store.resolve(ref)
            with lc.store.locked(spec):
                lc.stop(spec, timeout)
                lc.start(spec)
            click.echo(ref)


@click.command()
@click.option("-s", "--signal", "sig", default="SIGKILL", show_default=True, help="Signal to send.")
@_names
@click.pass_obj
def kill(app: App, sig: str, containers: tuple[str, ...]) -> None:
    """Send a signal to containers' init process."""
    number = parse_signal(sig)
    with session(app) as lc:
        for ref in containers:
            lc.kill(lc.store.resolve(ref), number)
            click.echo(ref)


@click.command()
@click.option("-f", "--force", is_flag=True, help="Kill and remove running containers.")
@_names
@click.pass_obj
def rm(app: App, force: bool, containers: tuple[str, ...]) -> None:
    """Remove containers: their unit, state, writable layer and name."""
    with session(app) as lc:
        for ref in containers:
            spec = lc.store.resolve(ref)
            with lc.store.locked(spec):
                lc.remove(spec, force)
            click.echo(ref)


@click.command()
@_names
@click.pass_obj
def wait(app: App, containers: tuple[str, ...]) -> None:
    """Wait until containers exit; print each exit code."""
    with session(app) as lc:
        for ref in containers:
            spec = lc.store.resolve(ref)
            lc.wait(spec)
            code = lc.exit_code(spec)
            click.echo("" if code is None else code)


@click.command()
@click.argument("container")
@click.pass_obj
def unit(app: App, container: str) -> None:
    """Print the systemd unit of a container."""
    from conman_systemd.cli.common import require_root
    from conman_systemd.core.containers import Store

    require_root()
    click.echo(Store(app.paths).resolve(container).unit)

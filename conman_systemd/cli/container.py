"""`conman start|stop|restart|kill|rm|wait|unit`: act on existing containers by name, ID or prefix."""

from __future__ import annotations

from collections.abc import Callable

import click

from conman_systemd.cli import App
from conman_systemd.cli.common import session
from conman_systemd.container.spec import ContainerSpec
from conman_systemd.core.lifecycle import Lifecycle
from conman_systemd.core.options import parse_signal, parse_stop_timeout

_names = click.argument("containers", nargs=-1, required=True)


@click.command()
@click.option("-a", "--attach", is_flag=True, help="Stream the output and exit with the container's code.")
@click.option(
    "-i", "--interactive", is_flag=True, help="Attach stdin too (a container made with -i); implies -a."
)
@click.argument("container")
@click.pass_obj
def start(app: App, attach: bool, interactive: bool, container: str) -> None:
    """Start a created or exited container."""
    from conman_systemd.core.logs import Printer, Tail

    with session(app) as lc:
        spec = lc.store.resolve(container)
        attach = attach or interactive
        # -i/-t containers: through their IO server (stdin, the terminal), else the journal.
        server = attach and spec.owns_stdio
        tail = Tail(spec.unit, Printer()) if attach and not server else None  # only this run's output
        with lc.store.locked(spec):
            watch = lc.start(spec)
        if server:
            from conman_systemd.core.attaching import attach_to_server
            from conman_systemd.core.detach_keys import DEFAULT_DETACH_KEYS, parse_detach_keys

            keys = parse_detach_keys(DEFAULT_DETACH_KEYS)
            code = attach_to_server(lc, spec, watch, keys, stdin=interactive, sig_proxy=True)
            if code is None:  # detached
                return
        elif tail is not None:
            from conman_systemd.core.attaching import follow_to_exit

            code = follow_to_exit(lc, spec, watch, tail)
        else:
            click.echo(container)
            return
    raise SystemExit(code)


_time = click.option("-t", "--time", "timeout", type=int,
                     help="Seconds to wait before SIGKILL (default: the container's).")  # fmt: skip


def _each(app: App, refs: tuple[str, ...], action: Callable[[Lifecycle, ContainerSpec], None]) -> None:
    """Run action on each container under its lock, printing each name as docker does."""
    with session(app) as lc:
        for ref in refs:
            spec = lc.store.resolve(ref)
            with lc.store.locked(spec):
                action(lc, spec)
            click.echo(ref)


@click.command()
@_time
@_names
@click.pass_obj
def stop(app: App, timeout: int | None, containers: tuple[str, ...]) -> None:
    """Stop running containers: the stop signal, then SIGKILL after the timeout."""
    if timeout is not None:
        parse_stop_timeout(timeout)
    _each(app, containers, lambda lc, spec: lc.stop(spec, timeout))


@click.command()
@_time
@_names
@click.pass_obj
def restart(app: App, timeout: int | None, containers: tuple[str, ...]) -> None:
    """Stop, then start containers."""
    if timeout is not None:
        parse_stop_timeout(timeout)

    def stop_start(lc: Lifecycle, spec: ContainerSpec) -> None:
        lc.stop(spec, timeout)
        lc.start(spec)

    _each(app, containers, stop_start)


@click.command()
@click.option("-s", "--signal", "sig", default="SIGKILL", show_default=True, help="Signal to send.")
@_names
@click.pass_obj
def kill(app: App, sig: str, containers: tuple[str, ...]) -> None:
    """Send a signal to containers' init process."""
    number = parse_signal(sig)
    _each(app, containers, lambda lc, spec: lc.kill(spec, number))


@click.command()
@click.option("-f", "--force", is_flag=True, help="Kill and remove running containers.")
@click.option("-v", "--volumes", is_flag=True, help="Remove their anonymous volumes too.")
@_names
@click.pass_obj
def rm(app: App, force: bool, volumes: bool, containers: tuple[str, ...]) -> None:
    """Remove containers: their unit, state, writable layer and name."""
    _each(app, containers, lambda lc, spec: lc.remove(spec, force, volumes))


@click.command()
@_names
@click.pass_obj
def wait(app: App, containers: tuple[str, ...]) -> None:
    """Wait until containers exit; print each exit code."""
    with session(app) as lc:
        for ref in containers:
            spec = lc.store.resolve(ref)
            last = lc.wait(spec)
            code = lc.exit_code(spec, last)
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


@click.command()
@click.option("-f", "--force", is_flag=True, help="Do not ask (conman never asks; docker's flag).")
@click.pass_obj
def prune(app: App, force: bool) -> None:
    """Remove every container that is not running."""
    from conman_systemd.cli.columns import size
    from conman_systemd.container.removal import tree_size

    freed = 0
    with session(app) as lc:
        gone = [spec for spec in lc.store.all() if not lc.running(spec)]
        for spec in gone:
            freed += tree_size(app.paths.upper(spec.id))
            lc.remove(spec, force=False)
    click.echo("Deleted Containers:")
    for spec in gone:
        click.echo(spec.id)
    click.echo(f"\nTotal reclaimed space: {size(freed)}")


@click.command()
@click.argument("container")
@click.argument("new_name")
@click.pass_obj
def rename(app: App, container: str, new_name: str) -> None:
    """Rename a container (a running one keeps its unit's description until it restarts)."""
    from conman_systemd.core.options import validate_name

    name = validate_name(new_name)
    with session(app) as lc:
        spec = lc.store.resolve(container)
        if spec.declared:
            from conman_systemd.errors import ConmanError

            raise ConmanError(
                f"container {spec.name} is declared: its name is its definition file's",
                hint=f"rename its definition {spec.name}.container, then `systemctl daemon-reload`",
            )
        with lc.store.locked(spec):
            lc.store.rename(spec, name)

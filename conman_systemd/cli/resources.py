"""`conman update|pause|unpause|stats|top`: a running container's resources, from its unit."""

from __future__ import annotations

from typing import Any

import click

from conman_systemd.cli import App
from conman_systemd.cli.app import _option
from conman_systemd.cli.common import session
from conman_systemd.core.flags import UPDATE, options_of, typed
from conman_systemd.errors import ConmanError

_names = click.argument("containers", nargs=-1, required=True)


@click.command()
@_names
@click.pass_obj
def update(app: App, /, containers: tuple[str, ...], **values: Any) -> None:
    """Change a running container's resource limits, at once (the unit's properties)."""
    from conman_systemd.core.create import resource_fields
    from conman_systemd.core.resource_options import check_memory

    fields = resource_fields(typed(UPDATE, values))
    if not fields:
        raise ConmanError("nothing to update", hint="give a resource flag, e.g. --memory 512m (see --help)")
    with session(app) as lc:
        for ref in containers:
            spec = lc.store.resolve(ref)
            updated = spec.replace(**fields)
            check_memory(updated.memory, updated.memory_reservation, updated.memory_swap)
            with lc.store.locked(spec):
                lc.update(spec, updated)
            click.echo(ref)


update.params[:0] = [_option(o) for o in options_of(UPDATE)]


def _pause(app: App, containers: tuple[str, ...], pause: bool) -> None:
    with session(app) as lc:
        for ref in containers:
            spec = lc.store.resolve(ref)
            with lc.store.locked(spec):
                lc.pause(spec, pause)
            click.echo(ref)


@click.command()
@_names
@click.pass_obj
def pause(app: App, containers: tuple[str, ...]) -> None:
    """Freeze every process of containers (systemd's freezer; the runtime's on cgroup v1)."""
    _pause(app, containers, True)


@click.command()
@_names
@click.pass_obj
def unpause(app: App, containers: tuple[str, ...]) -> None:
    """Thaw paused containers."""
    _pause(app, containers, False)


@click.command()
@click.option("-a", "--all", "every", is_flag=True, help="Every container, not only running ones.")
@click.option("--no-stream", is_flag=True, help="Print one sample and exit.")
@click.option("--format", "fmt", help="Output format: table (default), json, or a Go template.")
@click.argument("containers", nargs=-1)
@click.pass_obj
def stats(app: App, every: bool, no_stream: bool, fmt: str | None, containers: tuple[str, ...]) -> None:
    """Live CPU, memory, IO and process counts, from each unit's own accounting."""
    from conman_systemd.cli.stats import show_stats

    with session(app) as lc:
        show_stats(lc, containers, every=every, stream=not no_stream, fmt=fmt)


@click.command()
@click.argument("container")
@click.argument("ps_options", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def top(app: App, container: str, ps_options: tuple[str, ...]) -> None:
    """The processes of a container (those of its unit's cgroup), as ps shows them (-ef)."""
    from conman_systemd.cli.stats import top_lines

    with session(app) as lc:
        click.echo(top_lines(lc, lc.store.resolve(container), ps_options or ("-f",)), nl=False)

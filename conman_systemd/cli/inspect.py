"""`conman inspect`: containers as docker-inspect-like JSON, or a Go template of it (`-f`)."""

from __future__ import annotations

import click

from conman_systemd.cli import App
from conman_systemd.cli.columns import show_inspected
from conman_systemd.cli.common import session
from conman_systemd.core.inspect import describe


@click.command()
@click.option(
    "-f", "--format", "fmt", help="A Go template, as docker's: '{{.State.Pid}}', '{{json .Config}}'."
)
@click.argument("containers", nargs=-1, required=True)
@click.pass_obj
def inspect(app: App, fmt: str | None, containers: tuple[str, ...]) -> None:
    """Show containers as JSON: spec, state, unit, pid, exit code, times."""
    with session(app) as lc:
        described = [describe(lc.info(lc.store.resolve(ref))) for ref in containers]
    click.echo(show_inspected(described, fmt))

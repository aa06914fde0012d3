"""`conman healthcheck run`: one health check now (systemd's timer runs it with --scheduled)."""

from __future__ import annotations

import click

from conman_systemd.cli import App
from conman_systemd.cli.app import DockerGroup
from conman_systemd.cli.common import session


@click.group(cls=DockerGroup)
def healthcheck() -> None:
    """Run containers' health checks."""


@healthcheck.command("run")
@click.option("--scheduled", is_flag=True, hidden=True, help="By systemd's timer: acts, prints nothing.")
@click.argument("container")
@click.pass_obj
def run(app: App, scheduled: bool, container: str) -> None:
    """Run CONTAINER's health check now; print its status (exit 0 when healthy, else 1)."""
    from conman_systemd.core.healthcheck import check_once

    with session(app) as lc:
        spec = lc.store.resolve(container)
        if scheduled and not lc.running(spec):
            return  # the timer fired as the container stopped: nothing to check
        status = check_once(lc, spec, scheduled)
    if scheduled:  # the status is in the record: a failed unit per unhealthy check would flood the journal
        return
    click.echo(status)
    raise SystemExit(0 if status == "healthy" else 1)

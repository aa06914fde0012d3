"""`conman diff`: a container's files against its image's."""

from __future__ import annotations

import click

from conman_systemd.cli import App


@click.command()
@click.argument("container")
@click.pass_obj
def diff(app: App, container: str) -> None:
    """Files a container added (A), changed (C) or deleted (D), as docker lists them."""
    from conman_systemd.cli.common import require_root
    from conman_systemd.container.changes import changes
    from conman_systemd.core.containers import Store

    require_root()
    spec = Store(app.paths).resolve(container)
    for letter, path in changes(app.paths.upper(spec.id), spec.rootfs):
        click.echo(f"{letter} {path}")

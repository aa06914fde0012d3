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


@click.command()
@click.option("-o", "--output", help="Write to a file instead of standard output.")
@click.argument("container")
@click.pass_obj
def export(app: App, output: str | None, container: str) -> None:
    """A container's file system as a tar archive (the image's layers with its changes)."""
    import os
    import sys

    from conman_systemd import runner
    from conman_systemd.cli.common import require_root
    from conman_systemd.container.changes import export_argv
    from conman_systemd.core.containers import Store

    require_root()
    spec = Store(app.paths).resolve(container)
    if output is None and sys.stdout.isatty():
        raise click.UsageError("refusing to write an archive to a terminal: use -o FILE or redirect")
    import tempfile

    os.makedirs(app.paths.runroot, mode=0o700, exist_ok=True)
    target = tempfile.mkdtemp(prefix="export-", dir=app.paths.runroot)  # mounted on only in tar's namespace
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600) if output else 1
    try:
        runner.run(export_argv(app.paths.upper(spec.id), spec.rootfs, target), show=fd)
    finally:
        os.rmdir(target)
        if output:
            os.close(fd)


@click.command()
@click.argument("container")
@click.argument("private_port", required=False)
@click.pass_obj
def port(app: App, container: str, private_port: str | None) -> None:
    """The container's published ports (PRIVATE_PORT[/PROTO]: the host addresses of that one):
    80/tcp -> 0.0.0.0:8080, running or not (its host ports are fixed when it is created)."""
    from conman_systemd.core.containers import Store
    from conman_systemd.core.network_view import port_lines

    spec = Store(app.paths).resolve(container)
    lines = port_lines(spec, private_port)
    if private_port is not None and not lines:
        from conman_systemd.errors import ConmanError

        raise ConmanError(f"no public port {private_port} published for {spec.name}")
    for line in lines:
        click.echo(line)


@click.command()
@click.argument("source")
@click.argument("destination")
@click.pass_obj
def cp(app: App, source: str, destination: str) -> None:
    """Copy files between a container and the host: cp CONTAINER:SRC DEST, cp SRC CONTAINER:DEST
    (DEST `-`: a tar archive on stdout). The container may run or not."""
    from conman_systemd.cli.common import session
    from conman_systemd.core.copy import copy

    with session(app) as lc:
        copy(lc, source, destination)

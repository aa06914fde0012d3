"""`conman image import|ls|rm|inspect`."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import click

from conman_systemd.cli import App
from conman_systemd.cli.app import DockerGroup
from conman_systemd.cli.common import require_root

if TYPE_CHECKING:
    from conman_systemd.core.images import ImageStore


def _store(app: App) -> ImageStore:
    from conman_systemd.container.paths import secure
    from conman_systemd.core.images import ImageStore

    require_root()
    secure(app.paths)
    return ImageStore(app.paths)


@click.group(cls=DockerGroup)
def image() -> None:
    """Manage images (rootfs directories)."""


@image.command("import")
@click.argument("name")
@click.argument("source", required=False)
@click.pass_obj
def import_(app: App, name: str, source: str | None) -> None:
    """Import NAME[:TAG] from a rootfs tarball or directory; `import busybox` needs no SOURCE."""
    click.echo(_store(app).import_(name, source).id)


@image.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only print IDs.")
@click.pass_obj
def ls(app: App, quiet: bool) -> None:
    """List images."""
    images = _store(app).all()
    if quiet:
        for i in images:
            click.echo(i.id[:12])
        return
    click.echo(f"{'REPOSITORY':<30} {'TAG':<12} {'IMAGE ID':<12}  {'CREATED':<20} SIZE")
    for i in images:
        for ref in i.names or ["<none>:<none>"]:
            repo, _, tag = ref.rpartition(":")
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(i.created))
            click.echo(f"{repo:<30} {tag:<12} {i.id[:12]:<12}  {created:<20} {i.size / 1e6:.1f}MB")


@image.command("rm")
@click.argument("images", nargs=-1, required=True)
@click.pass_obj
def rm(app: App, images: tuple[str, ...]) -> None:
    """Remove images no container uses."""
    from conman_systemd.core.containers import Store

    store = _store(app)
    containers = Store(app.paths).all()
    for ref in images:
        found = store.get(ref)
        store.remove(found, [c.name for c in containers if c.image_id == found.id])
        click.echo(ref)


@image.command("inspect")
@click.argument("images", nargs=-1, required=True)
@click.pass_obj
def inspect(app: App, images: tuple[str, ...]) -> None:
    """Show images as JSON."""
    store = _store(app)
    click.echo(
        json.dumps(
            [{**store.get(ref).to_dict(), "RootFS": store.get(ref).rootfs} for ref in images], indent=2
        )
    )

"""`conman volume create|ls|inspect|rm|prune`: named volumes (core/volumes.py), as docker's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from conman_systemd.cli import App
from conman_systemd.cli.app import DockerGroup
from conman_systemd.cli.common import require_root
from conman_systemd.errors import ConmanError

if TYPE_CHECKING:
    from conman_systemd.container.spec import ContainerSpec
    from conman_systemd.core.volumes import VolumeInfo, Volumes

HEADERS = {"Driver": "DRIVER", "Name": "VOLUME NAME", "Mountpoint": "MOUNTPOINT", "Labels": "LABELS",
           "Scope": "SCOPE"}  # fmt: skip
FILTERS = ("name", "label", "dangling")


def _volumes(app: App) -> Volumes:
    from conman_systemd.container.paths import secure
    from conman_systemd.core.volumes import Volumes

    require_root()
    secure(app.paths)
    return Volumes(app.paths)


def _containers(app: App) -> list[ContainerSpec]:
    from conman_systemd.core.containers import Store

    return Store(app.paths).all()


@click.group(cls=DockerGroup)
def volume() -> None:
    """Manage named volumes: directories under the state root that outlive containers."""


@volume.command("create")
@click.argument("name", required=False)
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Set a label.")
@click.option("-d", "--driver", default="local", show_default=True, help="Only local (a directory).")
@click.option("-o", "--opt", "opts", multiple=True, help="Refused: a local volume is a plain directory.")
@click.pass_obj
def create(app: App, name: str | None, labels: tuple[str, ...], driver: str, opts: tuple[str, ...]) -> None:
    """Create a volume (a random name without NAME); an existing NAME is left as it is."""
    from conman_systemd.core.containers import new_id
    from conman_systemd.core.options import parse_labels

    if driver != "local":
        raise ConmanError(f'unknown volume driver "{driver}": the only driver is local')
    if opts:
        raise ConmanError(
            f'volume options are not supported ("{opts[0]}"): a local volume is a directory',
            hint="for a tmpfs use `--tmpfs` or `--mount type=tmpfs` on the container",
        )
    made = _volumes(app).create(name or new_id(), parse_labels(labels))
    click.echo(made.name)


@volume.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only print names.")
@click.option(
    "-f",
    "--filter",
    "filters",
    multiple=True,
    help="Filter by name=TEXT, label=KEY[=VALUE], dangling=true|false.",
)
@click.option("--format", "fmt", help="Output format: a Go template ('{{.Name}}', 'table ...') or json.")
@click.pass_obj
def ls(app: App, quiet: bool, filters: tuple[str, ...], fmt: str | None) -> None:
    """List volumes."""
    from conman_systemd.cli.columns import listing

    volumes = _volumes(app)
    matches = _filter(volumes.all(), filters, _containers(app))
    if quiet:
        for v in matches:
            click.echo(v.name)
        return
    rows = [_row(app, v) for v in matches]
    if text := listing(rows, fmt, "table {{.Driver}}\t{{.Name}}", HEADERS):
        click.echo(text)


def _row(app: App, v: VolumeInfo) -> dict[str, str]:
    labels = ",".join(f"{k}={val}" for k, val in sorted(v.labels.items()))
    return {"Driver": "local", "Name": v.name, "Mountpoint": app.paths.volume_data(v.name),
            "Labels": labels, "Scope": "local"}  # fmt: skip


def _filter(
    volumes: list[VolumeInfo], filters: tuple[str, ...], containers: list[ContainerSpec]
) -> list[VolumeInfo]:
    from conman_systemd.core.volumes import uses

    for text in filters:
        key, eq, value = text.partition("=")
        if key not in FILTERS or not eq or (key == "dangling" and value not in ("true", "false")):
            raise ConmanError(
                f'invalid filter "{text}"', hint="use name=TEXT, label=KEY[=VALUE] or dangling=true|false"
            )
        if key == "name":
            volumes = [v for v in volumes if value in v.name]
        elif key == "label":
            k, has_value, wanted = value.partition("=")
            volumes = [v for v in volumes if k in v.labels and (not has_value or v.labels[k] == wanted)]
        else:
            volumes = [v for v in volumes if any(uses(s, v.name) for s in containers) != (value == "true")]
    return volumes


@volume.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", help="A Go template, e.g. '{{.Mountpoint}}'.")
@click.pass_obj
def inspect(app: App, names: tuple[str, ...], fmt: str | None) -> None:
    """Show volumes as JSON, in docker's shape."""
    from conman_systemd.cli.columns import show_inspected
    from conman_systemd.core.volumes import inspect_dict

    volumes = _volumes(app)
    click.echo(show_inspected([inspect_dict(app.paths, volumes.get(name)) for name in names], fmt))


@volume.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="No error for a volume that is not there.")
@click.pass_obj
def rm(app: App, names: tuple[str, ...], force: bool) -> None:
    """Remove volumes no container uses, and their files."""
    volumes = _volumes(app)
    with volumes.locked(shared=False):
        containers = _containers(app)
        for name in names:
            if force and volumes.find(name) is None:
                continue
            volumes.remove(name, containers)
            click.echo(name)


@volume.command("prune")
@click.option("-a", "--all", "every", is_flag=True, help="Every unused volume, not only anonymous ones.")
@click.option(
    "-f", "--force", is_flag=True, help="Do not ask (conman never asks: accepted for docker's sake)."
)
@click.pass_obj
def prune(app: App, every: bool, force: bool) -> None:
    """Remove the anonymous volumes no container uses (with -a, every unused volume)."""
    from conman_systemd.cli.columns import size

    volumes = _volumes(app)
    with volumes.locked(shared=False):
        gone = volumes.prune(_containers(app), every)
    click.echo("Deleted Volumes:")
    for name, _ in gone:
        click.echo(name)
    click.echo(f"\nTotal reclaimed space: {size(sum(freed for _, freed in gone))}")

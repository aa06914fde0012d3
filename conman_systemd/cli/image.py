"""`conman image pull|load|save|import|ls|inspect|tag|rm|prune|history` (and docker's top-level
spellings: pull, load, save, images, rmi, tag, history)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from conman_systemd.cli import App
from conman_systemd.cli.app import DockerGroup
from conman_systemd.cli.common import require_root
from conman_systemd.image.transport import SAVE_FORMATS

if TYPE_CHECKING:
    from conman_systemd.image.store import ImageStore


def _store(app: App) -> ImageStore:
    from conman_systemd.container.paths import secure
    from conman_systemd.image.store import ImageStore

    require_root()
    secure(app.paths)
    return ImageStore(app.paths)


def _progress(quiet: bool) -> int | None:
    """Where skopeo's progress goes: the terminal, unless -q or there is none."""
    return None if quiet or not sys.stdout.isatty() else sys.stdout.fileno()


@click.group(cls=DockerGroup)
def image() -> None:
    """Manage images: pull, load, save, import, list, inspect, tag, remove."""


@image.command("pull")
@click.argument("ref")
@click.option("-q", "--quiet", is_flag=True, help="No progress; print the image ID only.")
@click.option("--tls-verify", type=click.BOOL, is_flag=False, flag_value=True, default=None,
              help="Verify TLS (false: plain HTTP; default false for 127.0.0.0/8 only).")  # fmt: skip
@click.option("--creds", metavar="USER[:PASSWORD]", help="Credentials for the registry.")
@click.option(
    "--authfile", type=click.Path(dir_okay=False), help="An auth.json as podman and skopeo write it."
)
@click.pass_obj
def pull(
    app: App, ref: str, quiet: bool, tls_verify: bool | None, creds: str | None, authfile: str | None
) -> None:
    """Pull REF ([REGISTRY/]NAME[:TAG][@DIGEST]; docker.io when no registry is named)."""
    from conman_systemd.image.transport import Registry
    from conman_systemd.image.transport import pull as pull_image

    store = _store(app)
    found = pull_image(store, ref, Registry(tls_verify, creds, authfile), _progress(quiet))
    click.echo(found.id)


@image.command("load")
@click.option("-i", "--input", "path", type=click.Path(), help="The archive (default: standard input).")
@click.option("-q", "--quiet", is_flag=True, help="No progress.")
@click.pass_obj
def load(app: App, path: str | None, quiet: bool) -> None:
    """Load images from a docker-archive (`docker save`), an oci-archive or an OCI layout."""
    from conman_systemd.image.archive import load as load_images

    store = _store(app)
    if path is None:
        if sys.stdin.isatty():
            raise click.UsageError("no archive given: use -i FILE or redirect standard input")
        from conman_systemd.image.content import copy_stdin, remove_tree

        path = store.scratch()
        try:
            copy_stdin(path)
            loaded = load_images(store, path, _progress(quiet))
        finally:
            remove_tree(path)
    else:
        loaded = load_images(store, path, _progress(quiet))
    for found in loaded:
        for name in found.names or []:
            click.echo(f"Loaded image: {name}")
        if not found.names:
            click.echo(f"Loaded image ID: sha256:{found.id}")


@image.command("save")
@click.argument("ref")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="The file (default: standard output).")
@click.option("--format", "fmt", type=click.Choice(SAVE_FORMATS),
              default="docker-archive", show_default=True, help="The archive's format.")  # fmt: skip
@click.pass_obj
def save(app: App, ref: str, output: str | None, fmt: str) -> None:
    """Save an image to an archive that `load`, `docker load` and `podman load` read."""
    from conman_systemd.image.transport import save as save_image

    store = _store(app)
    found, name = store.lookup(ref)
    name = "" if name == found.id or "@" in name else name  # an archive names images by tag
    if output is not None:
        _replace(output)
        save_image(store, found, name, output, fmt)
        return
    if sys.stdout.isatty():
        raise click.UsageError("refusing to write an archive to a terminal: use -o FILE or redirect")
    staged = store.scratch()
    try:
        save_image(store, found, name, staged, fmt)
        with open(staged, "rb") as f:
            import shutil

            shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)
    finally:
        if os.path.exists(staged):
            os.unlink(staged)


def _replace(output: str) -> None:
    """skopeo will not overwrite an archive; docker's save does."""
    if os.path.isfile(output):
        os.unlink(output)


@image.command("import")
@click.argument("name")
@click.argument("source", required=False)
@click.pass_obj
def import_(app: App, name: str, source: str | None) -> None:
    """Import NAME[:TAG] from a rootfs tarball or directory; `import busybox` needs no SOURCE."""
    from conman_systemd.image.rootfs import import_rootfs

    click.echo(import_rootfs(_store(app), name, source).id)


@image.command("tag")
@click.argument("source")
@click.argument("target")
@click.pass_obj
def tag(app: App, source: str, target: str) -> None:
    """Give the image SOURCE the name TARGET (localhost/ when it names no registry)."""
    from conman_systemd.image import reference

    store = _store(app)
    found = store.get(source)
    name = reference.local(target)
    if not name.tag:
        raise click.UsageError(f"cannot tag with a digest: {target}")
    with store.locked():
        store.tag(found.id, name.name)


@image.command("ls")
@click.option("-a", "--all", "show_all", is_flag=True, help="Also images without a name.")
@click.option("-q", "--quiet", is_flag=True, help="Only print IDs.")
@click.option("--digests", is_flag=True, help="Show the digests images were pulled by.")
@click.option("--no-trunc", is_flag=True, help="Full image IDs.")
@click.option("--format", "fmt", help="A Go template ('{{.Repository}}:{{.Tag}}', 'table ...') or json.")
@click.pass_obj
def ls(app: App, show_all: bool, quiet: bool, digests: bool, no_trunc: bool, fmt: str | None) -> None:
    """List images (docker's `images`)."""
    from conman_systemd.cli.columns import listing
    from conman_systemd.image.view import HEADERS, ls_rows, ls_template

    images = _store(app).all()  # -a: docker's, for intermediate build images conman never has
    if quiet:
        for i in dict.fromkeys(i.id if no_trunc else i.short_id for i in images):
            click.echo(i)
        return
    rows = ls_rows(images, full_ids=no_trunc)
    if text := listing(rows, fmt, ls_template(digests), HEADERS):
        click.echo(text)


@image.command("inspect")
@click.argument("images", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", help="A Go template, e.g. '{{.Config.Cmd}}'.")
@click.pass_obj
def inspect(app: App, images: tuple[str, ...], fmt: str | None) -> None:
    """Show images as JSON, in docker's shape."""
    from conman_systemd.cli.columns import show_inspected
    from conman_systemd.image.view import inspect_dict

    store = _store(app)
    click.echo(show_inspected([inspect_dict(store, store.get(ref)) for ref in images], fmt))


@image.command("history")
@click.argument("ref")
@click.option("--no-trunc", is_flag=True, help="Do not cut the commands short.")
@click.option("-q", "--quiet", is_flag=True, help="Only print IDs.")
@click.pass_obj
def history(app: App, ref: str, no_trunc: bool, quiet: bool) -> None:
    """Show the history of an image, newest first."""
    from conman_systemd.image.view import history_rows

    store = _store(app)
    found = store.get(ref)
    sizes = [store.layer_size(d) or 0 for d in found.layers]
    click.echo(history_rows(found, sizes, full=no_trunc, quiet=quiet))


@image.command("rm")
@click.argument("images", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Untag an image containers still use (it stays for them).")
@click.pass_obj
def rm(app: App, images: tuple[str, ...], force: bool) -> None:
    """Remove images (docker's `rmi`); a name of an image with several names is only untagged."""
    from conman_systemd.core.containers import Store
    from conman_systemd.image.removal import remove

    store = _store(app)
    containers = Store(app.paths).all()
    for ref in images:
        for line in remove(store, ref, containers, force=force):
            click.echo(line)


@image.command("prune")
@click.option(
    "-a", "--all", "prune_all", is_flag=True, help="Every image no container uses, not only unnamed ones."
)
@click.option(
    "-f", "--force", is_flag=True, help="Do not ask (conman never asks: accepted for docker's sake)."
)
@click.pass_obj
def prune(app: App, prune_all: bool, force: bool) -> None:
    """Remove unused images, and the blobs and layers no image needs."""
    from conman_systemd.cli.columns import size
    from conman_systemd.core.containers import Store
    from conman_systemd.image.removal import prune as prune_images

    store = _store(app)
    removed, freed = prune_images(store, Store(app.paths).all(), every_unused=prune_all)
    for image_id in removed:
        click.echo(f"deleted: sha256:{image_id}")
    click.echo(f"Total reclaimed space: {size(freed)}")

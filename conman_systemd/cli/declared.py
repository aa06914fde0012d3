"""Declared containers on the command line: `conman generate NAME` writes a definition from a
container; `conman prepare-declared` is the generated unit's ExecStartPre= (not for users)."""

from __future__ import annotations

import click

from conman_systemd.cli import App


@click.command("prepare-declared", hidden=True)
@click.argument("path")
@click.argument("digest")
@click.pass_obj
def prepare(app: App, path: str, digest: str) -> None:
    """Create the declared container of PATH (the unit's ExecStartPre=)."""
    from conman_systemd.cli.common import require_root
    from conman_systemd.container.paths import secure
    from conman_systemd.core.containers import Store
    from conman_systemd.core.create import build_spec
    from conman_systemd.declared.definition import declared_id, parse
    from conman_systemd.declared.generator import options
    from conman_systemd.errors import ConmanError
    from conman_systemd.image.store import ImageStore

    require_root()
    definition = parse(path)
    if definition.digest != digest:
        raise ConmanError(
            f"{path} changed since systemd read it: its unit is out of date",
            hint="run `systemctl daemon-reload`, then start the unit again",
        )
    secure(app.paths)
    spec = build_spec(
        options(definition), ImageStore(app.paths), cid=declared_id(definition.name), declared=True
    )
    Store(app.paths).declare(spec)


@click.command()
@click.argument("container")
@click.pass_obj
def generate(app: App, container: str) -> None:
    """Print a definition file for CONTAINER (save it as /etc/conman/containers/NAME.container)."""
    from conman_systemd.core.containers import Store
    from conman_systemd.declared.export import definition_text
    from conman_systemd.image.store import ImageStore

    spec = Store(app.paths).resolve(container)
    found = ImageStore(app.paths).find(spec.image_id)
    click.echo(definition_text(spec, found[0].env if found else ()), nl=False)

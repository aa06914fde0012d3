"""`conman inspect`: containers as docker-inspect-like JSON, or fields of it (`-f '{{.State.Pid}}'`)."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from conman_systemd.cli import App
from conman_systemd.cli.common import session
from conman_systemd.core.inspect import describe
from conman_systemd.errors import ConmanError

_FIELD = re.compile(r"\{\{\s*((?:\.\w+)+|\.)\s*\}\}")


def render_format(template: str, info: dict[str, Any]) -> str:
    """docker's `--format '{{.State.Pid}}'`, for plain field paths (no functions or pipelines)."""

    def field(m: re.Match[str]) -> str:
        value: Any = info
        for key in filter(None, m.group(1).split(".")):
            if not isinstance(value, dict) or key not in value:
                raise ConmanError(f'invalid format "{template}": no field {m.group(1)}')
            value = value[key]
        return _as_text(value)

    return _FIELD.sub(field, template)


def _as_text(value: Any) -> str:
    """As docker's templates print values: maps and lists as JSON, booleans in lower case."""
    if value is None:
        return "<no value>"
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


@click.command()
@click.option("-f", "--format", "fmt", help="A Go-template-like field path, e.g. '{{.State.Pid}}'.")
@click.argument("containers", nargs=-1, required=True)
@click.pass_obj
def inspect(app: App, fmt: str | None, containers: tuple[str, ...]) -> None:
    """Show containers as JSON: spec, state, unit, pid, exit code, times."""
    with session(app) as lc:
        described = [describe(lc.info(lc.store.resolve(ref))) for ref in containers]
    if fmt is None:
        click.echo(json.dumps(described, indent=2))
        return
    for info in described:
        click.echo(render_format(fmt, info))

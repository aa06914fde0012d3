"""`conman ps` and `conman inspect`."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import click

from conman_systemd.cli import App
from conman_systemd.cli.common import session
from conman_systemd.core.inspect import describe, describe_all
from conman_systemd.errors import ConmanError


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def status_text(info: dict[str, object]) -> str:
    state = info["State"]
    assert isinstance(state, dict)
    now = time.time()
    if state["Status"] == "running":
        text = f"Up {_ago(now - float(state['StartedAt'] or now))}"
    elif state["Status"] == "exited":
        text = f"Exited ({state['ExitCode']}) {_ago(now - float(state['FinishedAt'] or now))} ago"
    else:
        text = str(state["Status"]).capitalize()
    if state["Restarts"]:
        text += f" (restarts: {state['Restarts']})"
    return text


@click.command()
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all containers, not only running ones.")
@click.option("-q", "--quiet", is_flag=True, help="Only print IDs.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def ps(app: App, show_all: bool, quiet: bool, fmt: str) -> None:
    """List containers."""
    with session(app) as lc:
        infos = [i for i in describe_all(lc, detail=fmt == "json") if show_all or i["State"]["Running"]]

    if quiet:
        for info in infos:
            click.echo(info["Id"][:12])
        return
    if fmt == "json":
        click.echo(json.dumps(infos, indent=2))
        return
    rows = [("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES", "UNIT")]
    for i in infos:
        command = " ".join(i["Config"]["Cmd"])
        command = f'"{command[:20]}…"' if len(command) > 20 else f'"{command}"'
        created = f"{_ago(time.time() - i['CreatedAt'])} ago"
        rows.append(
            (i["Id"][:12], i["Config"]["Image"], command, created, status_text(i), i["Name"], i["Unit"])
        )
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for r in rows:
        click.echo("   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


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
        infos = [describe(lc, lc.store.resolve(ref)) for ref in containers]
    if fmt is None:
        click.echo(json.dumps(infos, indent=2))
        return
    for info in infos:
        click.echo(render_format(fmt, info))

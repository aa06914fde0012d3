"""`conman ps` and `conman inspect`."""

from __future__ import annotations

import json
import time

import click

from conman_systemd.cli import App
from conman_systemd.cli.common import session
from conman_systemd.core.inspect import describe, describe_all


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


@click.command()
@click.argument("containers", nargs=-1, required=True)
@click.pass_obj
def inspect(app: App, containers: tuple[str, ...]) -> None:
    """Show containers as JSON: spec, state, unit, pid, exit code, times."""
    with session(app) as lc:
        infos = [describe(lc, lc.store.resolve(ref)) for ref in containers]
    click.echo(json.dumps(infos, indent=2))

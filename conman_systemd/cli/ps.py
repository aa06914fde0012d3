"""`conman ps`: a table-command handler (the fast path runs it without click)."""

from __future__ import annotations

import sys
import time

from conman_systemd.cli.columns import ago, created_at, formatted
from conman_systemd.cli.common import session
from conman_systemd.core.inspect import describe, infos
from conman_systemd.image.reference import familiar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.cli import App
    from conman_systemd.core.containers import ContainerInfo


def status_text(info: ContainerInfo, now: float) -> str:
    state = info.state
    if state in ("running", "paused"):
        text = f"Up {ago(now - float(info.records.started.get('started_at') or now))}"
        text += " (Paused)" if state == "paused" else ""
        if info.spec.health is not None:  # docker's: Up 5 minutes (healthy)
            text += f" ({info.records.health.get('status') or 'starting'})"
    elif state == "exited":
        finished = float(info.records.exit.get("finished_at") or now)
        text = f"Exited ({info.records.exit_code}) {ago(now - finished)} ago"
    else:
        text = str(state).capitalize()
    if info.unit.n_restarts:
        text += f" (restarts: {info.unit.n_restarts})"
    return text


# docker's default columns: the unit's name (64 hex digits) is `conman unit NAME`'s, or {{.Unit}}'s
DEFAULT = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
           "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS",
           "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
           "Unit": "UNIT", "Size": "SIZE"}  # fmt: skip


def row(c: ContainerInfo, now: float, truncate: bool = True) -> dict[str, Any]:
    """A container as docker's `ps --format` fields name it."""
    command = " ".join(c.spec.command)
    if truncate and len(command) > 20:
        command = command[:20] + "…"
    return {
        "ID": c.spec.short_id if truncate else c.spec.id,
        "Image": familiar(c.spec.image),
        "Command": f'"{command}"',
        "CreatedAt": created_at(c.spec.created),
        "RunningFor": f"{ago(now - c.spec.created)} ago",
        "Ports": ", ".join(map(str, c.spec.ports)) if c.running else "",
        "State": str(c.state),
        "Status": status_text(c, now),
        "Names": c.spec.name,
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(c.spec.labels.items())),
        "Mounts": ",".join(v.source for v in c.spec.volumes),
        "Networks": ",".join(c.spec.networks) if c.spec.bridged else c.spec.network,
        "Unit": c.spec.unit,
        "Size": "",
    }


def sizes(app: App, shown: list[ContainerInfo], rows: list[dict[str, Any]]) -> None:
    """docker's SIZE: what the container wrote, and (virtual) that plus its image."""
    from conman_systemd.cli.columns import size
    from conman_systemd.container.removal import tree_size
    from conman_systemd.image.store import ImageStore

    images = ImageStore(app.paths)
    for c, r in zip(shown, rows, strict=True):
        found = images.find(c.spec.image_id)
        written = tree_size(app.paths.upper(c.spec.id))
        r["Size"] = f"{size(written)} (virtual {size(written + (found[0].size if found else 0))})"


def ps(app: App, values: dict[str, Any]) -> int:
    """List containers."""
    fmt = values["fmt"]
    with session(app) as lc:
        every = infos(lc, detail=fmt == "json")
    filters, recent = values["filters"], values["last"] is not None or values["latest"]
    # as docker: -n/-l and a status filter look at every container, other filters at running ones
    every_one = values["show_all"] or recent or any(f.startswith("status=") for f in filters)
    shown = every if every_one else [c for c in every if c.running]
    if filters:
        from conman_systemd.cli.ps_filter import matching

        shown = matching(shown, filters)
    if recent:
        shown = sorted(shown, key=lambda c: c.spec.created, reverse=True)[
            : 1 if values["latest"] else values["last"]
        ]
    if values["quiet"]:
        text = "\n".join(c.spec.id if values["no_trunc"] else c.spec.short_id for c in shown)
    elif fmt == "json":
        import json

        text = json.dumps([describe(c) for c in shown], indent=2)
    else:
        now = time.time()
        rows = [row(c, now, not values["no_trunc"]) for c in shown]
        template = DEFAULT if fmt == "table" else fmt
        if values.get("size"):
            sizes(app, shown, rows)
            template += "\t{{.Size}}" if fmt == "table" else ""
        text = formatted(rows, template, HEADERS)
    if text:
        sys.stdout.write(text + "\n")
    return 0

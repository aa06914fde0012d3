"""`conman ps`: a table-command handler (the fast path runs it without click)."""

from __future__ import annotations

import sys
import time

from conman_systemd.cli.columns import ago, table
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
    if state == "running":
        text = f"Up {ago(now - float(info.records.started.get('started_at') or now))}"
    elif state == "exited":
        finished = float(info.records.exit.get("finished_at") or now)
        text = f"Exited ({info.records.exit_code}) {ago(now - finished)} ago"
    else:
        text = str(state).capitalize()
    if info.unit.n_restarts:
        text += f" (restarts: {info.unit.n_restarts})"
    return text


def _table(containers: list[ContainerInfo]) -> str:
    now = time.time()
    # docker's columns: the unit's name (64 hex digits) is `conman unit NAME`'s, or --format json's
    rows = [("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES")]
    for c in containers:
        command = " ".join(c.spec.command)
        command = f'"{command[:20]}…"' if len(command) > 20 else f'"{command}"'
        created = f"{ago(now - c.spec.created)} ago"
        rows.append(
            (c.spec.short_id, familiar(c.spec.image), command, created, status_text(c, now), c.spec.name)
        )
    return table(rows)


def ps(app: App, values: dict[str, Any]) -> int:
    """List containers."""
    fmt = values["fmt"]
    with session(app) as lc:
        shown = [c for c in infos(lc, detail=fmt == "json") if values["show_all"] or c.running]
    if values["quiet"]:
        text = "\n".join(c.spec.short_id for c in shown)
    elif fmt == "json":
        import json

        text = json.dumps([describe(c) for c in shown], indent=2)
    else:
        text = _table(shown)
    if text:
        sys.stdout.write(text + "\n")
    return 0

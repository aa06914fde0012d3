"""A container described as docker-inspect-like JSON, from its state directory and its unit."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from conman_systemd.core.containers import UnitFacts
from conman_systemd.core.lifecycle import Lifecycle, facts_from
from conman_systemd.core.spec import ContainerSpec
from conman_systemd.dbus import messages


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts else None


def _describe(lc: Lifecycle, spec: ContainerSpec, facts: UnitFacts) -> dict[str, Any]:
    records = lc.store.records(spec.id)
    started, exited, error = records.get("started", {}), records.get("exit", {}), records.get("error", {})
    state = facts.container_state(ever_started=bool(records))
    running = state.is_running
    return {
        "Id": spec.id,
        "Name": spec.name,
        "Created": _iso(spec.created),
        "CreatedAt": spec.created,
        "Image": spec.image_id,
        "Unit": spec.unit,
        "State": {
            "Status": str(state),
            "Running": running,
            "Pid": facts.main_pid if running else 0,
            "ExitCode": None if running else exited.get("exit_code"),
            "Result": facts.result or exited.get("result", ""),
            "Error": error.get("message", ""),
            "StartedAt": started.get("started_at"),
            "FinishedAt": None if running else exited.get("finished_at"),
            "Started": _iso(started.get("started_at")),
            "Finished": None if running else _iso(exited.get("finished_at")),
            "Restarts": facts.n_restarts,
            "StatusText": facts.status_text,
        },
        "Config": {
            "Image": spec.image,
            "Cmd": list(spec.command),
            "Env": list(spec.env),
            "WorkingDir": spec.workdir,
            "User": f"{spec.uid}:{spec.gid}",
            "Hostname": spec.hostname,
            "Labels": spec.labels,
            "StopSignal": spec.stop_signal,
            "StopTimeout": spec.stop_timeout,
        },
        "HostConfig": {
            "Binds": [f"{v.source}:{v.destination}:{'ro' if v.read_only else 'rw'}" for v in spec.volumes],
            "ReadonlyRootfs": spec.read_only,
            "NetworkMode": str(spec.network),
            "RestartPolicy": {"Name": str(spec.restart), "MaximumRetryCount": spec.restart_max},
            "AutoRemove": spec.remove_on_exit,
        },
        "Spec": dataclasses.asdict(spec),
    }


def describe(lc: Lifecycle, spec: ContainerSpec) -> dict[str, Any]:
    return _describe(lc, spec, lc.facts(spec))


def describe_all(lc: Lifecycle, detail: bool = True) -> list[dict[str, Any]]:
    """Every container: one ListUnitsByPatterns call for all units, then one GetAll per loaded
    unit for the details (pid, restarts, status text); without detail only for containers with
    a restart policy, whose restart count the table shows."""
    (rows,) = lc.bus.call(messages.list_units_by_patterns([], ["conman-*.service"]))
    by_unit = {r[0]: r for r in rows if r[2] == "loaded"}
    out = []
    for spec in lc.store.all():
        row = by_unit.get(spec.unit)
        service = {}
        if row is not None and (detail or spec.restart.restarts):
            path = messages.unit_path(spec.unit)
            (service,) = lc.bus.call(messages.get_all_properties(path, messages.SERVICE_IFACE))
        out.append(_describe(lc, spec, facts_from(row, service)))
    return out

"""Containers as ps and inspect see them: ContainerInfo objects, and docker-inspect-like JSON."""

from __future__ import annotations

import time

from conman_systemd.core import network_view
from conman_systemd.core.containers import ContainerInfo
from conman_systemd.dbus.units import UnitState

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.container.spec import Volume
    from conman_systemd.core.lifecycle import Lifecycle

PATTERN = "conman-*.service"


NEVER = "0001-01-01T00:00:00Z"  # docker's time of what has not happened (Go's zero time)


def iso_time(ts: float | None) -> str | None:
    """RFC 3339 in UTC, as docker prints times (without importing datetime)."""
    if not ts:
        return None
    micro = round(ts % 1 * 1e6) % 1_000_000
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + (f".{micro:06d}" if micro else "") + "+00:00"
    )


def _mount(volume: Volume) -> dict[str, object]:
    """docker's entry of inspect's Mounts for one volume or bind."""
    common = {"Destination": volume.destination, "Mode": "ro" if volume.read_only else "rw",
              "RW": not volume.read_only}  # fmt: skip
    if volume.name:
        return {"Type": "volume", "Name": volume.name, "Source": volume.source, "Driver": "local",
                **common, "Propagation": ""}  # fmt: skip
    return {"Type": "bind", "Source": volume.source, **common, "Propagation": "rprivate"}


def _health(record: dict[str, Any]) -> dict[str, Any]:
    """docker's State.Health: the status, failures in a row, the last results."""
    log = [
        {**r, "Start": iso_time(r.get("Start")), "End": iso_time(r.get("End"))}
        for r in record.get("log", [])
    ]
    return {"Status": record.get("status") or "starting", "FailingStreak": record.get("failing_streak") or 0,
            "Log": log}  # fmt: skip


def infos(lc: Lifecycle, detail: bool = True) -> list[ContainerInfo]:
    """Every container: one ListUnitsByPatterns call for all units, then one GetAll per loaded
    unit for the details (pid, restarts, status text); without detail only for containers with
    a restart policy, whose restart count the table shows."""
    specs = lc.store.all()
    units = lc.systemd.units(PATTERN, *(s.unit for s in specs if s.declared))
    out = []
    for spec in specs:
        state = units.get(spec.unit, UnitState())
        if state.loaded and (detail or spec.restarts):
            state = lc.systemd.with_service(spec.unit, state)
        out.append(lc.info(spec, state))
    return out


def describe(info: ContainerInfo) -> dict[str, Any]:
    spec, records, unit = info.spec, info.records, info.unit
    started, exited, error = records.started, records.exit, records.error
    running = info.running
    return {
        "Id": spec.id,
        "Name": spec.name,
        "Created": iso_time(spec.created),
        "Path": spec.command[0] if spec.command else "",
        "Args": list(spec.command[1:]),
        "Image": f"sha256:{spec.image_id}",
        "Unit": spec.unit,
        "RestartCount": unit.n_restarts,
        "State": {
            "Status": str(info.state),
            "Running": running,
            "Pid": info.pid,
            "ExitCode": 0 if running or not exited else exited.get("exit_code"),  # docker's 0 until it ends
            "Result": unit.result or exited.get("result", ""),
            "Error": error.get("message", ""),
            "OOMKilled": bool(exited.get("oom_killed")) and not running,
            "Paused": info.paused,
            "StartedAt": iso_time(started.get("started_at")) or NEVER,
            "FinishedAt": (None if running else iso_time(exited.get("finished_at"))) or NEVER,
            "Restarts": unit.n_restarts,
            "StatusText": unit.status_text,
            **({"Health": _health(info.records.health)} if spec.health is not None else {}),
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
            "Binds": [
                f"{v.name or v.source}:{v.destination}:{'ro' if v.read_only else 'rw'}"
                for v in spec.volumes
                if not v.anonymous
            ],
            "ReadonlyRootfs": spec.read_only,
            "NetworkMode": spec.networks[0] if spec.bridged else spec.network,
            "PortBindings": {
                inside: [{"HostIp": ip, "HostPort": port}]
                for inside, ip, port in network_view.each_port(spec)
            },  # fmt: skip
            "Dns": list(spec.dns),
            "DnsSearch": list(spec.dns_search),
            "DnsOptions": list(spec.dns_options),
            "ExtraHosts": list(spec.add_hosts),
            "RestartPolicy": {"Name": spec.restart, "MaximumRetryCount": spec.restart_max},
            "AutoRemove": spec.remove_on_exit,
            "Runtime": spec.runtime,
            "LogConfig": {"Type": "journald", "Config": {"rate-limit": spec.log_rate_limit}},
            "Memory": spec.memory,
            "MemoryReservation": spec.memory_reservation,
            "MemorySwap": spec.memory_swap,
            "NanoCpus": round(spec.cpus * 1e9),
            "CpuWeight": spec.cpu_weight,
            "CpusetCpus": spec.cpuset_cpus,
            "PidsLimit": spec.pids_limit,
            "BlkioWeight": spec.blkio_weight,
            "Privileged": spec.privileged,
            "CapAdd": list(spec.cap_add),
            "CapDrop": list(spec.cap_drop),
            "Devices": list(spec.devices),
            "Init": bool(spec.init),
            "SecurityOpt": (["no-new-privileges"] if spec.no_new_privileges else [])
            + ([f"seccomp={spec.seccomp}"] if spec.seccomp else []),
        },
        "Mounts": [_mount(v) for v in spec.volumes],
        "NetworkSettings": network_view.settings(info),
    }

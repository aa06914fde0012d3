"""`conman stats` and `conman top`: what systemd accounts for each container's unit (CPU time,
memory, tasks, block IO), and the processes of its cgroup. docker's columns and units."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import click

from conman_systemd.cli.columns import formatted
from conman_systemd.container.spec import CGROUP_ROOT, ContainerSpec, unified_cgroups, unit_cgroup
from conman_systemd.core.lifecycle import Lifecycle
from conman_systemd.errors import ConmanError

UNKNOWN = 2**64 - 1  # systemd's "not available"
HEADERS = {"ID": "CONTAINER ID", "Name": "NAME", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
           "MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}  # fmt: skip
DEFAULT = "table " + "\t".join(f"{{{{.{key}}}}}" for key in HEADERS)
SAMPLE_GAP = 0.5  # seconds between the two samples a CPU percentage needs


def human(n: float) -> str:
    """docker's binary units: 1.5MiB, 512KiB, 0B."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.4g}{unit}"
        n /= 1024
    return f"{n}B"


def _host_memory() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 0


def _sample(lc: Lifecycle, specs: list[ContainerSpec]) -> tuple[float, dict[str, dict[str, Any]]]:
    now = time.monotonic()
    found = {}
    for spec in specs:
        props = lc.systemd.service_properties(spec.unit)
        found[spec.id] = {k: props.get(k, UNKNOWN) for k in (
            "CPUUsageNSec", "MemoryCurrent", "TasksCurrent", "IOReadBytes", "IOWriteBytes")}  # fmt: skip
    return now, found


def _known(value: int) -> int:
    return 0 if value == UNKNOWN else value


def rows(lc: Lifecycle, specs: list[ContainerSpec]) -> list[dict[str, str]]:
    """One row per container from two samples SAMPLE_GAP apart (CPU % is a rate)."""
    t0, first = _sample(lc, specs)
    time.sleep(SAMPLE_GAP)
    t1, second = _sample(lc, specs)
    host = _host_memory()
    out = []
    for spec in specs:
        a, b = first[spec.id], second[spec.id]
        cpu = (_known(b["CPUUsageNSec"]) - _known(a["CPUUsageNSec"])) / ((t1 - t0) * 1e9) * 100
        memory = _known(b["MemoryCurrent"])
        limit = spec.memory or host
        out.append({
            "ID": spec.short_id, "Container": spec.short_id, "Name": spec.name,
            "CPUPerc": f"{max(cpu, 0.0):.2f}%",
            "MemUsage": f"{human(memory)} / {human(limit)}",
            "MemPerc": f"{memory / limit * 100 if limit else 0:.2f}%",
            "NetIO": _net_io(lc, spec),
            "BlockIO": f"{human(_known(b['IOReadBytes']))} / {human(_known(b['IOWriteBytes']))}",
            "PIDs": str(_known(b["TasksCurrent"])),
        })  # fmt: skip
    return out


def _net_io(lc: Lifecycle, spec: ContainerSpec) -> str:
    """Bytes received / sent on a bridged container's interfaces (its namespace's /proc/net/dev);
    `--` on the host's network or none: nothing of its own to count."""
    if not spec.bridged:
        return "--"
    pid = int(lc.store.records(spec.id).started.get("pid") or 0)
    if not pid:
        return "--"
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return "--"
    received = sent = 0
    for line in lines:
        name, _, counters = line.partition(":")
        if name.strip() != "lo":
            fields = counters.split()
            received, sent = received + int(fields[0]), sent + int(fields[8])
    return f"{human(received)} / {human(sent)}"


def _chosen(lc: Lifecycle, refs: tuple[str, ...], every: bool) -> list[ContainerSpec]:
    if refs:
        specs = [lc.store.resolve(r) for r in refs]
        for spec in specs:
            if not lc.running(spec):
                raise ConmanError(f"container {spec.name} is not running")
        return specs
    from conman_systemd.core.inspect import infos

    return [i.spec for i in infos(lc, detail=False) if every or i.running]


def show_stats(lc: Lifecycle, refs: tuple[str, ...], *, every: bool, stream: bool, fmt: str | None) -> None:
    while True:
        specs = _chosen(lc, refs, every)
        table = rows(lc, specs)
        if fmt == "json":
            text = "\n".join(json.dumps(r) for r in table)
        else:
            text = formatted(table, fmt if fmt and fmt != "table" else DEFAULT, HEADERS)
        if stream and os.isatty(1):
            click.echo("\033[2J\033[H", nl=False)  # as docker: the screen redrawn at each sample
        click.echo(text)
        if not stream:
            return


def _cgroup_pids(spec: ContainerSpec) -> list[str]:
    """The processes of the unit's cgroup and below (systemd's hierarchy: v2's, or v1's name=systemd)."""
    base = f"{CGROUP_ROOT}{unit_cgroup(spec.unit)}" if unified_cgroups() else (
        f"{CGROUP_ROOT}/systemd{unit_cgroup(spec.unit)}")  # fmt: skip
    pids: list[str] = []
    for directory, _, files in os.walk(base):
        if "cgroup.procs" in files:
            with open(os.path.join(directory, "cgroup.procs")) as f:
                pids += f.read().split()
    return pids


def top_lines(lc: Lifecycle, spec: ContainerSpec, ps_options: tuple[str, ...]) -> str:
    from conman_systemd import runner

    if not lc.running(spec):
        raise ConmanError(f"container {spec.name} is not running")
    pids = _cgroup_pids(spec)
    if not pids:
        raise ConmanError(f"container {spec.name} has no processes")
    return runner.run(["ps", *ps_options, "-p", ",".join(pids)]).stdout

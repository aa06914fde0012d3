"""CPU time spent per container start, and by whom: the CLI (with what it waits for), systemd,
the bus daemon, journald, and the rest (the shim or conmon, the runtime, the kernel's work on the
side). On a 2-core machine, starts 4 at a time are bound by this total, not by any latency."""

from __future__ import annotations

import os

CLOCK = os.sysconf("SC_CLK_TCK")
DAEMONS = {"systemd": "systemd", "bus daemon": "dbus-daemon", "journald": "systemd-journal"}


def _seconds(ticks: list[str]) -> float:
    return sum(int(t) for t in ticks) / CLOCK


def _process(pid: str) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return _seconds(fields[11:13])  # utime, stime


def _machine() -> float:
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq = f.readline().split()[1:8]
    return _seconds([user, nice, system, irq, softirq])


def _daemon_pids() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {name: [] for name in DAEMONS}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        for name, wanted in DAEMONS.items():
            if comm == wanted and (name != "systemd" or pid == "1"):
                found[name].append(pid)
    return found


class CpuMeter:
    """Snapshots before and after; per(count) splits the difference per container, in ms."""

    def __enter__(self) -> CpuMeter:
        self.pids = _daemon_pids()
        self.before = self._snapshot()
        return self

    def __exit__(self, *_: object) -> None:
        after = self._snapshot()
        self.spent = {k: after[k] - self.before[k] for k in after}

    def _snapshot(self) -> dict[str, float]:
        times = os.times()
        snap = {"total": _machine(), "CLI": times.children_user + times.children_system}
        for name, pids in self.pids.items():
            snap[name] = sum(_process(p) for p in pids if os.path.exists(f"/proc/{p}"))
        return snap

    def per(self, count: int) -> dict[str, float]:
        spent = {k: v * 1000 / count for k, v in self.spent.items()}
        spent["rest"] = spent["total"] - sum(v for k, v in spent.items() if k != "total")
        return spent


def cpu_table(title: str, rows: dict[str, dict[str, float]]) -> list[str]:
    columns = ["CLI", *DAEMONS, "rest", "total"]
    lines = [f"== {title}", f"{'contender':<28}" + "".join(f"{c:>12}" for c in columns)]
    for name, spent in rows.items():
        lines.append(f"{name:<28}" + "".join(f"{spent[c]:>12.1f}" for c in columns))
    return lines

"""Many running containers: `run -d` one after another and 4 at a time, `ps -q`, and the memory
each costs (supervisor processes, PSS from smaps_rollup, and the host's MemAvailable)."""

from __future__ import annotations

import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from conman_systemd.bench.cpu import CpuMeter
from conman_systemd.bench.measure import Contender, measure
from conman_systemd.bench.setup import SLEEP, Setup, sh

SHIM = "conman_systemd/shim/__main__.py"  # in every conman supervisor's command line


class Engine:
    """One container manager with one runtime, as the many-container benchmarks drive it."""

    def __init__(self, name: str, runtime: str, setup: Setup, interactive: bool = False) -> None:
        self.name = name
        self.runtime = runtime
        self.setup = setup
        self.interactive = interactive
        self.ids: list[str] = []

    @property
    def label(self) -> str:
        return f"{self.name} ({self.runtime})"

    def start(self) -> str:
        # -dit: the supervisor must own the container's stdio (conman's IO server stays; conmon always does).
        if self.interactive:
            return self.setup.run_d(self.name, self.runtime, "-dit", command=["sh"])
        return self.setup.run_d(self.name, self.runtime, "-d", command=SLEEP)

    def ps(self) -> list[str]:
        return ["conman", "ps", "-q"] if self.name == "conman" else [*self.setup.podman_cmd(), "ps", "-q"]

    def remove_all(self) -> None:
        self.setup.remove(self.name, self.ids)
        self.ids = []

    def is_supervisor(self, comm: str, cmdline: str) -> bool:
        return SHIM in cmdline if self.name == "conman" else comm == "conmon"


def start_many(engine: Engine, count: int, parallel: int) -> tuple[list[float], float]:
    """Starts count containers; returns each `run -d`'s latency and the wall time of all."""

    def one(_: int) -> float:
        t = time.perf_counter()
        engine.ids.append(engine.start())
        return time.perf_counter() - t

    started = time.perf_counter()
    if parallel == 1:
        latencies = [one(i) for i in range(count)]
    else:
        with ThreadPoolExecutor(parallel) as pool:
            latencies = list(pool.map(one, range(count)))
    return latencies, time.perf_counter() - started


def mem_available_kb() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    raise RuntimeError("no MemAvailable in /proc/meminfo")


def supervisor_pss_kb(engine: Engine) -> tuple[int, int]:
    """(number of supervisor processes, sum of their PSS in kB) from /proc/<pid>/smaps_rollup."""
    count = total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            with open(f"/proc/{pid}/cmdline", "rb") as fb:
                cmdline = fb.read().replace(b"\0", b" ").decode(errors="replace")
            if not engine.is_supervisor(comm, cmdline):
                continue
            with open(f"/proc/{pid}/smaps_rollup") as f:
                pss = next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration):
            continue
        count += 1
        total += pss
    return count, total


def memory_of(engine: Engine, count: int, before_kb: int) -> dict[str, float]:
    processes, pss = supervisor_pss_kb(engine)
    return {
        "supervisor_processes": processes,
        "supervisor_pss_kb_per_container": pss / count,
        "host_kb_per_container": (before_kb - mem_available_kb()) / count,
    }


def ps_contenders(engines: list[Engine]) -> dict[str, Contender]:
    def ps_of(engine: Engine) -> Contender:
        return lambda i: sh(engine.ps())

    return {f"{e.name} ps -q": ps_of(e) for e in engines}


def in_a_row(engines: list[Engine], count: int, big: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    """count `run -d` per engine, interleaved (one of each engine in turn, so the machine's noise
    hits all alike), then ps -q with them all running (and with big running, when asked)."""
    results: dict[str, dict[str, list[float]]] = {}

    def start(engine: Engine) -> Contender:
        return lambda i: engine.ids.append(engine.start())

    try:
        starts = {f"{e.label} run -d": start(e) for e in engines}
        results[f"run -d sleep, {count} in a row (each; interleaved)"] = measure(starts, count, warmup=0)
        listers = list({e.name: e for e in engines}.values())  # ps does not depend on the runtime
        results[f"ps -q with {count} running"] = measure(ps_contenders(listers), rounds)
        if big > count:
            for engine in listers:
                start_many(engine, big - count, 4)
            results[f"ps -q with {big} running"] = measure(ps_contenders(listers), rounds)
    finally:
        for engine in engines:
            engine.remove_all()
    return results


def cost(
    engines: list[Engine], count: int
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Per engine alone on the machine: the CPU each `run -d` costs, by process, and the memory
    count running containers hold."""
    cpu: dict[str, dict[str, float]] = {}
    memory: dict[str, dict[str, float]] = {}
    try:
        for engine in engines:
            subprocess.run(["sync"], check=False)
            before = mem_available_kb()
            with CpuMeter() as meter:
                start_many(engine, count, 1)
            cpu[engine.label] = meter.per(count)
            time.sleep(3)  # let the last ones settle (journald streams, page cache) before reading memory
            memory[engine.label] = memory_of(engine, count, before)
            engine.remove_all()
    finally:
        for engine in engines:
            engine.remove_all()
    return cpu, memory


def parallel(engines: list[Engine], count: int) -> dict[str, list[float]]:
    """Wall time per container of count `run -d`, 4 at a time."""
    out: dict[str, list[float]] = {}
    try:
        for engine in engines:
            _, wall = start_many(engine, count, 4)
            out[f"{engine.label} run -d (wall / container)"] = [wall / count]
            engine.remove_all()
    finally:
        for engine in engines:
            engine.remove_all()
    return out


def interactive_memory(engines: list[Engine], count: int) -> dict[str, dict[str, float]]:
    """Supervisor PSS per interactive (-dit) container: there conman's IO server stays, like conmon."""
    memory: dict[str, dict[str, float]] = {}
    try:
        for engine in engines:
            before = mem_available_kb()
            start_many(engine, count, 1)
            time.sleep(2)  # the IO servers have exec'd and settled
            memory[f"{engine.label} -dit"] = memory_of(engine, count, before)
            engine.remove_all()
    finally:
        for engine in engines:
            engine.remove_all()
    return memory

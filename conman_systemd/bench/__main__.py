"""Benchmarks: conman next to podman and the systemd-run + runc floor, ratios from one run.

Run inside a systemd (the sandbox on machines where systemd is not PID 1):

    conman sandbox -- python -m conman_systemd.bench [--rounds 15] [--count 100] [--big] [--json out.json]

Six tables: `run --rm true` latency; `run -d` of --count containers (sequential and 4 in
parallel); supervisor memory and host memory per running container; `ps -q` at --count (and
500 with --big) running containers; time until 50 MB of container stdout is in the journal;
`stop -t 1` of a container that ignores SIGTERM. podman (when installed) is the comparison; it
runs with its own storage under /var/tmp and `--network=none`. The machine is noisy: every round
runs each contender once, interleaved, and each table shows medians and ratios to conman. Nothing
here is asserted; tests never time anything. Everything the benchmark creates is removed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from conman_systemd.core.images import BUSYBOX, build_busybox
from conman_systemd.core.unit import LOG_BURST

Contender = Callable[[int], object]


def sh(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


def timed(fn: Contender, i: int) -> float:
    started = time.perf_counter()
    fn(i)
    return time.perf_counter() - started


class Setup:
    """Builds what each contender needs: the conman image, a runc bundle, a podman image."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="conman-bench-", dir="/var/tmp")
        self.rootfs = os.path.join(self.dir, "rootfs")
        build_busybox(self.rootfs)
        sh(["conman", "image", "import", "bench-busybox", self.rootfs])
        self.bundle = os.path.join(self.dir, "bundle")
        os.makedirs(self.bundle)
        sh(["runc", "spec", "--bundle", self.bundle])
        with open(os.path.join(self.bundle, "config.json")) as f:
            config = json.load(f)
        config["root"] = {"path": self.rootfs, "readonly": True}
        config["process"].update(terminal=False, args=["true"])
        with open(os.path.join(self.bundle, "config.json"), "w") as f:
            json.dump(config, f)
        self.conman_ids: set[str] = set()  # every container the benchmark made, removed at the end
        self.podman = shutil.which("podman") is not None
        if self.podman:
            # podman keeps its storage and network config here (the sandbox's /etc is read-only
            # and its /var/tmp private): nothing of it outlives the benchmark.
            net = os.path.join(self.dir, "podman-net")
            os.makedirs(net)
            conf = os.path.join(self.dir, "containers.conf")
            with open(conf, "w") as f:
                f.write(f'[network]\nnetwork_config_dir="{net}"\n')
            os.environ["CONTAINERS_CONF"] = conf
            tar = os.path.join(self.dir, "rootfs.tar")
            sh(["tar", "-C", self.rootfs, "-cf", tar, "."])
            sh([*self.podman_cmd, "import", "-q", tar, "bench-busybox"])

    @property
    def podman_cmd(self) -> list[str]:
        return ["podman", "--root", os.path.join(self.dir, "podman-root"),
                "--runroot", os.path.join(self.dir, "podman-runroot")]  # fmt: skip

    def podman_run_d(self) -> list[str]:
        return [*self.podman_cmd, "run", "-d", "--network=none", "bench-busybox", *SLEEP]

    def close(self) -> None:
        remove_conman(sorted(self.conman_ids))
        sh(["conman", "image", "rm", "bench-busybox"], check=False)
        if self.podman:
            sh([*self.podman_cmd, "rm", "-f", "-a", "-t", "0"], check=False)
            sh([*self.podman_cmd, "rmi", "-f", "-a"], check=False)
            sh([*self.podman_cmd, "system", "reset", "-f"], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def run_rm_true(setup: Setup) -> dict[str, Contender]:
    contenders: dict[str, Contender] = {
        "conman run --rm": lambda i: sh(["conman", "run", "--rm", "bench-busybox", "true"]),
        "systemd-run + runc (floor)": lambda i: sh(
            ["systemd-run", "--quiet", "--wait", "--collect", "-p", "Delegate=yes", "runc", "run",
             "--bundle", setup.bundle, f"bench-{os.getpid()}-{i}"]),
    }  # fmt: skip
    if setup.podman:
        contenders["podman run --rm"] = lambda i: sh(
            [*setup.podman_cmd, "run", "--rm", "--network=none", "bench-busybox", "true"])  # fmt: skip
    return contenders


def measure(
    contenders: dict[str, Contender],
    rounds: int,
    warmup: int = 2,
    prepare: dict[str, Contender] | None = None,
) -> dict[str, list[float]]:
    """Interleaved rounds; prepare[name](i), when given, runs untimed before contender name's turn."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for i in range(warmup + rounds):
        for name, fn in contenders.items():  # interleaved: noise hits every contender alike
            if prepare and name in prepare:
                prepare[name](i)
            t = timed(fn, i)
            if i >= warmup:
                samples[name].append(t)
    return samples


def table(title: str, samples: dict[str, list[float]], baseline: str) -> list[str]:
    base = statistics.median(samples[baseline])
    lines = [f"== {title}", f"{'contender':<36} {'median ms':>10} {'ratio':>7}"]
    for name, values in samples.items():
        median = statistics.median(values)
        lines.append(f"{name:<36} {median * 1000:>10.1f} {median / base:>6.2f}x")
    return lines


# --- many running containers: run -d, memory, ps -------------------------------------------------

SLEEP = ["sleep", "1000"]


def remove_conman(ids: Sequence[str]) -> None:
    for n in range(0, len(ids), 50):
        sh(["conman", "rm", "-f", *ids[n : n + 50]], check=False)


class Engine:
    """One container manager as the many-container benchmarks drive it."""

    def __init__(self, name: str, setup: Setup, interactive: bool = False) -> None:
        self.name = name
        self.setup = setup
        self.interactive = interactive
        self.ids: list[str] = []

    def start(self) -> str:
        # -dit: the supervisor must own the container's stdio (our shim stays; conmon always does).
        mode = ["-dit"] if self.interactive else ["-d"]
        command = ["sh"] if self.interactive else SLEEP
        if self.name == "conman":
            cid = sh(["conman", "run", *mode, "bench-busybox", *command]).stdout.strip()
            self.setup.conman_ids.add(cid)
        else:
            cid = sh(
                [*self.setup.podman_cmd, "run", *mode, "--network=none", "bench-busybox", *command]
            ).stdout.strip()
        return cid

    def ps(self) -> list[str]:
        if self.name == "conman":
            return ["conman", "ps", "-q"]
        return [*self.setup.podman_cmd, "ps", "-q"]

    def remove_all(self) -> None:
        if self.name == "conman":
            remove_conman(self.ids)
            self.setup.conman_ids.difference_update(self.ids)
        elif self.ids:
            sh([*self.setup.podman_cmd, "rm", "-f", "-t", "0", *self.ids], check=False)
        self.ids = []

    def is_supervisor(self, comm: str, cmdline: str) -> bool:
        if self.name == "conman":
            return "conman-shim" in cmdline
        return comm == "conmon"


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


def memory_table(title: str, memory: dict[str, dict[str, float]]) -> list[str]:
    base = next(iter(memory.values()))["host_kb_per_container"] or 1.0  # conman's is first
    lines = [
        f"== {title}",
        f"{'contender':<36} {'supervisors':>11} {'sup. PSS kB/ctr':>15} {'host kB/ctr':>11} {'ratio':>7}",
    ]
    for name, m in memory.items():
        lines.append(
            f"{name:<36} {m['supervisor_processes']:>11.0f} {m['supervisor_pss_kb_per_container']:>15.1f}"
            f" {m['host_kb_per_container']:>11.0f} {m['host_kb_per_container'] / base:>6.2f}x"
        )
    return lines


def ps_contenders(engines: list[Engine]) -> dict[str, Contender]:
    def ps_of(engine: Engine) -> Contender:
        return lambda i: sh(engine.ps())

    return {f"{e.name} ps -q": ps_of(e) for e in engines}


def many_containers(
    engines: list[Engine], count: int, big: int, rounds: int
) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, float]]]:
    results: dict[str, dict[str, list[float]]] = {}
    memory: dict[str, dict[str, float]] = {}
    sequential: dict[str, list[float]] = {}
    try:
        for engine in engines:
            subprocess.run(["sync"], check=False)
            before = mem_available_kb()
            sequential[f"{engine.name} run -d"], _ = start_many(engine, count, 1)
            time.sleep(3)  # let the last ones settle (journald streams, page cache)
            used = before - mem_available_kb()
            processes, pss = supervisor_pss_kb(engine)
            memory[f"{engine.name} ({'conman-shim' if engine.name == 'conman' else 'conmon'})"] = {
                "supervisor_processes": processes,
                "supervisor_pss_kb_per_container": pss / count,
                "host_kb_per_container": used / count,
            }
        results[f"run -d sleep, {count} in a row (each)"] = sequential
        results[f"ps -q with {count} running"] = measure(ps_contenders(engines), rounds)
        if big > count:
            for engine in engines:
                start_many(engine, big - count, 4)
            results[f"ps -q with {big} running"] = measure(ps_contenders(engines), rounds)
    finally:
        for engine in engines:
            engine.remove_all()
    parallel: dict[str, list[float]] = {}
    try:
        for engine in engines:
            _, wall = start_many(engine, count, 4)
            parallel[f"{engine.name} run -d (wall / container)"] = [wall / count]
            engine.remove_all()
    finally:
        for engine in engines:
            engine.remove_all()
    results[f"run -d sleep, {count} with 4 in parallel"] = parallel
    return results, memory


def interactive_memory(engines: list[Engine], count: int) -> dict[str, dict[str, float]]:
    """Supervisor PSS per interactive (-dit) container: there conman's shim stays, like conmon."""
    memory: dict[str, dict[str, float]] = {}
    try:
        for engine in engines:
            before = mem_available_kb()
            start_many(engine, count, 1)
            time.sleep(2)
            processes, pss = supervisor_pss_kb(engine)
            memory[f"{engine.name} -dit ({'conman-shim' if engine.name == 'conman' else 'conmon'})"] = {
                "supervisor_processes": processes,
                "supervisor_pss_kb_per_container": pss / count,
                "host_kb_per_container": (before - mem_available_kb()) / count,
            }
            engine.remove_all()
    finally:
        for engine in engines:
            engine.remove_all()
    return memory


# --- 50 MB of stdout into the journal -------------------------------------------------------------

MARKER = "bench-log-done"


class Stalled(Exception):
    """The last line did not reach the journal in time."""


def log_script(busybox: str, size: int) -> str:
    return f"{busybox}yes {'x' * 70} | {busybox}head -c {size}; echo; echo {MARKER}"


def wait_for_marker(unit: str, timeout: float) -> None:
    """Until the container's (not systemd's) last line for unit is the marker."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sh(["journalctl", "--sync"], check=False)
        last = sh(["journalctl", f"_SYSTEMD_UNIT={unit}", "-n1", "-o", "cat"], check=False).stdout.strip()
        if last == MARKER:
            return
        time.sleep(0.05)
    lines = sh(["journalctl", f"_SYSTEMD_UNIT={unit}", "-o", "cat"], check=False).stdout.count("\n")
    raise Stalled(f"{unit}: the last line was not in the journal after {timeout:.0f} s ({lines} lines were)")


def log_lines(setup: Setup, size: int, timeout: float) -> dict[str, Contender]:
    def conman(i: int) -> None:
        cid = sh(["conman", "run", "-d", "bench-busybox", "sh", "-c", log_script("", size)]).stdout.strip()
        setup.conman_ids.add(cid)
        wait_for_marker(f"conman-{cid}.service", timeout)

    def systemd_run(i: int) -> None:
        unit = f"bench-log-{os.getpid()}-{i}.service"
        proc = subprocess.Popen(
            ["systemd-run", "--quiet", "--wait", "--collect", "--unit", unit,
             # As conman's units: systemd exports no limit of 0, so a huge burst (core/unit.py).
             "-p", "LogRateLimitIntervalSec=1s", "-p", f"LogRateLimitBurst={LOG_BURST}",
             BUSYBOX, "sh", "-c", log_script(BUSYBOX + " ", size)],

            stdout=subprocess.DEVNULL)  # fmt: skip
        try:
            wait_for_marker(unit, timeout)
            proc.wait(timeout=timeout)
        finally:
            if proc.poll() is None:
                sh(["systemctl", "stop", unit], check=False)
                proc.wait()

    return {"conman run -d": conman, "systemd-run --wait": systemd_run}


# --- stop -t 1 of a container that ignores SIGTERM ------------------------------------------------


def stop_ignoring_sigterm(setup: Setup) -> tuple[dict[str, Contender], dict[str, Contender]]:
    current: dict[str, str] = {}

    def start_conman(i: int) -> None:
        current["conman"] = sh(["conman", "run", "-d", "bench-busybox", *SLEEP]).stdout.strip()
        setup.conman_ids.add(current["conman"])

    def start_podman(i: int) -> None:
        current["podman"] = sh(setup.podman_run_d()).stdout.strip()

    contenders: dict[str, Contender] = {
        "conman stop -t 1": lambda i: sh(["conman", "stop", "-t", "1", current["conman"]])
    }
    prepare: dict[str, Contender] = {"conman stop -t 1": start_conman}
    if setup.podman:
        podman_stop = [*setup.podman_cmd, "stop", "-t", "1"]
        contenders["podman stop -t 1"] = lambda i: sh([*podman_stop, current["podman"]])
        prepare["podman stop -t 1"] = start_podman
    return contenders, prepare


class Tables(list[list[str]]):
    """Each table is printed as soon as it is measured."""

    def append(self, lines: list[str]) -> None:
        print(("\n" if self else "") + "\n".join(lines), flush=True)
        super().append(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m conman_systemd.bench")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--count", type=int, default=100, help="Running containers for run -d, memory, ps.")
    parser.add_argument("--big", action="store_true", help="Also time ps with 500 running containers.")
    parser.add_argument(
        "--interactive-count", type=int, default=20, help="Running -dit containers for memory."
    )

    parser.add_argument("--log-rounds", type=int, default=3, help="Rounds of the 50 MB journal benchmark.")
    parser.add_argument("--log-mb", type=int, default=50, help="Megabytes the log benchmark writes.")
    parser.add_argument("--log-timeout", type=float, default=120, help="Seconds to wait for its last line.")
    parser.add_argument("--stop-rounds", type=int, default=5, help="Rounds of the stop -t 1 benchmark.")
    parser.add_argument("--json", help="Write the samples as JSON here.")
    args = parser.parse_args()
    if not os.path.isdir("/run/systemd/system"):
        print(
            "bench: no systemd here; run it as `conman sandbox -- python -m conman_systemd.bench`",
            file=sys.stderr,
        )
        return 1
    setup = Setup()
    tables = Tables()
    results: dict[str, dict[str, list[float]]] = {}
    memory: dict[str, dict[str, float]] = {}
    try:
        results["run --rm true"] = measure(run_rm_true(setup), args.rounds)
        tables.append(table("run --rm true", results["run --rm true"], "conman run --rm"))
        engines = [Engine("conman", setup)] + ([Engine("podman", setup)] if setup.podman else [])
        many, memory = many_containers(engines, args.count, 500 if args.big else 0, args.rounds)
        for title, samples in many.items():
            results[title] = samples
            if title.startswith("ps"):
                tables.append(table(title, samples, "conman ps -q"))
            elif "parallel" in title:
                tables.append(table(title, samples, "conman run -d (wall / container)"))
            else:
                tables.append(table(title, samples, "conman run -d"))
        tables.append(memory_table(f"memory per running container, {args.count} running", memory))
        interactive = [Engine(e.name, setup, interactive=True) for e in engines]
        memory_it = interactive_memory(interactive, args.interactive_count)
        memory.update(memory_it)
        tables.append(
            memory_table(f"memory per interactive container, {args.interactive_count} running", memory_it)
        )
        title = f"{args.log_mb} MB of stdout: start until the last line is in the journal"
        contenders = log_lines(setup, args.log_mb << 20, args.log_timeout)
        try:
            results[title] = measure(contenders, args.log_rounds, 0)
            tables.append(table(title, results[title], "conman run -d"))
        except Stalled as e:
            # A plain systemd-run unit's journal stream can stall for good on systemd 252 (seen
            # in the sandbox): still give conman's own figure, and say why the floor is missing.
            results[title] = measure({"conman run -d": contenders["conman run -d"]}, args.log_rounds, 0)
            tables.append([*table(title, results[title], "conman run -d"), f"systemd-run not measured: {e}"])

        title = "stop -t 1 of a container that ignores SIGTERM"
        contenders, prepare = stop_ignoring_sigterm(setup)
        results[title] = measure(contenders, args.stop_rounds, warmup=1, prepare=prepare)
        tables.append(table(title, results[title], "conman stop -t 1"))
    finally:
        setup.close()
    if not setup.podman:
        print("(podman is not installed: apt-get install podman adds its column)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"timings": results, "memory": memory}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmarks: conman next to podman and the systemd-run + runtime floor, ratios from one run.

Run inside a systemd (the sandbox on machines where systemd is not PID 1):

    conman sandbox -- python -m conman_systemd.bench [--rounds 15] [--count 100] [--big] [--json out.json]

It times `conman` as found on PATH (the entry point an install puts there) and says which Python
runs it. Tables: `run --rm true` with each runtime against podman and the floor; `run -d` of
--count containers in a row and 4 at a time; `ps -q` with them running; supervisor and host memory
per running container, detached and interactive (-dit); 50 MB of stdout until the last line is in
the journal; `stop -t 1` of a container that ignores SIGTERM; (--profile) `run --rm true`
phase by phase; and `run --rm true` from a 100 MB image, its load and its pull (from a registry
on 127.0.0.1). podman (when installed) runs with its own storage under /var/tmp and
`--network=none`, but for `run --rm true` on each engine's default bridge network (inside a
`conman sandbox --network private`; skipped in a sandbox sharing the host's network). The machine
is noisy: every round runs each contender once, interleaved, and each table shows medians and
ratios to conman's first row. Nothing here is asserted; tests never time anything. Everything the
benchmark creates is removed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from conman_systemd.bench import many
from conman_systemd.bench.cpu import cpu_table
from conman_systemd.bench.images import images
from conman_systemd.bench.io import Stalled, log_lines, stop_ignoring_sigterm
from conman_systemd.bench.measure import Contender, Tables, measure, memory_table, table
from conman_systemd.bench.profile import profile
from conman_systemd.bench.setup import RUNTIMES, Setup, describe_entry, sh


def run_rm_true(setup: Setup, bridge: bool = False) -> dict[str, Contender]:
    """`run --rm true` of each engine and runtime: conman with its default network (the host's in
    a sandbox sharing it) and podman with none, next to the floor; with bridge, each on its
    default bridge network (a namespace, a veth pair, an address, DNS), without the floor."""
    contenders: dict[str, Contender] = {}
    conman_network = ["--network", "bridge"] if bridge else []
    podman_network = "--network=bridge" if bridge else "--network=none"
    label = ", bridge" if bridge else ""
    for runtime in RUNTIMES:

        def conman(i: int, runtime: str = runtime) -> None:
            sh(["conman", "run", "--rm", *conman_network, "--runtime", runtime, "bench-busybox", "true"])

        def podman(i: int, runtime: str = runtime) -> None:
            sh([*setup.podman_cmd(runtime), "run", "--rm", podman_network, "bench-busybox", "true"])

        def floor(i: int, runtime: str = runtime) -> None:
            sh(["systemd-run", "--quiet", "--wait", "--collect", "-p", "Delegate=yes", runtime, "run",
                "--bundle", setup.bundle, f"bench-{os.getpid()}-{i}"])  # fmt: skip

        contenders[f"conman run --rm{label} ({runtime})"] = conman
        if setup.podman:
            contenders[f"podman run --rm{label} ({runtime})"] = podman
        if not bridge:
            contenders[f"systemd-run + {runtime} run (floor)"] = floor
    return contenders


def many_containers(setup: Setup, args: argparse.Namespace, tables: Tables) -> dict[str, object]:
    engines = [many.Engine("conman", r, setup) for r in RUNTIMES]
    engines += [many.Engine("podman", "crun", setup)] if setup.podman else []
    results = many.in_a_row(engines, args.count, 500 if args.big else 0, args.rounds)
    baselines = {"run -d": "conman (crun) run -d", "ps": "conman ps -q"}
    for title, samples in results.items():
        tables.append(table(title, samples, baselines["ps" if title.startswith("ps") else "run -d"]))
    cpu, memory = many.cost(engines, args.count)
    tables.append(cpu_table("CPU ms per run -d (alone, in a row), by process", cpu))
    tables.append(memory_table(f"memory per running container, {args.count} running", memory))
    title = f"run -d sleep, {args.count} with 4 in parallel"
    results[title] = many.parallel(engines, args.count)
    tables.append(table(title, results[title], "conman (crun) run -d (wall / container)"))
    interactive = [
        many.Engine(e.name, e.runtime, setup, interactive=True) for e in engines if e.runtime == "crun"
    ]
    memory_it = many.interactive_memory(interactive, args.interactive_count)
    tables.append(
        memory_table(f"memory per interactive container, {args.interactive_count} running", memory_it)
    )
    return {"timings": results, "memory": {**memory, **memory_it}, "cpu": cpu}


def output_and_stop(setup: Setup, args: argparse.Namespace, tables: Tables) -> dict[str, object]:
    out: dict[str, object] = {}
    title = f"{args.log_mb} MB of stdout: start until the last line is in the journal"
    contenders = log_lines(setup, args.log_mb << 20, args.log_timeout)
    try:
        out[title] = measure(contenders, args.log_rounds, 0)
        tables.append(table(title, out[title], "conman run -d (crun)"))  # type: ignore[arg-type]
    except Stalled as e:
        # A plain systemd-run unit's journal stream can stall for good on systemd 252 (seen in the
        # sandbox): still give conman's own figure, and say why the floor is missing.
        conman = {"conman run -d (crun)": contenders["conman run -d (crun)"]}
        out[title] = samples = measure(conman, args.log_rounds, 0)
        tables.append([*table(title, samples, "conman run -d (crun)"), f"systemd-run not measured: {e}"])
    title = "stop -t 1 of a container that ignores SIGTERM"
    contenders, prepare = stop_ignoring_sigterm(setup)
    out[title] = samples = measure(contenders, args.stop_rounds, warmup=1, prepare=prepare)
    tables.append(table(title, samples, "conman stop -t 1"))
    return out


def parse_args() -> argparse.Namespace:
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
    parser.add_argument(
        "--profile", type=int, default=10, metavar="N", help="Runs of the phase profile (0: none)."
    )
    parser.add_argument(
        "--only",
        choices=["start", "bridge", "many", "io", "profile", "images"],
        help="Run one group of tables.",
    )
    parser.add_argument("--json", help="Write the samples as JSON here.")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if not os.path.isdir("/run/systemd/system"):
        print(
            "bench: no systemd here; run it as `conman sandbox -- python -m conman_systemd.bench`",
            file=sys.stderr,
        )
        return 1
    print(f"conman: {describe_entry()}", flush=True)
    setup = Setup()
    tables = Tables()
    results: dict[str, object] = {}
    groups = [args.only] if args.only else ["start", "bridge", "many", "io", "profile", "images"]
    try:
        if "start" in groups:
            results["run --rm true"] = samples = measure(run_rm_true(setup), args.rounds)
            tables.append(table("run --rm true", samples, "conman run --rm (crun)"))
        if "bridge" in groups:
            from conman_systemd.config import shares_host_network_in_sandbox

            if shares_host_network_in_sandbox():
                print("(bridge: skipped in a sandbox sharing the host's network: use --network private)")
            else:
                results["run --rm true, bridge"] = samples = measure(
                    run_rm_true(setup, bridge=True), args.rounds
                )
                tables.append(
                    table("run --rm true on the default bridge", samples, "conman run --rm, bridge (crun)")
                )
        if "many" in groups:
            results.update(many_containers(setup, args, tables))
        if "io" in groups:
            results.update(output_and_stop(setup, args, tables))
        if "profile" in groups and args.profile:
            tables.append(profile("bench-busybox", args.profile))
        if "images" in groups:
            results.update(images(setup, args.rounds, tables))
    finally:
        setup.close()
    if not setup.podman:
        print("(podman is not installed: apt-get install podman adds its column)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

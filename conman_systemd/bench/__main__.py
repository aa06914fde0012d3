"""Benchmarks: conman next to podman and the systemd-run + runc floor, ratios from one run.

Run inside a systemd (the sandbox on machines where systemd is not PID 1):

    conman sandbox -- python -m conman_systemd.bench [--rounds 15] [--json out.json]

The machine is noisy: every round runs each contender once, interleaved, and the table shows
medians and ratios to conman. Nothing here is asserted; tests never time anything.
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
from collections.abc import Callable

from conman_systemd.core.images import build_busybox

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
        self.podman = shutil.which("podman") is not None
        if self.podman:
            tar = os.path.join(self.dir, "rootfs.tar")
            sh(["tar", "-C", self.rootfs, "-cf", tar, "."])
            sh(["podman", "import", tar, "bench-busybox"])

    def close(self) -> None:
        sh(["conman", "image", "rm", "bench-busybox"], check=False)
        if self.podman:
            sh(["podman", "rmi", "-f", "bench-busybox"], check=False)
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
            ["podman", "run", "--rm", "--network=none", "bench-busybox", "true"])  # fmt: skip
    return contenders


def measure(contenders: dict[str, Contender], rounds: int, warmup: int = 2) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for i in range(warmup + rounds):
        for name, fn in contenders.items():  # interleaved: noise hits every contender alike
            t = timed(fn, i)
            if i >= warmup:
                samples[name].append(t)
    return samples


def table(title: str, samples: dict[str, list[float]], baseline: str) -> list[str]:
    base = statistics.median(samples[baseline])
    lines = [f"== {title}", f"{'contender':<32} {'median ms':>10} {'ratio':>7}"]
    for name, values in samples.items():
        median = statistics.median(values)
        lines.append(f"{name:<32} {median * 1000:>10.1f} {median / base:>6.2f}x")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m conman_systemd.bench")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", help="Write the samples as JSON here.")
    args = parser.parse_args()
    if not os.path.isdir("/run/systemd/system"):
        print(
            "bench: no systemd here; run it as `conman sandbox -- python -m conman_systemd.bench`",
            file=sys.stderr,
        )
        return 1
    setup = Setup()
    try:
        results = {"run --rm true": measure(run_rm_true(setup), args.rounds)}
    finally:
        setup.close()
    for title, samples in results.items():
        print("\n".join(table(title, samples, "conman run --rm")))
    if not setup.podman:
        print("(podman is not installed: apt-get install podman adds its column)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())

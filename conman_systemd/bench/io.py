"""Output and stops: 50 MB of stdout until its last line is in the journal; `stop -t 1` of a
container that ignores SIGTERM."""

from __future__ import annotations

import os
import subprocess
import time

from conman_systemd.bench.measure import Contender
from conman_systemd.bench.setup import Setup, sh
from conman_systemd.core.unit import LOG_BURST
from conman_systemd.image.rootfs import BUSYBOX

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
        cid = setup.run_d("conman", "crun", "-d", command=["sh", "-c", log_script("", size)])
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

    return {"conman run -d (crun)": conman, "systemd-run --wait": systemd_run}


def stop_ignoring_sigterm(setup: Setup) -> tuple[dict[str, Contender], dict[str, Contender]]:
    current: dict[str, str] = {}
    engines = ["conman", "podman"] if setup.podman else ["conman"]
    contenders: dict[str, Contender] = {}
    prepare: dict[str, Contender] = {}
    for engine in engines:
        stop = ["conman"] if engine == "conman" else setup.podman_cmd()

        def start(i: int, engine: str = engine) -> None:
            current[engine] = setup.run_d(engine, "crun", "-d")

        def stop_it(i: int, engine: str = engine, stop: list[str] = stop) -> None:
            sh([*stop, "stop", "-t", "1", current[engine]])

        contenders[f"{engine} stop -t 1"] = stop_it
        prepare[f"{engine} stop -t 1"] = start
    return contenders, prepare

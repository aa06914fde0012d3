"""`conman run --rm IMAGE true`, phase by phase, from the --debug lines of the CLI and of the shim.

Both stamp their lines with CLOCK_MONOTONIC, one clock for every process: the CLI's lines come on
its stderr, the shim's from the journal (priority debug, SYSLOG_IDENTIFIER=conman-shim).
"""

from __future__ import annotations

import re
import statistics
import subprocess
import time

from conman_systemd.bench.setup import sh

LINE = re.compile(r"^conman: \[(\d+\.\d+)\] (.*)$")
# (phase, the line that ends it): each phase runs from the end of the one before.
PHASES = [
    ("CLI start-up: Python, imports, parsing", r"^cli: run parsed"),
    ("spec, OCI config, D-Bus connect, StartTransientUnit", r"^dbus: StartTransientUnit"),
    ("systemd forks the shim; the shim's Python starts", r"^shim: start "),
    ("shim: cgroup check, overlay mount, journal streams", r"^\+ \S*(crun|runc) "),
    ("runtime: create", r"^(crun|runc) create: exit status"),
    ("runtime: start", r"^(crun|runc) start: done"),
    ("shim: READY, MAINPID hand-over (with barriers)", r"^shim: MAINPID handed over"),
    ("container exits; shim records it, removes state", r"^shim: finished"),
    ("systemd stops the unit; the CLI sees it", r"^journal: .* settled"),
    ("journal sync and the rest of the output", r"^journal: drained"),
]


def _lines(argv: list[str]) -> tuple[list[tuple[float, str]], float, float]:
    """(debug lines of the CLI and its container's shim, when it started, when it ended)."""
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    ended = time.monotonic()
    if proc.returncode != 0:
        raise RuntimeError(f"profile: {' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    lines = [(float(m[1]), m[2]) for m in map(LINE.match, proc.stderr.splitlines()) if m]
    unit = next(text.split("'")[1] for _, text in lines if text.startswith("dbus: StartTransientUnit"))
    sh(["journalctl", "--sync"])
    shim = sh(
        ["journalctl", "-o", "cat", "-p", "debug", f"_SYSTEMD_UNIT={unit}", "SYSLOG_IDENTIFIER=conman-shim"]
    )
    lines += [(float(m[1]), m[2]) for m in map(LINE.match, shim.stdout.splitlines()) if m]
    return sorted(lines), started, ended


def profile_once(image: str) -> dict[str, float]:
    lines, started, ended = _lines(["conman", "--debug", "run", "--rm", "--runtime", "crun", image, "true"])
    durations: dict[str, float] = {}
    mark = started
    for phase, pattern in PHASES:
        at = next((t for t, text in lines if t >= mark and re.search(pattern, text)), None)
        if at is None:
            raise RuntimeError(f"profile: no line for {phase!r} ({pattern})")
        durations[phase] = at - mark
        mark = at
    durations["the CLI exits"] = ended - mark
    durations["total (wall)"] = ended - started
    return durations


def profile(image: str, rounds: int) -> list[str]:
    runs = [profile_once(image) for _ in range(rounds + 1)][1:]
    lines = ["== run --rm true, phase by phase (crun, --debug on; medians)", f"{'phase':<56} {'ms':>7}"]
    for phase in runs[0]:
        lines.append(f"{phase:<56} {statistics.median(r[phase] for r in runs) * 1000:>7.1f}")
    return lines

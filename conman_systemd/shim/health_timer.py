"""The health checks' schedule: a transient timer and service of systemd's, made by systemd-run
when the container starts.

conman-<id>-health.timer fires every --health-interval (the first time one interval after the
start, as docker's first check) and starts conman-<id>-health.service, which runs
`conman healthcheck run --scheduled ID` once. The timer is bound to the container's unit
(BindsTo=, no After=: with --sdnotify=healthy the container's start waits for a check): it stops
with it, and transient units that stop are gone. LogLevelMax=notice keeps systemd's own
"Starting/Finished" lines of every check out of the journal (a podman complaint); a check's
failures are in inspect's health log.
"""

from __future__ import annotations

import sys

from conman_systemd import runner
from conman_systemd.container.paths import Paths
from conman_systemd.container.spec import ContainerSpec
from conman_systemd.log import debug


def systemd_run_argv(paths: Paths, spec: ContainerSpec, python: str) -> list[str]:
    assert spec.health is not None
    every = f"{spec.health.interval:g}s"
    name = spec.health_units[1].removesuffix(".service")  # systemd-run adds .timer and .service
    return [
        "systemd-run", "--quiet", "--no-block", "--collect", f"--unit={name}",
        f"--description=conman health check of {spec.name}",
        f"--on-active={every}", f"--on-unit-active={every}",
        "--timer-property=AccuracySec=100ms", f"--timer-property=BindsTo={spec.unit}",
        "--property=Type=oneshot", "--property=LogLevelMax=notice",
        f"--property=TimeoutStartSec={spec.health.timeout + 30:g}s",
        "--property=SyslogIdentifier=conman-health",
        "--", python, "-I", "-m", "conman_systemd", "--root", paths.root, "--runroot", paths.runroot,
        "healthcheck", "run", "--scheduled", spec.id,
    ]  # fmt: skip


def start_timer(paths: Paths, spec: ContainerSpec) -> None:
    """A timer left from the container's last run (stopped, not yet collected) is stopped first."""
    assert spec.health is not None
    argv = systemd_run_argv(paths, spec, sys.executable)
    result = runner.run(argv, check=False, timeout=30)
    if result.returncode != 0:
        runner.run(["systemctl", "stop", *spec.health_units], check=False, timeout=30)
        runner.run(argv, timeout=30)
    debug(f"shim: health checks every {spec.health.interval:g} s")

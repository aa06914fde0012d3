"""Health checks as docker and podman define them: the flags, the image's HEALTHCHECK, and the
record of their results.

A check is the command run in the container (`runtime exec`): exit 0 is a pass, anything else (or
no end within the timeout) a failure. The status is "starting" until the first pass (failures
within the start period do not count), "healthy" after a pass, "unhealthy" after `retries`
failures in a row. systemd runs the checks (shim/health_timer.py); `conman healthcheck run` runs
one by hand.
"""

from __future__ import annotations

import time

from conman_systemd.container.paths import read_record, write_record
from conman_systemd.container.spec import HealthCheck
from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.container.paths import Paths

ACTIONS = ("none", "kill", "restart", "stop")
LOG_KEPT = 5  # results inspect shows, as docker keeps
OUTPUT_KEPT = 4096  # bytes of a check's output kept, as docker keeps


def parse_action(text: str) -> str:
    if text not in ACTIONS:
        raise ConmanError(f'invalid --health-on-failure "{text}": use none, kill, restart or stop')
    return text


def from_image(config: dict[str, Any]) -> HealthCheck | None:
    """An image config's Healthcheck (times in nanoseconds; Test: CMD, CMD-SHELL or NONE)."""
    test = [str(t) for t in config.get("Test") or []]
    if not test or test[0] == "NONE":
        return None
    argv: tuple[str, ...]
    if test[0] == "CMD-SHELL":
        argv = ("/bin/sh", "-c", " ".join(test[1:]))
    elif test[0] == "CMD":
        argv = tuple(test[1:])
    else:
        return None
    if not argv:
        return None
    defaults = HealthCheck(test=argv)

    def seconds(key: str, default: float) -> float:
        value = config.get(key)
        return value / 1e9 if isinstance(value, int) and value > 0 else default

    return HealthCheck(test=argv, interval=seconds("Interval", defaults.interval),
                       timeout=seconds("Timeout", defaults.timeout),
                       start_period=seconds("StartPeriod", defaults.start_period),
                       retries=int(config.get("Retries") or defaults.retries))  # fmt: skip


def from_options(values: dict[str, Any], image_check: HealthCheck | None) -> HealthCheck | None:
    """The check a container gets: the image's, changed by the flags; none with --no-healthcheck."""
    given = {k: v for k, v in values.items() if k.startswith("health_") and v is not None}
    if values.get("no_healthcheck"):
        if given:
            raise ConmanError("--no-healthcheck and --health-* flags cannot be used together")
        return None
    if "health_cmd" not in given and image_check is None:
        if given:
            flag = "--" + sorted(given)[0].replace("_", "-")
            raise ConmanError(f"{flag} needs a health command", hint="give --health-cmd CMD")
        return None
    check = image_check or HealthCheck(test=())
    if "health_cmd" in given:
        if not given["health_cmd"].strip():
            raise ConmanError("--health-cmd is empty", hint="give a command, or --no-healthcheck")
        check = check.replace(test=("/bin/sh", "-c", given["health_cmd"]))
    for key, field in (("health_interval", "interval"), ("health_timeout", "timeout"),
                       ("health_start_period", "start_period"), ("health_retries", "retries"),
                       ("health_on_failure", "on_failure")):  # fmt: skip
        if key in given:
            check = check.replace(**{field: given[key]})
    if check.interval <= 0 or check.timeout <= 0:
        raise ConmanError("--health-interval and --health-timeout must be more than 0")
    if check.retries < 1:
        raise ConmanError(f"invalid --health-retries {check.retries}: at least 1")
    return check


class Health:
    """A container's health record (records/health.json): status, failures in a row, the log."""

    def __init__(self, paths: Paths, cid: str) -> None:
        self.paths, self.cid = paths, cid
        record = read_record(paths, cid, "health") or {}
        self.status = str(record.get("status") or "starting")
        self.failing_streak = int(record.get("failing_streak") or 0)
        self.log: list[dict[str, Any]] = list(record.get("log") or [])

    def add(self, check: HealthCheck, started: float, begun: float, code: int, output: str) -> str:
        """One result (started: when the container started); the status after it."""
        ended = time.time()
        self.log = [*self.log, {"Start": begun, "End": ended, "ExitCode": code,
                                "Output": output[-OUTPUT_KEPT:]}][-LOG_KEPT:]  # fmt: skip
        if code == 0:
            self.status, self.failing_streak = "healthy", 0
        elif begun - started < check.start_period and self.status == "starting":
            pass  # the app is still starting: failures do not count yet
        else:
            self.failing_streak += 1
            if self.failing_streak >= check.retries:
                self.status = "unhealthy"
        write_record(self.paths, self.cid, "health", status=self.status, failing_streak=self.failing_streak,
                     log=self.log)  # fmt: skip
        return self.status

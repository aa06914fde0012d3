"""Health checks without systemd: durations, the image's HEALTHCHECK, the flags, the status."""

from __future__ import annotations

from pathlib import Path

import pytest

from conman_systemd.container.paths import Paths
from conman_systemd.container.spec import HealthCheck
from conman_systemd.core.health import Health, from_image, from_options
from conman_systemd.core.options import parse_duration
from conman_systemd.errors import ConmanError


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("1m30s", 90), ("500ms", 0.5), ("1h", 3600),
                                               ("1.5s", 1.5), ("2m0s", 120)])  # fmt: skip
def test_durations_as_go_writes_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5", "", "s", "1x", "1.2.3s", "-1s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConmanError, match=f'^invalid duration "{text}": use a number and a unit'):
        parse_duration(text)


def test_the_image_s_healthcheck() -> None:
    check = from_image({"Test": ["CMD-SHELL", "curl -f localhost"], "Interval": 5_000_000_000, "Retries": 4})
    assert check == HealthCheck(test=("/bin/sh", "-c", "curl -f localhost"), interval=5, retries=4)
    assert from_image({"Test": ["CMD", "/bin/check", "--quick"]}) == HealthCheck(
        test=("/bin/check", "--quick")
    )
    assert from_image({"Test": ["NONE"]}) is None and from_image({}) is None


def test_flags_change_the_image_s_check() -> None:
    image = HealthCheck(test=("/bin/check",), interval=5)
    got = from_options({"health_timeout": 2.0, "health_on_failure": "kill"}, image)
    assert got == HealthCheck(test=("/bin/check",), interval=5, timeout=2, on_failure="kill")
    assert from_options({"no_healthcheck": True}, image) is None
    assert from_options({}, None) is None


def test_the_status_follows_the_results(tmp_path: Path) -> None:
    paths = Paths(root=str(tmp_path), runroot=str(tmp_path / "run"))
    (tmp_path / "containers" / "c").mkdir(parents=True)
    check = HealthCheck(test=("x",), retries=2, start_period=10)

    def add(code: int, at: float) -> str:
        return Health(paths, "c").add(check, started=100, begun=at, code=code, output=f"run {at}\n")

    assert add(1, 105) == "starting"  # within the start period: not counted
    assert add(0, 106) == "healthy"
    assert [add(1, 107), add(1, 108)] == ["healthy", "unhealthy"]
    assert add(0, 109) == "healthy"
    record = Health(paths, "c")
    assert record.failing_streak == 0 and len(record.log) == 5 and record.log[-1]["Output"] == "run 109\n"
    assert [add(1, 110 + i) for i in range(2)] == ["healthy", "unhealthy"]
    assert len(Health(paths, "c").log) == 5  # the last five, as docker keeps


def test_a_health_flag_of_zero_without_a_command_is_refused(tmp_path: Path) -> None:
    from tests.unit.test_cli import conman, store_busybox_image

    store_busybox_image(tmp_path)
    for flag, value in (("--health-retries", "0"), ("--health-interval", "0s")):
        proc = conman("--root", str(tmp_path), "run", "--dry-run", flag, value, "busybox", "true")
        assert (proc.returncode, proc.stderr) == (
            125, f"Error: {flag} needs a health command\nHint: give --health-cmd CMD\n"
        )  # fmt: skip

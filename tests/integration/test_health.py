"""Health checks scheduled by systemd: a timer bound to the container's unit, results in ps,
inspect and the unit's STATUS line, podman's --health-on-failure actions, --sdnotify=healthy."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.conftest import Conman, show, until

pytestmark = pytest.mark.systemd


def health(conman: Conman, name: str) -> dict:  # type: ignore[type-arg]
    return dict(json.loads(conman.ok("inspect", "-f", "{{json .State.Health}}", name)))


def test_a_passing_check_makes_it_healthy_and_leaves_no_unit_behind(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "fine", "--health-cmd", "test -d /etc && echo fine", "--health-interval",
             "500ms", "--stop-signal", "KILL", "busybox", "sleep", "1000")  # fmt: skip
    cid = clean.ok("inspect", "-f", "{{.Id}}", "fine").strip()
    unit = f"conman-{cid}.service"
    assert until(lambda: health(clean, "fine")["Status"] == "healthy", 15)
    assert "(healthy)" in clean.ok("ps", "--format", "{{.Status}}")
    assert until(lambda: show(clean, unit, "StatusText")["StatusText"].endswith(", healthy"))
    log = health(clean, "fine")["Log"]
    assert log[-1]["ExitCode"] == 0 and log[-1]["Output"] == "fine\n"
    timer = clean.system.run(["systemctl", "is-active", f"conman-{cid}-health.timer"]).stdout
    assert timer == "active\n"
    assert clean.ok("healthcheck", "run", "fine") == "healthy\n"
    # systemd's own lines of each check stay out of the journal (LogLevelMax=notice)
    quiet = clean.system.run(["journalctl", "-q", "--no-pager", "-u", f"conman-{cid}-health.service"]).stdout
    assert quiet == ""
    clean.ok("rm", "-f", "fine")
    assert clean.leftovers() == ""


def test_a_failing_check_turns_it_unhealthy_and_the_action_happens(clean: Conman) -> None:
    began = time.monotonic()
    clean.ok("run", "-d", "--name", "sick", "--health-cmd", "echo no; exit 1", "--health-interval", "1s",
             "--health-retries", "2", "--health-on-failure", "kill", "busybox", "sleep", "1000")  # fmt: skip
    assert until(lambda: clean.ok("inspect", "-f", "{{.State.Status}}", "sick") == "exited\n", 20)
    assert time.monotonic() - began < 1 * 2 + 6  # interval × retries, and some slack
    state = json.loads(clean.ok("inspect", "-f", "{{json .State}}", "sick"))
    assert (state["Health"]["Status"], state["Health"]["FailingStreak"], state["ExitCode"]) == (
        "unhealthy",
        2,
        137,
    )
    assert state["Health"]["Log"][-1]["Output"] == "no\n"
    bad = clean("healthcheck", "run", "sick")
    assert (bad.returncode, bad.stderr) == (
        125, "Error: container sick is not running\nHint: start it with `conman start sick`\n"
    )  # fmt: skip
    clean.ok("rm", "sick")


def test_stop_on_failure_and_a_start_period(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "late", "--health-cmd", "test -e /tmp/up", "--health-interval", "300ms",
             "--health-retries", "1", "--health-start-period", "3s", "--health-on-failure", "stop",
             "--stop-signal", "KILL", "busybox", "sh", "-c", "sleep 1.5; touch /tmp/up; exec sleep 1000")  # fmt: skip
    assert until(
        lambda: health(clean, "late")["Status"] == "healthy", 15
    )  # its early failures did not count
    clean.ok("exec", "late", "rm", "/tmp/up")
    assert until(lambda: clean.ok("inspect", "-f", "{{.State.Status}}", "late") == "exited\n", 15)
    assert health(clean, "late")["Status"] == "unhealthy"
    clean.ok("rm", "late")


def test_sdnotify_healthy_is_ready_after_the_first_pass(clean: Conman) -> None:
    began = time.monotonic()
    clean.ok("run", "-d", "--name", "slow", "--sdnotify=healthy", "--health-cmd", "test -e /tmp/up",
             "--health-interval", "300ms", "--stop-signal", "KILL", "busybox", "sh", "-c",
             "sleep 2; touch /tmp/up; exec sleep 1000")  # fmt: skip
    assert time.monotonic() - began >= 2
    unit = clean.ok("unit", "slow").strip()
    assert show(clean, unit, "ActiveState")["ActiveState"] == "active"
    assert health(clean, "slow")["Status"] == "healthy"
    clean.ok("rm", "-f", "slow")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--health-interval", "5"],
            'Error: invalid duration "5": use a number and a unit, e.g. 30s, 1m30s or 500ms\n',
        ),
        (
            ["--health-retries", "2"],
            "Error: --health-retries needs a health command\nHint: give --health-cmd CMD\n",
        ),
        (
            ["--no-healthcheck", "--health-cmd", "true"],
            "Error: --no-healthcheck and --health-* flags cannot be used together\n",
        ),
        (
            ["--health-cmd", "true", "--health-on-failure", "reboot"],
            'Error: invalid --health-on-failure "reboot": use none, kill, restart or stop\n',
        ),
        (
            ["--health-cmd", "true", "--health-retries", "0"],
            "Error: invalid --health-retries 0: at least 1\n",
        ),
    ],
)
def test_bad_health_options(clean: Conman, args: list[str], error: str) -> None:
    bad = clean("run", "-d", *args, "busybox", "true")
    assert (bad.returncode, bad.stdout, bad.stderr) == (125, "", error)


def test_rm_f_during_a_check_leaves_no_health_unit(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "busy", "--health-cmd", "sleep 30", "--health-interval", "200ms",
             "--stop-signal", "KILL", "busybox", "sleep", "1000")  # fmt: skip
    cid = clean.ok("inspect", "-f", "{{.Id}}", "busy").strip()
    service = f"conman-{cid}-health.service"
    assert until(
        lambda: clean.system.run(["systemctl", "is-active", service]).stdout.strip() == "activating"
    )
    clean.ok("rm", "-f", "busy")
    assert clean.leftovers() == ""

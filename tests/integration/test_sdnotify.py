"""--sdnotify=container: the app's own sd_notify gates readiness, and what it says reaches systemd.

The app is the host's python3, bound into a busybox container (busybox has no sd_notify sender).
"""

from __future__ import annotations

import time

import pytest

from tests.integration.conftest import Conman, show, until

pytestmark = pytest.mark.systemd

HOST_PYTHON = ["-v", "/usr:/usr:ro", "-v", "/lib:/lib:ro", "-v", "/lib64:/lib64:ro"]
APP = """
import os, socket, sys, time
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
say = lambda text: sock.sendto(text.encode(), os.environ["NOTIFY_SOCKET"])
time.sleep(float(sys.argv[1]))
say("READY=1\\nSTATUS=warming up\\nMAINPID=1")
time.sleep(0.3)
say("STATUS=serving " + os.environ.get("WATCHDOG_USEC", "no watchdog"))
for _ in range(int(sys.argv[2])):
    say("WATCHDOG=1")
    time.sleep(0.2)
time.sleep(1000)
"""


def test_ready_when_the_app_says_so_and_its_status_reaches_the_unit(clean: Conman) -> None:
    began = time.monotonic()
    clean.ok("run", "-d", "--name", "app", "--sdnotify=container", "--stop-signal", "KILL", *HOST_PYTHON,
             "busybox", "/usr/bin/python3", "-c", APP, "2", "0")  # fmt: skip
    assert time.monotonic() - began >= 2
    unit = clean.ok("unit", "app").strip()
    assert show(clean, unit, "ActiveState")["ActiveState"] == "active"
    assert until(lambda: show(clean, unit, "StatusText")["StatusText"] == "serving no watchdog")
    status = clean.system.run(["systemctl", "status", unit]).stdout
    assert 'Status: "serving no watchdog"' in status
    # MAINPID=1 from the app was dropped: the main process is still the shim, not the app's pid 1
    main = int(show(clean, unit, "MainPID")["MainPID"])
    assert main > 1 and main != int(clean.ok("inspect", "-f", "{{.State.Pid}}", "app"))
    clean.ok("stop", "app")
    assert clean.ok("inspect", "-f", "{{.State.ExitCode}}", "app") == "137\n"


def test_a_container_that_ends_before_ready_fails_its_start(clean: Conman) -> None:
    bad = clean("run", "-d", "--name", "never", "--sdnotify=container", "busybox", "sh", "-c", "exit 3")
    assert bad.returncode != 0 and bad.stderr.startswith("Error: container never"), bad.stderr


def test_a_missed_watchdog_restarts_the_container(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "dog", "--sdnotify=container", "--restart", "on-failure",
             "--watchdog", "1", *HOST_PYTHON, "busybox", "/usr/bin/python3", "-c", APP, "0", "5")  # fmt: skip
    unit = clean.ok("unit", "dog").strip()
    assert show(clean, unit, "WatchdogUSec")["WatchdogUSec"] == "1s"
    assert until(lambda: show(clean, unit, "StatusText")["StatusText"] == "serving 1000000")
    assert until(lambda: int(show(clean, unit, "NRestarts")["NRestarts"]) >= 1, 20)
    clean.ok("rm", "-f", "dog")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--sdnotify=later"], 'Error: invalid --sdnotify "later": use conman, container or healthy\n'),
        (
            ["--sdnotify=healthy"],
            "Error: --sdnotify=healthy needs a health check\nHint: give --health-cmd CMD\n",
        ),
        (
            ["-i", "--sdnotify=container"],
            "Error: --sdnotify=container is for containers without -i or -t\n"
            "Hint: their IO server is the unit's main process; run the app detached (-d) instead\n",
        ),
        (["--watchdog", "1"], "Error: --watchdog needs --sdnotify=container: the app sends WATCHDOG=1\n"),
    ],
)
def test_bad_sdnotify_options(clean: Conman, args: list[str], error: str) -> None:
    bad = clean("run", "-d", *args, "busybox", "true")
    assert (bad.returncode, bad.stdout, bad.stderr) == (125, "", error)

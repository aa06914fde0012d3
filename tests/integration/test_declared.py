"""Declared containers against the real systemd: conman's generator turns definition files into
units that systemctl starts, restarts and stops, and that conman's commands know.

The sandbox's /etc is read-only: definitions go to /run/conman/containers, which the generator
reads after /etc/conman/containers; the sandbox installs the generator in its own /run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest

from tests.integration.conftest import Conman, show, until

pytestmark = pytest.mark.systemd

GENERATOR = "/run/systemd/system-generators/conman-generator"
DEFINITIONS = "/run/conman/containers"


@pytest.fixture
def declared(clean: Conman) -> Iterator[Callable[[str, str], None]]:
    """declare(name, text): the definition written and systemd reloaded; all gone afterwards.
    The sandbox has conman's generator; on a host it must be installed (the package does)."""
    assert (
        clean.system.run(["test", "-x", GENERATOR]).returncode == 0
        or clean.system.run(["test", "-x", "/lib/systemd/system-generators/conman-generator"]).returncode
        == 0
    ), "conman's generator is not installed"
    clean.sh(f"mkdir -p {DEFINITIONS}")
    names: list[str] = []

    def declare(name: str, text: str) -> None:
        names.append(name)
        clean.system.run(["sh", "-c", f"cat > {DEFINITIONS}/{name}.container"], input=text)
        assert clean.system.run(["systemctl", "daemon-reload"]).returncode == 0

    yield declare
    for name in names:
        clean.system.run(["systemctl", "stop", f"{name}.service"])
        clean.system.run(["systemctl", "reset-failed", f"{name}.service"])
    clean.sh(f"rm -rf {DEFINITIONS}; systemctl daemon-reload")


WEB = """\
[Unit]
Description=the web container

[Container]
Image=busybox
Exec=sh -c 'echo up as $0; exec sleep 1000'
StopTimeout=3
Restart=always

[Install]
WantedBy=multi-user.target
"""


def test_a_declared_container_is_a_service_systemctl_and_conman_manage(
    clean: Conman, declared: Callable[[str, str], None]
) -> None:
    declared("web", WEB)
    assert clean.sh("readlink /run/systemd/generator/multi-user.target.wants/web.service").stdout == (
        "../web.service\n"
    )
    assert show(clean, "web.service", "Description", "LoadState", "SourcePath") == {
        "Description": "the web container", "LoadState": "loaded",
        "SourcePath": f"{DEFINITIONS}/web.container",
    }  # fmt: skip
    # Start at boot: what multi-user.target wants is started with it.
    assert clean.system.run(["systemctl", "start", "multi-user.target"]).returncode == 0
    assert until(lambda: show(clean, "web.service", "ActiveState")["ActiveState"] == "active")
    assert until(lambda: "up as sh" in clean.ok("logs", "web"))
    assert "up as sh" in clean.sh("journalctl -u web.service -o cat").stdout
    ps = clean.ok("ps", "--format", "{{.Names}} {{.Status}}")
    assert ps.startswith("web Up"), ps
    assert clean.ok("exec", "web", "cat", "/proc/1/comm") == "sleep\n"
    status = clean.sh("systemctl status web.service --no-pager").stdout
    assert "sleep 1000" in status and "conman.slice" in status

    # Its restart policy: a killed init is restarted by systemd.
    pid = show(clean, "web.service", "MainPID")["MainPID"]
    clean.sh(f"kill -9 {pid}")
    assert until(lambda: show(clean, "web.service", "NRestarts")["NRestarts"] == "1")
    assert until(lambda: show(clean, "web.service", "SubState")["SubState"] == "running")
    assert clean.system.run(["systemctl", "restart", "web.service"]).returncode == 0
    assert clean.ok("inspect", "-f", "{{.State.Status}}", "web") == "running\n"

    # A stop removes it (its next start makes it anew from the definition).
    assert clean.system.run(["systemctl", "stop", "web.service"]).returncode == 0
    assert clean.ok("ps", "-aq") == ""
    assert clean.leftovers() == ""
    clean.sh(f"rm {DEFINITIONS}/web.container; systemctl daemon-reload")
    assert show(clean, "web.service", "LoadState")["LoadState"] == "not-found"


def test_conman_start_and_stop_drive_the_declared_unit(
    clean: Conman, declared: Callable[[str, str], None]
) -> None:
    declared("job", "[Container]\nImage=busybox\nExec=sleep 1000\nStopSignal=SIGKILL\n")
    assert clean.system.run(["systemctl", "start", "job.service"]).returncode == 0
    clean.ok("restart", "job")
    assert show(clean, "job.service", "ActiveState")["ActiveState"] == "active"
    info = json.loads(clean.ok("inspect", "job"))[0]
    assert info["Name"] == "job" and info["State"]["Running"]
    proc = clean("rename", "job", "other")
    assert (proc.returncode, proc.stderr) == (125, (
        "Error: container job is declared: its name is its definition file's\n"
        "Hint: rename its definition job.container, then `systemctl daemon-reload`\n"
    ))  # fmt: skip
    clean.ok("stop", "job")
    assert show(clean, "job.service", "ActiveState")["ActiveState"] == "inactive"
    assert clean.ok("ps", "-aq") == ""


def test_a_declared_container_keeps_its_named_volume_and_drops_its_anonymous_one(
    clean: Conman, declared: Callable[[str, str], None]
) -> None:
    declared(
        "keeper",
        "[Container]\nImage=busybox\nExec=sleep 1000\nStopSignal=SIGKILL\nVolume=keeper-data:/data\nVolume=/cache\n",
    )
    assert clean.system.run(["systemctl", "start", "keeper.service"]).returncode == 0
    clean.ok("exec", "keeper", "sh", "-c", "echo kept > /data/note")
    anonymous = [m["Name"] for m in json.loads(clean.ok("inspect", "-f", "{{json .Mounts}}", "keeper"))][1]
    assert sorted(clean.ok("volume", "ls", "-q").split()) == sorted([anonymous, "keeper-data"])
    assert clean.system.run(["systemctl", "restart", "keeper.service"]).returncode == 0
    assert clean.ok("exec", "keeper", "cat", "/data/note") == "kept\n"
    assert clean.system.run(["systemctl", "stop", "keeper.service"]).returncode == 0
    assert clean.ok("ps", "-aq") == ""
    assert clean.ok("volume", "ls", "-q") == "keeper-data\n"
    clean.ok("volume", "rm", "keeper-data")


def test_systemctl_start_of_a_declared_container_waits_for_its_app_s_ready(
    clean: Conman, declared: Callable[[str, str], None]
) -> None:
    app = "import os,socket,time; time.sleep(1.5); socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b'READY=1', os.environ['NOTIFY_SOCKET']); time.sleep(1000)"
    declared("ready", f"[Container]\nImage=busybox\nExec=/usr/bin/python3 -c \"{app}\"\nSdnotify=container\n"
             "StopSignal=SIGKILL\nVolume=/usr:/usr:ro\nVolume=/lib:/lib:ro\nVolume=/lib64:/lib64:ro\n")  # fmt: skip
    began = time.monotonic()
    assert clean.system.run(["systemctl", "start", "ready.service"]).returncode == 0
    assert time.monotonic() - began >= 1.5
    assert show(clean, "ready.service", "ActiveState")["ActiveState"] == "active"
    assert clean.system.run(["systemctl", "stop", "ready.service"]).returncode == 0


def test_a_declared_container_that_cannot_start_says_why_in_its_journal(
    clean: Conman, declared: Callable[[str, str], None]
) -> None:
    declared("broken", "[Container]\nImage=nosuchimage\nPull=never\n")
    assert clean.system.run(["systemctl", "start", "broken.service"]).returncode != 0
    journal = clean.sh("journalctl -u broken.service -o cat").stdout
    assert "Error: no such image: nosuchimage" in journal, journal
    assert show(clean, "broken.service", "Result")["Result"] == "exit-code"
    assert clean.ok("ps", "-aq") == ""


def test_generate_declares_an_existing_container(
    clean: Conman, declared: Callable[[str, str], None]
) -> None:
    clean.ok("create", "--name", "orig", "-e", "WHO=me", "busybox", "sh", "-c", "echo hi $WHO; sleep 1000")
    text = clean.ok("generate", "orig")
    clean.ok("rm", "orig")
    declared("copy", text)
    assert clean.system.run(["systemctl", "start", "copy.service"]).returncode == 0
    assert until(lambda: "hi me" in clean.ok("logs", "copy"))


def test_a_bad_definition_is_reported_in_the_journal_and_the_others_still_work(
    clean: Conman, declared: Callable[[str, str], None]
) -> None:
    declared("broken2", "[Container]\nImage=busybox\nPorts=80\n")
    declared("fine", "[Container]\nImage=busybox\nExec=sleep 1000\n")
    journal = clean.sh("journalctl -b SYSLOG_IDENTIFIER=conman-generator -o cat").stdout
    assert (
        "/run/conman/containers/broken2.container line 3: unknown key Ports in [Container] (skipped broken2)"
        in journal
    ), journal
    assert show(clean, "broken2.service", "LoadState")["LoadState"] == "not-found"
    assert clean.system.run(["systemctl", "start", "fine.service"]).returncode == 0
    clean.ok("stop", "fine")

"""Restart policies across a reboot: two sandboxes in a row share conman's --root (as a machine's
disk outlives its boot) but nothing else; the second runs the conman-restart.service we ship."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conman_systemd.sandbox.launcher import Sandbox
from tests.conftest import System

pytestmark = pytest.mark.sandbox

UNIT = Path(__file__).parents[2] / "units" / "conman-restart.service"


def test_always_and_unless_stopped_come_back_after_a_reboot(tmp_path: Path) -> None:
    root = str(tmp_path / "lib")
    conman = ["conman", "--root", root]

    def ok(system: System, *args: str) -> str:
        proc = system.run([*conman, *args])
        assert proc.returncode == 0, f"{args}: {proc.stdout}{proc.stderr}"
        return proc.stdout

    with Sandbox(keep=[str(tmp_path)]) as sandbox:
        first = System(sandbox)
        ok(first, "image", "import", "busybox")
        for name, policy in (("always", "always"), ("unless", "unless-stopped"), ("stopped", "unless-stopped"),
                             ("always-stopped", "always"), ("never", "no")):  # fmt: skip
            ok(
                first,
                "run",
                "-d",
                "--name",
                name,
                "--restart",
                policy,
                "--stop-timeout",
                "1",
                "busybox",
                "sleep",
                "1000",
            )
        ok(first, "stop", "always-stopped")
        # A user's stop by systemctl counts as one too.
        unit = ok(first, "unit", "stopped").strip()
        assert first.run(["systemctl", "stop", unit]).returncode == 0
    # The poweroff stopped every container as a shutdown does; /run went with the machine.

    with Sandbox(keep=[str(tmp_path)]) as sandbox:
        second = System(sandbox)
        assert ok(second, "ps", "-q") == ""
        text = UNIT.read_text().replace(
            "/usr/bin/conman", f"{sys.executable} -I -m conman_systemd --root {root}"
        )
        second.run(["sh", "-c", "cat > /run/systemd/system/conman-restart.service"], input=text)
        assert second.run(["systemctl", "daemon-reload"]).returncode == 0
        started = second.run(["systemctl", "start", "conman-restart.service"])
        assert started.returncode == 0, started.stderr
        running = ok(second, "ps", "--format", "{{.Names}}").split()
        assert sorted(running) == ["always", "always-stopped", "unless"]
        log = second.run(["journalctl", "-u", "conman-restart.service", "-o", "cat"]).stdout
        assert "unless\n" in log and "always\n" in log
        ok(second, "rm", "-f", "always", "always-stopped", "unless", "stopped", "never")

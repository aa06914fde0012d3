"""The unified cgroup hierarchy (cgroup v2, as most hosts boot now): a sandbox of its own booted
with `--unified`, where systemd freezes units itself. runc, which starts containers on every machine (crun cannot load its v2 device
filter where bpf() is refused and root lacks CAP_SYS_RESOURCE, as on our build machines)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from conman_systemd.sandbox.launcher import Sandbox
from tests.conftest import System

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def v2() -> Iterator[System]:
    with pytest.MonkeyPatch.context() as patch, Sandbox(unified=True) as sandbox:
        patch.setenv("CONMAN_RUNTIME", "runc")  # the commands run in the sandbox inherit it
        system = System(sandbox)
        assert system.run(["conman", "image", "import", "busybox"]).returncode == 0
        yield system


def ok(system: System, *args: str) -> str:
    proc = system.run(["conman", *args])
    assert proc.returncode == 0, f"{args}: {proc.stdout}{proc.stderr}"
    return proc.stdout


def test_the_sandbox_is_unified(v2: System) -> None:
    assert v2.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"]).stdout == "cgroup2fs\n"


def test_systemd_s_freezer_pauses_a_container(v2: System) -> None:
    """cgroup.freeze is the v2 core's: systemd's FreezeUnit needs no controller. (The resource
    controllers stay bound to v1 where the host is hybrid, as this project's build machines are:
    limits, OOM and accounting on v2 are left to hosts that boot unified.)"""
    ok(v2, "run", "-d", "--name", "web", "busybox", "sleep", "1000")
    unit = ok(v2, "unit", "web").strip()
    ok(v2, "pause", "web")
    assert v2.run(["systemctl", "show", unit, "-p", "FreezerState", "--value"]).stdout == "frozen\n"
    assert json.loads(ok(v2, "inspect", "web"))[0]["State"]["Status"] == "paused"
    ok(v2, "unpause", "web")
    assert v2.run(["systemctl", "show", unit, "-p", "FreezerState", "--value"]).stdout == "running\n"
    assert json.loads(ok(v2, "inspect", "web"))[0]["State"]["Status"] == "running"
    ok(v2, "rm", "-f", "web")

"""`systemctl daemon-reload` and `daemon-reexec` while containers run: nothing is lost.

systemd re-reads (reload) or re-executes itself (reexec) and reloads every unit, transient ones
from /run/systemd/transient: the containers must keep running under the same main process, and
their stops, exit codes and clean-ups must still work afterwards.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import Conman
from tests.reliability.test_faults import remove_everything, show

pytestmark = pytest.mark.systemd

# USR1 ends it with 7 (a failure of its own); TERM, the stop signal, with 143 (a clean stop).
TRAPS = "trap 'exit 7' USR1; trap 'exit 143' TERM; while true; do sleep 0.2; done"


@pytest.mark.parametrize("reload", ["daemon-reload", "daemon-reexec"])
def test_systemd_reload_and_reexec_keep_twenty_containers(clean: Conman, reload: str) -> None:
    names = [f"keep{i}" for i in range(20)]
    try:
        check_reload(clean, names, reload)
    finally:
        # If conman failed, still leave nothing behind for the next test (clean then checks it).
        for unit in clean.sh(
            "systemctl list-units --all --plain --no-legend 'conman-*' | awk '{print $1}'"
        ).stdout.split():
            clean.system.run(["systemctl", "stop", unit])
        for cid in clean("ps", "-aq").stdout.split():
            clean("rm", "-f", cid)
        clean.sh("systemctl reset-failed 'conman-*'")


def check_reload(clean: Conman, names: list[str], reload: str) -> None:
    for name in names:
        clean.ok("run", "-d", "--name", name, "busybox", "sh", "-c", TRAPS)
    units = {name: clean.ok("unit", name).strip() for name in names}
    pids = {name: show(clean, unit, "MainPID")["MainPID"] for name, unit in units.items()}
    assert all(pid != "0" for pid in pids.values())
    assert clean.system.run(["systemctl", reload]).returncode == 0
    # All still running, supervised by systemd with the same main process.
    assert sorted(clean.ok("ps", "-q").split()) == sorted(clean.ok("ps", "-aq").split())
    assert len(clean.ok("ps", "-q").split()) == 20
    for name, unit in units.items():
        assert show(clean, unit, "ActiveState", "MainPID") == {
            "ActiveState": "active",
            "MainPID": pids[name],
        }
    # One is killed, one exits by itself (systemd must still see its main process end) ...
    clean.ok("kill", "-s", "KILL", names[0])
    assert clean.ok("wait", names[0]) == "137\n"
    clean.ok("kill", "-s", "USR1", names[1])
    assert clean.ok("wait", names[1]) == "7\n"
    # ... and the rest stop cleanly, with their exit codes recorded.
    clean.ok("stop", "-t", "5", *names[2:])
    for name in names[2:]:
        assert show(clean, units[name], "ActiveState", "Result") == {
            "ActiveState": "inactive",
            "Result": "success",
        }
        assert clean.ok("wait", name) == "143\n"
        assert json.loads(clean.ok("inspect", name))[0]["State"]["ExitCode"] == 143

    remove_everything(clean)
    assert clean.leftovers() == ""

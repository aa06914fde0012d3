"""--sdnotify=container without systemd: what the proxy passes on, and what the unit and the OCI
config get (through --dry-run)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conman_systemd.shim.notify_proxy import allowed
from tests.unit.test_cli import conman, store_busybox_image


def test_the_proxy_passes_on_what_a_service_may_say_of_itself() -> None:
    text, barrier = allowed(b"READY=1\nSTATUS=up\nMAINPID=1\nFDSTORE=1\nWATCHDOG=1\nEXTEND_TIMEOUT_USEC=5")
    assert (text, barrier) == ("READY=1\nSTATUS=up\nWATCHDOG=1\nEXTEND_TIMEOUT_USEC=5", False)
    assert allowed(b"BARRIER=1") == ("", True)
    assert allowed(b"MAINPID=4242") == ("", False)  # never a host process as the unit's main


def _dry_run(tmp_path: Path, *flags: str) -> tuple[list[str], dict]:  # type: ignore[type-arg]
    store_busybox_image(tmp_path)
    proc = conman("--root", os.fspath(tmp_path), "run", "--dry-run", *flags, "busybox", "true")
    assert proc.returncode == 0, proc.stderr
    unit, _, oci = proc.stdout.partition("# OCI config\n")
    return unit.splitlines(), json.loads(oci)


def test_the_app_gets_a_notify_socket_and_the_unit_a_watchdog(tmp_path: Path) -> None:
    unit, oci = _dry_run(tmp_path, "--sdnotify=container", "--watchdog", "2.5")
    assert "WatchdogUSec=2500000" in unit and "Type=notify" in unit
    assert "NOTIFY_SOCKET=/run/notify/notify.sock" in oci["process"]["env"]
    (mount,) = [m for m in oci["mounts"] if m["destination"] == "/run/notify"]
    assert mount["source"].endswith("/notify") and "rw" in mount["options"]
    unit, oci = _dry_run(tmp_path)
    assert not [line for line in unit if line.startswith("WatchdogUSec")]
    assert not [e for e in oci["process"]["env"] if e.startswith("NOTIFY_SOCKET=")]


def test_bad_watchdog_values(tmp_path: Path) -> None:
    store_busybox_image(tmp_path)
    for value in ("0", "-1", "x", "nan", "100000"):
        proc = conman("--root", os.fspath(tmp_path), "run", "--dry-run", "--sdnotify=container", "--watchdog",
                      value, "busybox", "true")  # fmt: skip
        assert (proc.returncode, proc.stderr) == (
            125, f'Error: invalid --watchdog "{value}": use seconds, more than 0 and at most 86400\n'
        )  # fmt: skip

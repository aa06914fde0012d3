"""The .deb on a booted Debian: a clean bookworm root (mmdebstrap, from Debian's archive) booted
with systemd as PID 1 by systemd-nspawn, inside a sandbox with the unified cgroup hierarchy.

guest/phase.sh runs at each boot (guest/guest-test.service) and powers the guest off: boot 1
installs the package with apt (its dependencies come from the archive), runs containers and
declares one; boot 2, the reboot, sees what came back, purges the package and looks for leftovers.
Needs root, network access to the archive, mmdebstrap and systemd-nspawn (scripts/setup.sh).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conman_systemd.sandbox.launcher import Sandbox
from tests.conftest import System
from tests.packaging.conftest import Deb

pytestmark = [pytest.mark.packaging, pytest.mark.sandbox]

GUEST = Path(__file__).parent / "guest"
SUITE, MIRROR = "bookworm", "http://deb.debian.org/debian"
BOOT_TIMEOUT = 600  # seconds a boot (with its apt-get) may take


def _root_tar(work: Path) -> Path:
    """A minimal bookworm with systemd and dbus (~15 s). No /etc/hosts: conman must not need one."""
    tar = work / "root.tar"
    proc = subprocess.run(
        ["mmdebstrap", "--variant=minbase", "--include=systemd,systemd-sysv,dbus", SUITE, str(tar), MIRROR],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tar


@pytest.fixture(scope="module")
def guest(deb: Deb) -> Iterator[Path]:
    """The guest's root, with the package and the test unit in it; removed at the end."""
    for tool in ("mmdebstrap", "systemd-nspawn"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: run scripts/setup.sh")
    work = Path(tempfile.mkdtemp(prefix="conman-guest.", dir="/var/tmp"))
    try:
        root = work / "root"
        root.mkdir()
        subprocess.run(["tar", "-C", str(root), "-xpf", str(_root_tar(work))], check=True)
        shutil.copy(deb.deb, root / "root" / "conman.deb")
        shutil.copy(GUEST / "phase.sh", root / "root" / "phase.sh")
        shutil.copy(GUEST / "guest-test.service", root / "etc/systemd/system/guest-test.service")
        wants = root / "etc/systemd/system/multi-user.target.wants"
        wants.mkdir(exist_ok=True)
        (wants / "guest-test.service").symlink_to("../guest-test.service")
        yield root
    finally:
        shutil.rmtree(work, ignore_errors=True)


def boot(root: Path) -> None:
    """Boot the guest once, until guest-test.service powers it off, as a host boots: without
    nspawn's seccomp filter (SYSTEMD_SECCOMP=0; it refuses calls the OCI runtimes make: keyctl,
    bpf and more) and with CAP_NET_ADMIN (nspawn drops it when the guest shares the network; runc
    needs it for --network none). The sandbox's unified hierarchy gives the guest a cgroup tree it
    can delegate (with v1 controllers nspawn mounts them read-only)."""
    with Sandbox(keep=[str(root.parent)], unified=True) as sandbox:
        proc = System(sandbox).run(
            ["systemd-run", "--wait", "--collect", "--quiet", "-p", "Delegate=yes",
             "-p", f"RuntimeMaxSec={BOOT_TIMEOUT}", "--setenv=SYSTEMD_SECCOMP=0", "systemd-nspawn",
             "--keep-unit", "--register=no", "--console=read-only", "--resolv-conf=replace-host",
             "--capability=CAP_NET_ADMIN",
             "-D", str(root), "-b"],
            timeout=BOOT_TIMEOUT + 60,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def results(root: Path, n: int) -> dict[str, str]:
    out = root / "root/results"
    text = (out / f"boot{n}.txt").read_text() if (out / f"boot{n}.txt").exists() else ""
    assert (out / f"boot{n}.done").exists(), (out / f"boot{n}.log").read_text()[-4000:]
    return dict(line.split("=", 1) for line in text.splitlines())


def test_install_run_declare_reboot_purge(guest: Path) -> None:
    boot(guest)
    first = results(guest, 1)
    # crun fails where bpf() is refused and root lacks CAP_SYS_RESOURCE (as on our build
    # machines): the check must say so, and that runc works.
    check = first.pop("check")
    assert check == "ok" or (
        check.startswith("Error: a container cannot start here: crun: ")
        and check.endswith("; it starts with runc: set `runtime = runc` in /etc/conman/conman.conf")
    ), check
    assert first == {
        "hosts_file": "absent",  # a minimal root has none: containers run all the same
        "install": "ok",
        "check_after": "ok",
        "hello": "hello",
        "hosts_in_container": "1",
        "declared_start": "ok",
        "declared_ps": "web",
    }, (guest / "root/results/boot1.log").read_text()[-4000:]

    boot(guest)  # the reboot
    second = results(guest, 2)
    assert second == {
        "restart_unit": "active",
        "web_unit": "active",
        # --restart always and unless-stopped came back; the container without a policy did not
        "running": "always unless web ",
        "web_answers": "hi",
        "web_after_removal": "not-found",
        "purge": "ok",
        "left_dirs": "",
        "left_units": "",
        "left_processes": "0",
    }, (guest / "root/results/boot2.log").read_text()[-4000:]

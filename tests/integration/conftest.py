"""Fixtures for container tests: a busybox image, and a check that a test left nothing behind."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import System

RUNTIMES = ("crun", "runc")


class Conman:
    """Runs `conman ...` where systemd is (inside the session's sandbox, or on the host), with
    runtime as the default OCI runtime ($CONMAN_RUNTIME)."""

    def __init__(self, system: System, runtime: str) -> None:
        self.system = system
        self.runtime = runtime

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return self.system.run(["conman", *args], input=input, timeout=timeout)

    def ok(self, *args: str, timeout: float = 120) -> str:
        proc = self(*args, timeout=timeout)
        assert proc.returncode == 0, (
            f"conman {' '.join(args)}: rc={proc.returncode}\n{proc.stdout}{proc.stderr}"
        )
        return proc.stdout

    def sh(self, script: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.system.run(["sh", "-c", script], timeout=timeout)

    def leftovers(self) -> str:
        """Units, runc state, mounts, cgroups and state dirs of conman containers, one per line."""
        script = r"""
systemctl list-units --all --plain --no-legend 'conman-*.service' 'conman-*.timer' | awk '{print "unit " $1}'
ls /run/conman/runc 2>/dev/null | sed 's/^/runc /'
ls /run/conman/crun 2>/dev/null | sed 's/^/crun /'
awk '$2 ~ "^/run/conman/" {print "mount " $2}' /proc/mounts
find /sys/fs/cgroup -path '*conman.slice/conman-*' -maxdepth 4 -type d 2>/dev/null | sed 's/^/cgroup /'
ls /var/lib/conman/containers 2>/dev/null | sed 's/^/state /'
ls /var/lib/conman/names 2>/dev/null | sed 's/^/name /'
ls /var/lib/conman/volumes 2>/dev/null | sed 's/^/volume /'
ls /var/lib/conman/networks 2>/dev/null | grep -vx conman.json | sed 's/^/network /'
ls /run/conman 2>/dev/null | grep -vx -e runc -e crun -e containers -e networks | sed 's/^/runtime /'
for f in /run/conman/networks/leases/*.json; do [ -e "$f" ] && echo "lease $(basename $f .json) $(cat $f)"; done
if [ "$(cat /run/conman-sandbox/network 2>/dev/null)" = private ]; then  # the sandbox's own network
  ip -o link show type veth | sed 's/^/veth /'
  iptables-save | grep -e 'dnat name' -e '-d 10\.9' | sed 's/^/rule /'
fi
"""
        return self.sh(script).stdout


@pytest.fixture(scope="session", params=RUNTIMES)
def conman(system: System, request: pytest.FixtureRequest) -> Iterator[Conman]:
    """Every container test runs once with each runtime: the whole suite passes with both."""
    runtime: str = request.param
    saved = os.environ.get("CONMAN_RUNTIME")
    os.environ["CONMAN_RUNTIME"] = runtime  # the commands run in the sandbox inherit it
    c = Conman(system, runtime)
    try:
        if c("image", "inspect", "busybox").returncode != 0:
            c.ok("image", "import", "busybox")
        yield c
    finally:
        if saved is None:
            del os.environ["CONMAN_RUNTIME"]
        else:
            os.environ["CONMAN_RUNTIME"] = saved


@pytest.fixture
def clean(conman: Conman) -> Iterator[Conman]:
    """The test starts from nothing and must leave nothing (after removing what it made)."""
    ids = conman.ok("ps", "-aq").split()
    if ids:
        conman("rm", "-f", *ids)
    conman("volume", "prune", "--all")
    assert conman.leftovers() == ""
    yield conman
    ids = conman.ok("ps", "-aq").split()
    if ids:
        conman.ok("rm", "-f", *ids)
    assert conman.leftovers() == ""


def show(conman: Conman, unit: str, *props: str) -> dict[str, str]:
    """`systemctl show UNIT -p P...` as a dict."""
    out = conman.system.run(["systemctl", "show", unit, *(f"-p{p}" for p in props)]).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def until(what: Callable[[], bool], seconds: float = 30) -> bool:
    """Poll what() until it holds; False when seconds passed first."""
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True

"""Test-wide fixtures: `system` runs commands against a real systemd.

When systemd is not PID 1 (this machine, CI), one sandbox is booted for the whole session and
every command of a `systemd` test runs inside it. Such tests never skip: a machine that cannot
boot the sandbox fails them (deselect with `-m "not systemd and not sandbox"` as non-root).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Generator, Iterator, Sequence

import pytest

from conman_systemd.sandbox.launcher import Sandbox, systemd_is_pid1

_ran: dict[str, int] = {"systemd": 0}
_where: list[str] = []


class System:
    """Runs commands where systemd is: directly on a systemd host, else inside the sandbox."""

    def __init__(self, sandbox: Sandbox | None) -> None:
        self.sandbox = sandbox

    def argv(self, argv: Sequence[str]) -> list[str]:
        return self.sandbox.command(argv) if self.sandbox else list(argv)

    def run(
        self, argv: Sequence[str], *, input: str | None = None, timeout: float = 120, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        return subprocess.run(
            self.argv(argv),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            env=env,
        )

    def popen(self, argv: Sequence[str], **kw: object) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        return subprocess.Popen(self.argv(argv), env=env, text=True, **kw)  # type: ignore[call-overload, no-any-return]

    def host_path(self, path: str) -> str:
        """Where the host sees a path of the sandbox (whose /tmp, /var/tmp and /run are its own)."""
        return f"/proc/{self.sandbox.pid1}/root{path}" if self.sandbox else path

    def sh(self, script: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return self.run(["sh", "-c", script], **kw)  # type: ignore[arg-type]


def booted(sandbox: Sandbox, what: str = "sandbox") -> System:
    """A System in sandbox, named in the summary of what the integration tests ran against."""
    system = System(sandbox)
    version = system.run(["systemctl", "--version"]).stdout.split("\n")[0]
    _where.append(f"{version} booted in {what} {sandbox.name} (PID 1 = host pid {sandbox.pid1})")
    return system


@pytest.fixture(scope="session")
def system() -> Iterator[System]:
    if systemd_is_pid1():
        _where.append("the host's systemd (PID 1)")
        yield System(None)
        return
    if os.geteuid() != 0:
        pytest.fail(
            "integration tests need root to boot a systemd sandbox; "
            "run as root or deselect them with -m 'not systemd and not sandbox'"
        )
    with Sandbox() as sandbox:
        yield booted(sandbox)


@pytest.fixture(autouse=True)
def _count_systemd_tests(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("systemd"):
        _ran["systemd"] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _ran["systemd"]:
        terminalreporter.write_line(
            f"systemd integration tests: {_ran['systemd']} ran against {', '.join(_where) or 'no systemd'}"
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """An integration test that skips has not shown anything: count it as failed."""
    report = yield
    if report.skipped and (item.get_closest_marker("systemd") or item.get_closest_marker("sandbox")):
        report.outcome = "failed"
        report.longrepr = f"integration test skipped, which counts as a failure: {report.longrepr}"
    return report

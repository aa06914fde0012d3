"""`conman system check`: what conman needs from this machine, and what is missing."""

from __future__ import annotations

import os

from conman_systemd import runner
from conman_systemd.cgroups import current_mode
from conman_systemd.container.spec import RUNTIMES
from conman_systemd.errors import ConmanError


class Report:
    def __init__(self) -> None:
        self.facts: list[tuple[str, str]] = []
        self.problems: list[str] = []

    def add(self, key: str, value: str) -> None:
        self.facts.append((key, value))


def _pid1() -> str:
    try:
        with open("/proc/1/comm") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def check_systemd(report: Report) -> None:
    pid1 = _pid1()
    report.add("PID 1", pid1)
    if pid1 != "systemd":
        report.problems.append(
            f"systemd is not PID 1 here (PID 1 is {pid1}); "
            "conman needs systemd as the supervisor: `conman sandbox -- CMD` boots one"
        )
    from conman_systemd.dbus.systemd import Systemd

    try:
        with Systemd.connect() as systemd:
            version = systemd.version()
            how = "its private socket" if systemd.direct else "the system bus"
        report.add("systemd", f"{version} (asked over D-Bus, {how})")
    except ConmanError as e:
        report.add("systemd", "not reachable")
        report.problems.append(e.message)


def check_cgroups(report: Report) -> None:
    mode = current_mode()
    report.add("cgroups", str(mode) if mode else "none")
    if mode is None:
        report.problems.append("no cgroup filesystem is mounted at /sys/fs/cgroup")


def tool_version(name: str) -> tuple[str, str] | None:
    """(path, version) of a tool on PATH, from the first line of its --version; None if missing."""
    path = runner.find_binary(name)
    if path is None:
        return None
    out = runner.run([path, "--version"], check=False).stdout
    return path, out.split("\n", 1)[0].removeprefix(f"{name} version ").strip() or "unknown"


def check_runtimes(report: Report) -> None:
    found = False
    for name in RUNTIMES:
        tool = tool_version(name)
        if tool is None:
            report.add(name, "not found")
            continue
        found = True
        report.add(name, f"{tool[0]} {tool[1]}")
    if not found:
        report.problems.append("no OCI runtime is installed: apt-get install crun (or runc)")
    else:
        from conman_systemd.config import default_runtime

        try:
            report.add("runtime", f"{default_runtime()} (the default)")
        except ConmanError as e:
            report.problems.append(e.message)


def check_user(report: Report) -> None:
    root = os.geteuid() == 0
    report.add("user", "root" if root else f"uid {os.geteuid()}")
    if not root:
        report.problems.append("conman must run as root to manage system containers")


def check_dirs(report: Report, root: str, runroot: str) -> None:
    for label, path in (("state", root), ("runtime", runroot)):
        if os.path.isdir(path):
            ok = os.access(path, os.W_OK)
            report.add(f"{label} dir", f"{path} ({'writable' if ok else 'not writable'})")
            if not ok:
                report.problems.append(f"{label} directory {path} is not writable")
        else:
            parent = os.path.dirname(path.rstrip("/")) or "/"
            report.add(f"{label} dir", f"{path} (created on first use)")
            if not os.access(parent, os.W_OK):
                report.problems.append(
                    f"{label} directory {path} cannot be created ({parent} is not writable)"
                )


def check_seccomp(report: Report) -> None:
    from conman_systemd.container.security import DEFAULT_PROFILE

    if os.path.exists(DEFAULT_PROFILE):
        report.add("seccomp", f"{DEFAULT_PROFILE} (the default filter)")
    else:
        report.add("seccomp", f"no default filter: {DEFAULT_PROFILE} is missing (containers-common)")


def check_networks(report: Report) -> None:
    """Bridge networks (the default) need netavark, aardvark-dns and iptables."""
    from conman_systemd.config import CONFIG_FILE, default_network
    from conman_systemd.container.network import AARDVARK, NETAVARK, installed

    try:
        network = default_network()
    except ConmanError as e:
        report.problems.append(e.message)
        return
    report.add("network", f"{network} (the default)")
    if network in ("host", "none"):
        return
    tools = (("netavark", installed(NETAVARK)), ("aardvark-dns", installed(AARDVARK)),
             ("iptables", runner.find_binary("iptables")))  # fmt: skip
    missing = [name for name, found in tools if not found]
    if missing:
        needed, install = ", ".join(missing), " ".join(missing)
        report.problems.append(f"bridge networks, the default, need {needed}: apt-get install {install} "
                               f"(or set `network = host` in {CONFIG_FILE})")  # fmt: skip
    else:
        report.add("netavark", installed(NETAVARK))


def check_container_start(report: Report, root: str, runroot: str) -> None:
    """Only when every part is there: a container must then really start."""
    if report.problems:
        report.add("container", "not tried (see the errors)")
        return
    from conman_systemd.container.paths import Paths
    from conman_systemd.core.trial import trial_start

    shown, problem = trial_start(Paths(root=root, runroot=runroot))
    report.add("container", shown)
    if problem:
        report.problems.append(problem)


def system_check(root: str, runroot: str) -> Report:
    report = Report()
    check_user(report)
    check_systemd(report)
    check_cgroups(report)
    check_runtimes(report)
    check_dirs(report, root, runroot)
    check_seccomp(report)
    check_networks(report)
    check_container_start(report, root, runroot)
    return report

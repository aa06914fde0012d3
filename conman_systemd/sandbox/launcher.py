"""Boot the distro's systemd as PID 1 of new pid, mount, cgroup and uts namespaces; run commands in it.

The host side of `conman sandbox` and of the test suite's systemd fixture: the sandbox's own cgroup
subtree in every hierarchy, then unshare; the filesystem set-up and the masks that keep systemd off
the host's /tmp, sysctls and cgroup roots happen in boot.py, inside the namespaces.
"""

from __future__ import annotations

import collections
import ctypes
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from types import TracebackType

from conman_systemd import runner
from conman_systemd.cgroups import CgroupMode, current_hierarchies, current_mode
from conman_systemd.errors import ConmanError
from conman_systemd.log import debug
from conman_systemd.sandbox import cgroup_tree, plan
from conman_systemd.sandbox.notify import NotifySocket

BOOT_TIMEOUT = 30.0
POWEROFF_TIMEOUT = 15.0
PR_SET_PDEATHSIG = 1
SIGRTMIN_4 = signal.SIGRTMIN + 4  # systemd: power off


def systemd_is_pid1() -> bool:
    # sd_booted(3): systemd created /run/systemd/system; PID 1 being systemd makes sure of it.
    try:
        with open("/proc/1/comm") as f:
            comm = f.read().strip()
    except OSError:
        return False
    return comm == "systemd" and os.path.isdir("/run/systemd/system")


def check_can_boot() -> None:
    if os.geteuid() != 0:
        raise ConmanError("conman sandbox must run as root", hint="run it with sudo")
    if not os.access(plan.SYSTEMD, os.X_OK):
        raise ConmanError(f"{plan.SYSTEMD} not found", hint="install systemd")
    if current_mode() is None:
        raise ConmanError("no cgroup filesystem at /sys/fs/cgroup", hint="mount cgroups or boot a full host")


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def in_initial_network_namespace() -> bool:
    """Whether we share the network namespace of the host's PID 1 (the host's network)."""
    try:
        return os.stat("/proc/self/ns/net").st_ino == os.stat("/proc/1/ns/net").st_ino
    except OSError:  # PID 1's is not ours to see (root of a container, as on our build machines)
        pass
    try:  # loopback alone: a namespace a caller made for us (`unshare -n`), not a host's
        with open("/proc/self/net/dev") as f:
            names = [line.split(":", 1)[0].strip() for line in f.read().splitlines()[2:]]
    except OSError:
        return True  # cannot tell: the safe answer
    return names != ["lo"]


class Sandbox:
    """One booted sandbox. Use as a context manager: `with Sandbox() as sb: sb.run([...])`."""

    def __init__(
        self, keep: Sequence[str] = (), unified: bool = False, private_network: bool = False
    ) -> None:
        # unified: boot with the cgroup v2 hierarchy only, as most production hosts have. On a
        # hybrid host the controllers stay bound to v1, so the sandbox gets v2 without controllers.
        self.unified = unified
        # private_network: its own network namespace, only loopback in it (up): what network tests
        # make there (bridges, veths, firewall rules) never reaches the host's.
        self.private_network = private_network
        self._notify_dir = ""
        self.name = plan.sandbox_name(os.getpid(), secrets.token_hex(4))
        self.keep = [os.getcwd(), *keep]
        self.pid1 = 0
        self._dirs: list[str] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._console: collections.deque[str] = collections.deque(maxlen=200)
        self._reader: threading.Thread | None = None

    # -- boot and power off

    def __enter__(self) -> Sandbox:
        self.boot()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.poweroff()

    def _config(self, mode: CgroupMode, notify_socket: str) -> dict[str, object]:
        """What boot.py (stage two, inside the namespaces) needs, passed as JSON on its command line."""
        env = {
            "container": self.name,
            "PATH": runner.DEFAULT_PATH,
            "LANG": "C.UTF-8",
            "NOTIFY_SOCKET": notify_socket,
        }
        return {
            "name": self.name,
            "cgroup_mode": str(mode),
            "v1": [h.options for h in current_hierarchies() if h.fstype == "cgroup"],
            "keep": self.keep,
            "masks": plan.masks(),
            "target": plan.TARGET,
            "target_unit": plan.TARGET_UNIT,
            "journald_conf": plan.JOURNALD_CONF,
            "generator": plan.generator_script(sys.executable),
            "generator_path": plan.GENERATOR,
            "systemd": plan.SYSTEMD,
            "env": env,
            "private_network": self.private_network,
            # Whether the network is the sandbox's (or its caller's) to change: its own, or one
            # the caller made (`unshare -n conman sandbox ...`): not the host's initial one.
            "own_network": self.private_network or not in_initial_network_namespace(),
        }

    def boot(self) -> None:
        check_can_boot()
        mode = current_mode()
        assert mode is not None
        if self.unified:
            mode = CgroupMode.V2

        cgroup_tree.remove_stale()
        _remove_stale_notify_dirs()
        self._dirs = cgroup_tree.create(self.name, current_hierarchies())
        if self.private_network:  # a notify socket file, bound back into the sandbox's own /run
            self._notify_dir = tempfile.mkdtemp(prefix=f"{self.name}-", dir="/run")
            self.keep.append(self._notify_dir)
            notify = NotifySocket(os.path.join(self._notify_dir, "notify"))
        else:
            notify = NotifySocket()
        try:
            self._start(mode, notify)
            pid = notify.wait_ready(
                BOOT_TIMEOUT, lambda: self._proc is not None and self._proc.poll() is None
            )
        except BaseException:
            notify.close()
            self.poweroff()
            raise
        notify.close()
        if pid is None:
            console = "\n".join(self._console)
            self.poweroff()
            raise ConmanError(
                f"the sandbox's systemd did not boot within {BOOT_TIMEOUT:.0f} s",
                hint=f"its console said:\n{console}" if console else None,
            )
        self.pid1 = pid
        # unshare itself stays in the sandbox's root cgroup, invisible to its systemd, which then
        # fails to migrate it ("Input/output error"): move it back to where the launcher is.
        assert self._proc is not None
        for h in current_hierarchies():
            cgroup_tree.enter([h.own_dir], self._proc.pid)
        debug(f"sandbox {self.name} is up: PID 1 is host pid {pid}")

    def _start(self, mode: CgroupMode, notify: NotifySocket) -> None:
        config = self._config(mode, notify.name)
        boot = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boot.py")
        argv = [
            "unshare",
            "--fork",
            "--kill-child=SIGKILL",
            "--pid",
            "--mount",
            "--cgroup",
            "--uts",
            *(["--net"] if self.private_network else []),
            "--propagation",
            "private",
            "--",
            sys.executable,
            "-I",
            "-S",
            boot,
            json.dumps(config),
        ]
        dirs = self._dirs

        def enter_sandbox_cgroups() -> None:
            _die_with_parent()  # a SIGKILLed launcher takes the whole sandbox with it
            cgroup_tree.enter(dirs)

        debug("+ " + " ".join(argv[:-1]) + " CONFIG")
        self._proc = subprocess.Popen(
            argv,
            env=runner.child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=enter_sandbox_cgroups,  # noqa: PLW1509 (the console thread starts after)
        )
        self._reader = threading.Thread(target=self._read_console, daemon=True)
        self._reader.start()

    def _read_console(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for raw in self._proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            self._console.append(line)
            debug(f"[{self.name}] {line}")

    def poweroff(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None and self.pid1:
                os.kill(self.pid1, SIGRTMIN_4)
            try:
                proc.wait(POWEROFF_TIMEOUT)
            except subprocess.TimeoutExpired:
                # unshare --kill-child: killing it kills PID 1 and so the whole pid namespace.
                proc.kill()
                proc.wait()
            if self._reader is not None:
                self._reader.join(5)
            if proc.stdout is not None:
                proc.stdout.close()
        if self._notify_dir:
            shutil.rmtree(self._notify_dir, ignore_errors=True)
            self._notify_dir = ""
        left = cgroup_tree.remove(self._dirs)
        self._dirs = []
        if left:
            raise ConmanError(f"could not remove the sandbox's cgroups: {' '.join(left)}")

    # -- running commands inside

    def command(self, argv: Sequence[str], cwd: str | None = None) -> list[str]:
        """The argv that runs argv inside the sandbox (its namespaces, its systemd)."""
        return [
            "nsenter",
            "-t",
            str(self.pid1),
            "-m",
            "-p",
            "-C",
            "-u",
            *(["-n"] if self.private_network else []),
            f"--wd={cwd or os.getcwd()}",
            "--",
            *argv,
        ]

    def spawn(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None, **kw: object
    ) -> subprocess.Popen[bytes]:
        full = dict(os.environ if env is None else env)
        full.pop("NOTIFY_SOCKET", None)
        debug("+ " + " ".join(self.command(argv)))
        return subprocess.Popen(self.command(argv), env=full, **kw)  # type: ignore[call-overload, no-any-return]


INTERRUPT_GRACE = 10.0  # seconds CMD has to exit after a forwarded signal, before the poweroff


def _remove_stale_notify_dirs() -> None:
    """The notify socket directories (/run/conman-sandbox-PID-...) of launchers that are gone."""
    for entry in os.listdir("/run"):
        parts = entry.split("-")
        if entry.startswith("conman-sandbox-") and len(parts) > 3 and parts[2].isdigit():
            if not os.path.exists(f"/proc/{parts[2]}"):
                shutil.rmtree(os.path.join("/run", entry), ignore_errors=True)


def run_in_sandbox(argv: Sequence[str], unified: bool = False, private_network: bool = False) -> int:
    """`conman sandbox CMD`: boot, run CMD with our stdio, cwd and environment, power off."""
    if systemd_is_pid1():
        print("conman: systemd is already PID 1 here; running the command directly", file=sys.stderr)
        return subprocess.call(list(argv))
    with Sandbox(unified=unified, private_network=private_network) as sandbox:
        child = sandbox.spawn(argv)

        interrupted: list[tuple[int, float]] = []

        def forward(signum: int, _frame: object) -> None:
            interrupted.append((signum, time.monotonic()))
            _signal_children(child.pid, signum)

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, forward)
        try:
            code = _wait_for(child, interrupted)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
    return code


def _signal_children(pid: int, signum: int) -> None:
    """Send signum to what nsenter runs: nsenter itself does not pass signals on."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        kids = []
    for kid in kids:
        try:
            os.kill(kid, signum)
        except ProcessLookupError:
            pass


def _wait_for(child: subprocess.Popen[bytes], interrupted: list[tuple[int, float]]) -> int:
    """CMD's exit code (128+N for signal N). A CMD that outlives an interrupt is killed."""
    while True:
        try:
            code = child.wait(0.2)
            break
        except subprocess.TimeoutExpired:
            if interrupted and time.monotonic() - interrupted[0][1] > INTERRUPT_GRACE:
                child.kill()
                child.wait()
                code = -interrupted[0][0]
                break
    return 128 - code if code < 0 else code

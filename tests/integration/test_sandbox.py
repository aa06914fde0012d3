"""`conman sandbox` boots a real systemd and leaves nothing behind on the host (runs as root)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conman_systemd.cgroups import current_hierarchies

pytestmark = pytest.mark.sandbox

UP = re.compile(r"sandbox (conman-sandbox-\S+) is up: PID 1 is host pid (\d+)")


def conman(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["conman", *args], capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload, no-any-return]


def sandbox_cgroups(name: str = "conman-sandbox-") -> list[str]:
    found = []
    for h in current_hierarchies():
        for root, dirs, _ in os.walk(h.own_dir):
            found += [os.path.join(root, d) for d in dirs if d.startswith(name)]
            dirs[:] = [d for d in dirs if not d.startswith("conman-sandbox-")]
    return found


def processes_of(name: str) -> list[int]:
    """Host pids of processes booted by sandbox `name` (its PID 1 has container=name)."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if f"container={name}".encode() in env.split(b"\0"):
            pids.append(int(pid))
    return pids


def assert_nothing_left(name: str) -> None:
    assert sandbox_cgroups(name) == []
    assert processes_of(name) == []
    assert " /sys/fs/cgroup tmpfs rw" in Path("/proc/mounts").read_text()


@pytest.fixture
def canary() -> Iterator[Path]:
    path = Path("/tmp") / f"conman-canary-{os.getpid()}"
    path.write_text("still here\n")
    yield path
    assert path.read_text() == "still here\n", "the sandbox touched the host's /tmp"
    path.unlink()


def test_boots_a_running_system(canary: Path) -> None:
    proc = conman("--debug", "sandbox", "--", "systemctl", "is-system-running")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "running\n"
    name = UP.search(proc.stderr)
    assert name is not None
    assert_nothing_left(name.group(1))


def test_system_check_passes_inside_and_says_why_not_outside() -> None:
    inside = conman("sandbox", "--", "conman", "system", "check")
    assert inside.returncode == 0, inside.stdout + inside.stderr
    assert "PID 1:       systemd" in inside.stdout
    # the runtime: $CONMAN_RUNTIME, which the container tests' fixture may have set
    assert re.search(
        r"^container:   ok \(busybox true with (crun|runc) ran in \d+ ms\)$", inside.stdout, re.M
    )
    assert "All requirements are met." in inside.stdout
    outside = conman("system", "check")
    assert outside.returncode == 1
    assert "Error: systemd is not PID 1 here" in outside.stderr
    assert "Error: systemd is not reachable on the system bus" in outside.stderr
    assert "container:   not tried (see the errors)" in outside.stdout


def test_exit_codes_and_signals_pass_through() -> None:
    assert conman("sandbox", "--", "sh", "-c", "exit 7").returncode == 7
    assert conman("sandbox", "--", "sh", "-c", "kill -KILL $$").returncode == 128 + signal.SIGKILL
    assert conman("sandbox", "--", "sh", "-c", "kill -TERM $$").returncode == 128 + signal.SIGTERM


def test_stdio_cwd_and_environment_pass_through(tmp_path: Path) -> None:
    # tmp_path is under the host's /tmp, which the sandbox hides behind its own tmpfs.
    (tmp_path / "here").write_text("")
    proc = conman(
        "sandbox", "--", "sh", "-c", 'cat; ls; echo "$FOO"; echo err >&2',
        input="from stdin\n", cwd=tmp_path, env={**os.environ, "FOO": "bar"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "from stdin\nhere\nbar\n"
    assert proc.stderr == "err\n"


def test_shell_opens_a_shell() -> None:
    proc = conman(
        "sandbox",
        "shell",
        input="systemctl is-system-running\nexit 3\n",
        env={**os.environ, "SHELL": "/bin/sh"},
    )
    assert proc.stdout == "running\n"
    assert proc.returncode == 3


def test_journal_transient_units_and_runc_work_inside(tmp_path: Path) -> None:
    script = r"""
set -e
systemd-run --quiet --wait --unit=probe -p Delegate=yes sh -c 'echo hello from a unit'
journalctl -u probe --no-pager -o cat | grep -x 'hello from a unit'
mkdir -p /tmp/b/rootfs/bin && cp /bin/busybox /tmp/b/rootfs/bin/ && cd /tmp/b && runc spec
sed -i 's/"terminal": true/"terminal": false/' config.json
sed -i 's/"sh"$/"\/bin\/busybox", "echo", "hello from runc"/' config.json
runc run probe
"""
    proc = conman("sandbox", "--", "sh", "-c", script)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.endswith("hello from a unit\nhello from runc\n")


def test_twenty_runs_leave_the_host_as_it_was(canary: Path) -> None:
    for _ in range(20):
        proc = conman("--debug", "sandbox", "--", "true")
        assert proc.returncode == 0, proc.stderr
        name = UP.search(proc.stderr)
        assert name is not None
        assert_nothing_left(name.group(1))


def test_two_sandboxes_at_once() -> None:
    cmd = ["conman", "--debug", "sandbox", "--", "sh", "-c", "sleep 1; systemctl is-system-running"]
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [o for o, _ in outs] == ["running\n", "running\n"]
    names = {m.group(1) for _, e in outs if (m := UP.search(e))}
    assert len(names) == 2
    for name in names:
        assert_nothing_left(name)


def _start_and_wait_up(argv: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(["conman", "--debug", "sandbox", "--", *argv], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if m := UP.search(line):
            # Keep draining the launcher's debug output so it never blocks on a full pipe.
            threading.Thread(target=proc.communicate, daemon=True).start()
            return proc, m.group(1)
    raise AssertionError("sandbox did not come up")


def _wait_gone(name: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while processes_of(name) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupting_the_sandbox_ends_everything(sig: int) -> None:
    proc, name = _start_and_wait_up(["sleep", "1000"])
    time.sleep(0.3)  # let nsenter start sleep
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == 128 + sig
    assert_nothing_left(name)


def test_killed_command_ends_the_sandbox() -> None:
    proc, name = _start_and_wait_up(["sh", "-c", "sleep 0.3; kill -KILL $$"])
    assert proc.wait(timeout=30) == 128 + signal.SIGKILL
    assert_nothing_left(name)


def test_sigkill_of_the_launcher_leaves_no_process_and_the_next_run_cleans_up() -> None:
    proc, name = _start_and_wait_up(["sleep", "1000"])
    proc.kill()
    proc.wait()
    _wait_gone(name)
    assert processes_of(name) == []
    # Its cgroup subtree could not be removed by the dead launcher: the next sandbox does it.
    assert conman("sandbox", "--", "true").returncode == 0
    assert sandbox_cgroups(name) == []


def test_inside_a_booted_system_the_command_runs_directly() -> None:
    proc = conman("sandbox", "--", "conman", "sandbox", "--", "echo", "nested")
    assert proc.returncode == 0
    assert proc.stdout == "nested\n"
    assert "systemd is already PID 1 here; running the command directly" in proc.stderr


def test_unified_hierarchy_as_on_pure_cgroup_v2_hosts() -> None:
    """On cgroup v2 the shim must leave the unit's cgroup for a leaf before runc makes <unit>/container."""
    script = """
set -e
conman system check | grep cgroups
conman image import busybox >/dev/null
conman run --rm busybox sh -c 'grep "^0::" /proc/self/cgroup; exit 3' || echo "exit $?"
conman run -d --name w busybox sleep 100 >/dev/null
grep "^0::" /proc/$(conman inspect -f '{{.State.Pid}}' w)/cgroup
systemctl show -p ActiveState --value $(conman unit w)
conman stop -t 0 w >/dev/null
conman rm w >/dev/null
printf abc | conman run -i --rm busybox cat
"""
    # runc: crun cannot load its v2 device filter where bpf() is refused (our build machines)
    proc = conman(
        "sandbox", "--unified", "--", "sh", "-c", script, env={**os.environ, "CONMAN_RUNTIME": "runc"}
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "cgroups:     v2"
    assert lines[1:3] == ["0::/", "exit 3"]  # its own cgroup namespace: its cgroup is its root
    assert re.fullmatch(r"0::/conman\.slice/conman-[0-9a-f]{64}\.service/container", lines[3])
    assert lines[4:] == ["active", "abc"]


def test_busybox_is_made_on_first_use_as_docker_pulls() -> None:
    proc = conman(
        "sandbox", "--", "sh", "-c", "conman run --rm busybox echo hi && conman image ls -q | wc -l"
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "hi\n1\n", "")
    other = conman("sandbox", "--", "conman", "run", "--rm", "--pull", "never", "alpine", "true")
    assert other.returncode == 125 and other.stderr.startswith("Error: no such image: alpine\n")


def test_without_a_bus_daemon_conman_talks_to_systemd_directly() -> None:
    """No D-Bus daemon (a minimal system): systemd's private socket serves, signals included."""
    script = """
set -e
systemctl stop dbus.socket dbus.service
conman system check | grep '^systemd:'
conman run --rm busybox sh -c 'echo out; exit 4' || echo "exit $?"
conman run -d --name w busybox sleep 100 >/dev/null
conman ps --format table | grep -c ' w$'
conman stop -t 0 w
conman wait w
conman rm w >/dev/null
"""
    proc = conman("sandbox", "--", "sh", "-c", script)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(
        r"systemd: +\S+ \(asked over D-Bus, its private socket\)", proc.stdout.splitlines()[0]
    )
    assert proc.stdout.splitlines()[1:] == ["out", "exit 4", "1", "w", "137"]


def test_a_private_network_has_only_its_own_loopback() -> None:
    """Network tests make bridges and firewall rules: in a sandbox of their own, never the host's."""
    script = """
set -e
ip -o link | awk '{print $2, ($3 ~ /UP/ ? "up" : "down")}'
ip -o -4 addr | awk '{print $2, $4}'
test "$(readlink /proc/1/ns/net)" != "$HOST_NET" && echo private
conman image import busybox >/dev/null
conman run --rm --network host busybox ls /sys/class/net
"""
    host_net = os.readlink("/proc/self/ns/net")
    proc = conman(
        "sandbox", "--network", "private", "--", "sh", "-c", script, env={**os.environ, "HOST_NET": host_net}
    )
    assert (proc.returncode, proc.stdout) == (0, "lo: up\nlo 127.0.0.1/8\nprivate\nlo\n"), proc.stderr
    assert not [e for e in os.listdir("/run") if e.startswith("conman-sandbox-")]  # its notify socket's


def test_bridges_only_where_the_network_is_not_the_host_s() -> None:
    """conman inside reads which: with the host's network no bridge may be made; one the caller
    made for the sandbox (`unshare -n`, loopback alone) is as good as `--network private`."""
    show = [
        "sandbox",
        "--",
        "sh",
        "-c",
        "cat /run/conman-sandbox/network; cat /proc/sys/net/ipv4/ip_forward",
    ]
    host = conman(*show)
    assert (host.returncode, host.stdout.split()[0]) == (0, "host"), host.stderr
    assert conman("sandbox", "--", "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward").returncode != 0
    made = subprocess.run(["unshare", "-n", "conman", *show[:-1], show[-1] + "; echo 1 > /proc/sys/net/ipv4/ip_forward"],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert (made.returncode, made.stdout.split()[0]) == (0, "private"), made.stderr

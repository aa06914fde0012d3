"""Interactive containers with a real pty: -i, -t, attach, detach keys, resize, exec, shim death."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.integration.conftest import Conman
from tests.integration.ptyhelper import Terminal

pytestmark = pytest.mark.systemd


@pytest.fixture
def terminals(clean: Conman) -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for t in opened:
        t.close()


def open_terminal(
    clean: Conman, terminals: list[Terminal], *args: str, rows: int = 24, cols: int = 80
) -> Terminal:
    t = Terminal(clean.system.argv(["conman", *args]), rows, cols)
    terminals.append(t)
    return t


def test_stdin_reaches_the_container(clean: Conman) -> None:
    proc = clean.system.run(["conman", "run", "-i", "--rm", "busybox", "cat"], input="abc")
    assert (proc.stdout, proc.returncode) == ("abc", 0)
    both = clean.system.run(["conman", "run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo err >&2; exit 4"],
                            input="x\ny\n")  # fmt: skip
    assert (both.stdout, both.stderr, both.returncode) == ("x\ny\n", "err\n", 4)
    assert clean.leftovers() == ""


def test_an_interactive_shell(clean: Conman, terminals: list[Terminal]) -> None:
    t = open_terminal(clean, terminals, "run", "-it", "--rm", "busybox", "sh", rows=31, cols=97)
    t.read_until("# ")
    t.send("echo $((6*7))\r")
    assert "42" in t.read_until("42")
    t.send("stty size\r")
    t.read_until("31 97")
    t.resize(40, 120)
    time.sleep(0.5)  # SIGWINCH -> conman -> the shim -> TIOCSWINSZ
    t.send("stty size\r")
    t.read_until("40 120")
    t.send("exit 5\r")
    assert t.wait() == 5
    assert t.restored()
    assert clean.leftovers() == ""


def test_detach_and_attach_again(clean: Conman, terminals: list[Terminal]) -> None:
    clean.ok("run", "-dit", "--name", "tty", "busybox", "sh")
    first = open_terminal(clean, terminals, "attach", "tty")
    time.sleep(0.5)
    first.send("echo one-$((1+1))\r")
    first.read_until("one-2")
    first.send(b"\x10\x11")  # ctrl-p ctrl-q
    assert first.wait() == 0
    assert first.restored()
    assert json.loads(clean.ok("inspect", "tty"))[0]["State"]["Running"]
    a = open_terminal(clean, terminals, "attach", "tty")
    b = open_terminal(clean, terminals, "attach", "tty")
    time.sleep(0.5)
    a.send("echo two-$((2+2))\r")
    a.read_until("two-4")
    b.read_until("two-4")  # both clients see the new output
    assert "one-2" not in b.out.decode(errors="replace")
    a.send("exit 3\r")
    assert a.wait() == 3 and b.wait() == 3
    assert clean.ok("wait", "tty") == "3\n"


def test_custom_detach_keys(clean: Conman, terminals: list[Terminal]) -> None:
    clean.ok("run", "-dit", "--name", "keys", "busybox", "sh")
    t = open_terminal(clean, terminals, "attach", "--detach-keys", "ctrl-a,x", "keys")
    time.sleep(0.5)
    t.send(b"\x01x")
    assert t.wait() == 0
    assert json.loads(clean.ok("inspect", "keys"))[0]["State"]["Running"]


def test_exec(clean: Conman, terminals: list[Terminal]) -> None:
    clean.ok("run", "-d", "--name", "host", "busybox", "sleep", "1000")
    t = open_terminal(clean, terminals, "exec", "-it", "host", "sh")
    t.read_until("# ")
    t.send("echo $((7*6)) && ps | grep -c 'sleep 1000'\r")
    t.read_until("42")
    t.send("exit 2\r")
    assert t.wait() == 2
    assert clean("exec", "host", "true").returncode == 0
    assert clean("exec", "host", "sh", "-c", "exit 5").returncode == 5
    assert clean("exec", "host", "/etc/passwd").returncode == 126
    assert clean("exec", "host", "nosuch").returncode == 127
    out = clean(
        "exec", "-e", "X=1", "-w", "/tmp", "-u", "1000", "host", "sh", "-c", "echo $X $(pwd) $(id -u)"
    )
    assert out.stdout == "1 /tmp 1000\n"
    piped = clean.system.run(["conman", "exec", "-i", "host", "cat"], input="piped")
    assert piped.stdout == "piped"


def test_sigkill_of_the_shim_leaves_no_container_process(clean: Conman) -> None:
    clean.ok("run", "-dit", "--name", "orphan", "busybox", "sh")
    unit = clean.ok("unit", "orphan").strip()
    init = json.loads(clean.ok("inspect", "orphan"))[0]["Id"]
    shim = clean.system.run(["systemctl", "show", "-p", "MainPID", "--value", unit]).stdout.strip()
    clean.sh(f"kill -KILL {shim}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = clean.system.run(["systemctl", "show", "-p", "ActiveState", "--value", unit]).stdout.strip()
        if state in ("inactive", "failed"):
            break
        time.sleep(0.2)
    assert state in ("inactive", "failed")
    procs = clean.sh(
        f"cat /sys/fs/cgroup/systemd/conman.slice/{unit}/container/cgroup.procs 2>/dev/null"
    ).stdout
    assert procs == ""
    assert clean.sh(f"ls /run/conman/{clean.runtime}/{init} 2>/dev/null").stdout == ""


BAD = [
    (["run", "--detach-keys", "ctrl-", "busybox", "true"],
     'Error: invalid detach keys "ctrl-": use a character or ctrl-<a-z@[\\]^_> per key, separated by commas\n'),
    (["run", "-it", "busybox", "true"], "Error: the input device is not a TTY\nHint: drop -t, or run conman from a terminal\n"),
    (["exec", "-u", "nobodyx", "running", "true"], "Error: invalid user \"nobodyx\": no user nobodyx in the image's /etc/passwd\n"),
    (["exec", "-w", "/nonexist", "running", "true"],
     'Error: exec failed: the working directory "/nonexist" does not exist in container running\n'),
    (["exec", "-w", "rel", "running", "true"], 'Error: invalid working directory "rel": it must be an absolute path\n'),
    (["exec", "stopped", "true"], "Error: container stopped is not running\nHint: start it with `conman start stopped`\n"),
    (["attach", "stopped"], "Error: container stopped is not running\nHint: start it with `conman start stopped`\n"),
    (["exec", "nosuch", "true"], "Error: no such container: nosuch\nHint: list containers with `conman ps -a`\n"),
]  # fmt: skip


def test_bad_interactive_input(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "running", "busybox", "sleep", "1000")
    clean.ok("create", "--name", "stopped", "busybox", "true")
    for args, message in BAD:
        proc = clean(*args)
        assert (proc.returncode, proc.stderr) == (125, message), args


def test_signals_are_proxied_without_a_tty(clean: Conman) -> None:
    script = "trap 'echo got-usr1; exit 9' USR1; echo ready; while true; do sleep 0.1; done"
    proc = clean.system.popen(["conman", "run", "-i", "--name", "sp", "busybox", "sh", "-c", script],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    clean.sh("pkill -USR1 -f 'conman run -i --name sp'")
    out, _ = proc.communicate(timeout=30)
    assert (out, proc.returncode) == ("got-usr1\n", 9)


def test_attach_to_a_container_without_a_terminal_streams_its_output(clean: Conman) -> None:
    clean.ok(
        "run", "-d", "--name", "plain", "busybox", "sh", "-c", "sleep 1; echo late; echo oops >&2; exit 6"
    )
    proc = clean("attach", "plain", timeout=30)
    assert (proc.stdout, proc.stderr, proc.returncode) == ("late\n", "oops\n", 6)


def test_malformed_attach_frames_drop_their_sender_not_the_container(clean: Conman) -> None:
    cid = clean.ok("run", "-dit", "--name", "sturdy", "busybox", "sh").strip()
    socket_path = f"/run/conman/{cid}/attach"
    for bad in ("struct.pack('>BI', 2, 1) + b'x'", "struct.pack('>BI', 3, 4) + struct.pack('>i', 999)",
                "struct.pack('>BI', 3, 1) + b'x'", "struct.pack('>BI', 77, 0)", "struct.pack('>BI', 0, 1 << 30)"):  # fmt: skip
        script = (f"import socket, struct; s = socket.socket(socket.AF_UNIX); s.connect({socket_path!r}); "
                  f"s.sendall({bad}); s.settimeout(10); print(s.recv(1))")  # fmt: skip
        sent = clean.system.run(["python3", "-c", script])
        assert sent.stdout == "b''\n", (bad, sent.stderr)  # dropped: the shim closed it
        assert json.loads(clean.ok("inspect", "sturdy"))[0]["State"]["Running"], bad
    clean.ok("rm", "-f", "sturdy")


def test_sigterm_to_a_terminal_client_restores_the_terminal(
    clean: Conman, terminals: list[Terminal]
) -> None:
    t = open_terminal(clean, terminals, "run", "-it", "--name", "termed", "busybox", "sh")
    t.read_until("# ")
    clean.sh("pkill -TERM -f 'conman run -it --name termed'")
    assert t.wait() == 143
    assert t.restored()  # not left raw
    assert json.loads(clean.ok("inspect", "termed"))[0]["State"]["Running"]  # no proxy with a terminal
    clean.ok("rm", "-f", "termed")

"""Faults with nothing lost: a killed CLI, a failing runc, a full disk, many cycles.

Each test runs against the real systemd (the session's sandbox) and ends with `leftovers() == ""`:
no unit, runc state, mount, cgroup, state or runtime directory of a container survives it.
"""

from __future__ import annotations

import functools
import json
import random
import subprocess
import time

import pytest

from tests.integration.conftest import Conman, until

pytestmark = pytest.mark.systemd


def show(conman: Conman, unit: str, *props: str) -> dict[str, str]:
    out = conman.system.run(["systemctl", "show", unit, *(f"-p{p}" for p in props)]).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def remove_everything(conman: Conman) -> None:
    ids = conman.ok("ps", "-aq").split()
    if ids:
        conman.ok("rm", "-f", *ids)


def one_clear_error(stderr: str) -> None:
    """conman's error format: `Error: ...` and at most a `Hint: ...` line, never a traceback."""
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr, stderr
    assert lines and lines[0].startswith("Error: "), stderr
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("Hint: ")), stderr


def kill_cli_at_random(
    clean: Conman, argv: list[str], pattern: str, rng: random.Random, longest: float
) -> None:
    """Start `conman argv` inside the sandbox and SIGKILL it there after a random delay."""
    proc = clean.system.popen(["conman", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(rng.uniform(0, longest))
    # The [x]y form keeps pkill from matching the shell that runs it.
    clean.sh(f"pkill -KILL -f -- '{pattern}'")
    proc.communicate(timeout=120)


@pytest.mark.parametrize("command", ["run -d", "stop", "rm -f"])
def test_sigkill_of_the_cli_at_random_points_leaves_state_and_units_agreeing(
    clean: Conman, command: str
) -> None:
    rng = random.Random(f"sigkill {command}")
    for i in range(8):
        name = f"victim{i}"
        pattern = f"--name [v]ictim{i} " if command == "run -d" else f"-t 3 [v]ictim{i}$|-f [v]ictim{i}$"
        if command == "run -d":
            argv = ["run", "-d", "--name", name, "busybox", "sleep", "1000"]
        else:
            clean.ok("run", "-d", "--name", name, "busybox", "sleep", "1000")
            argv = ["stop", "-t", "3", name] if command == "stop" else ["rm", "-f", name]
        kill_cli_at_random(clean, argv, pattern, rng, longest=0.4 if command == "run -d" else 0.3)
        # Whatever the CLI had done, conman and systemd agree on it.
        ps = clean("ps", "-a", "--format", "json")
        assert ps.returncode == 0, ps.stderr
        listed = {c["Id"] for c in json.loads(ps.stdout)}
        units = clean.sh(
            "systemctl list-units --all --plain --no-legend 'conman-*.service' | awk '{print $1}'"
        ).stdout.split()
        for unit in units:
            cid = unit.removeprefix("conman-").removesuffix(".service")
            assert any(cid.startswith(x) or x.startswith(cid) for x in listed), (unit, listed)
    # Everything conman lists can be removed, and then nothing is left.
    remove_everything(clean)
    assert clean.leftovers() == ""
    # The names are free again.
    for i in range(8):
        clean.ok("run", "-d", "--name", f"victim{i}", "busybox", "true")
    remove_everything(clean)
    assert clean.leftovers() == ""


def test_a_failing_runc_gives_a_clear_error_and_leaves_nothing(clean: Conman) -> None:
    # An image whose /proc is a regular file: runc cannot mount proc there and fails.
    made = clean.sh(
        "set -e; rootfs=$(conman image inspect busybox | python3 -c "
        "'import json, sys; print(json.load(sys.stdin)[0][\"LowerDirs\"][0])'); "
        "rm -rf /tmp/badproc; cp -a $rootfs /tmp/badproc; rm -rf /tmp/badproc/proc; touch /tmp/badproc/proc; "
        "conman image import badproc /tmp/badproc; rm -rf /tmp/badproc"
    )
    assert made.returncode == 0, made.stdout + made.stderr
    try:
        fg = clean("run", "--rm", "badproc", "true")
        assert fg.returncode != 0 and fg.returncode not in (126, 127), (fg.returncode, fg.stderr)
        one_clear_error(fg.stderr)
        assert clean.leftovers() == ""
        bg = clean("run", "-d", "--name", "broken", "badproc", "true")
        assert bg.returncode != 0, bg.stdout
        one_clear_error(bg.stderr)
        # Nothing runs and nothing is mounted; at most the container's record is kept, and rm takes it.
        assert all(line.split()[0] in ("state", "name") for line in clean.leftovers().splitlines())
        remove_everything(clean)
        assert clean.leftovers() == ""
    finally:
        clean("image", "rm", "badproc")


def test_a_full_state_directory_gives_a_clear_error_and_no_corrupt_state(clean: Conman) -> None:
    root, runroot = "/tmp/conman-full/root", "/tmp/conman-full/run"
    at = ["--root", root, "--runroot", runroot]
    setup = clean.sh(f"set -e; mkdir -p {root} {runroot}; mount -t tmpfs -o size=12m conman-full {root}")
    assert setup.returncode == 0, setup.stderr
    try:
        clean.ok(*at, "image", "import", "busybox")
        clean.ok(*at, "run", "-d", "--name", "before", "busybox", "sleep", "1000")
        # Fill it up to the last block.
        clean.sh(
            f"dd if=/dev/zero of={root}/fill bs=64k 2>/dev/null; dd if=/dev/zero of={root}/fill2 bs=1k 2>/dev/null"
        )
        full = clean(*at, "run", "-d", "--name", "after", "busybox", "sleep", "1000")
        ps = clean(*at, "ps", "-a")
        names = clean.sh(f"ls {root}/names").stdout.split()
        containers = clean.sh(f"ls {root}/containers").stdout.split()
        # The state is intact: the running container is listed, and nothing is half-made.
        assert ps.returncode == 0 and "before" in ps.stdout and "after" not in ps.stdout, (
            ps.stdout + ps.stderr
        )
        assert names == ["before"]
        assert len(containers) == 1, containers
        assert full.returncode == 125, (full.returncode, full.stdout, full.stderr)
        one_clear_error(full.stderr)
        # A container that ends on the full disk keeps its exit code (space set aside at create).
        clean.ok(*at, "kill", "before")  # SIGKILL
        clean.ok(*at, "wait", "before")
        assert clean.ok(*at, "inspect", "-f", "{{.State.ExitCode}}", "before") == "137\n"
        assert "Exited (137)" in clean.ok(*at, "ps", "-a", "--format", "{{.Status}}")
        clean.ok(*at, "start", "before")  # after an exit that took the reserve
        clean.sh(f"rm -f {root}/fill {root}/fill2")
        clean.ok(*at, "run", "-d", "--name", "after", "busybox", "sleep", "1000")
        ids = clean.ok(*at, "ps", "-aq").split()
        assert len(ids) == 2
        clean.ok(*at, "rm", "-f", *ids)
        assert clean.sh(f"ls {root}/containers {root}/names").stdout.split() == [
            f"{root}/containers:",
            f"{root}/names:",
        ]
    finally:
        ids = clean(*at, "ps", "-aq").stdout.split()
        if ids:
            clean(*at, "rm", "-f", *ids)
        clean.sh(f"umount {root}; rm -rf /tmp/conman-full")
    assert clean.leftovers() == ""


def spawned(conman: Conman, name: str) -> bool:
    return conman.ok("logs", name) == "spawned\n"


def test_rm_f_of_a_container_with_two_thousand_processes(clean: Conman) -> None:
    # systemd 252's KillUnit fails now and then with EIO while so many processes die (a short read
    # of cgroup.procs); rm -f must still remove the container at the first try.
    spawn = "i=0; while [ $i -lt 2000 ]; do sleep 1000 & i=$((i+1)); done; echo spawned; wait"
    for round in range(3):
        name = f"crowd{round}"
        clean.ok("run", "-d", "--name", name, "--pids-limit", "2100", "busybox", "sh", "-c", spawn)
        assert until(functools.partial(spawned, clean, name)), clean.ok("logs", name)
        assert clean.ok("rm", "-f", name) == f"{name}\n"
    assert clean.ok("ps", "-aq") == ""
    assert clean.leftovers() == ""


def fd_counts(conman: Conman) -> dict[str, int]:
    out = conman.sh(
        "echo systemd $(ls /proc/1/fd | wc -l); echo journald $(ls /proc/$(pidof systemd-journald)/fd | wc -l)"
    ).stdout
    return {k: int(v) for k, v in (line.split() for line in out.splitlines())}


def test_five_hundred_lifecycles_leak_nothing(clean: Conman) -> None:
    clean.ok("run", "--rm", "busybox", "true")  # warm: journald's and systemd's first connections
    before = fd_counts(clean)
    # Two loops at once (2 cores), 250 cycles each: create, start, stop, rm.
    loop = (
        "for i in $(seq 250); do id=$(conman create busybox sleep 1000) && conman start $id >/dev/null"
        " && conman stop -t 0 $id >/dev/null && conman rm $id >/dev/null || { echo FAILED $i; exit 1; }; done"
    )
    proc = clean.sh(
        f"({loop}) & a=$!; ({loop}) & b=$!; wait $a; ra=$?; wait $b; rb=$?; echo rc $ra $rb", timeout=900
    )
    assert proc.stdout.strip().endswith("rc 0 0"), proc.stdout + proc.stderr
    assert clean.ok("ps", "-aq") == ""
    assert clean.leftovers() == ""
    after = fd_counts(clean)
    for who in before:
        assert after[who] <= before[who] + 5, (before, after)


def test_twenty_concurrent_runs_get_unique_ids_and_one_name_race_has_one_winner(clean: Conman) -> None:
    procs = [
        clean.system.popen(
            ["conman", "run", "-d", "busybox", "sleep", "1000"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        for _ in range(20)
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert all(rc == 0 for rc, _, _ in results), results
    ids = {out.strip() for _, out, _ in results}
    assert len(ids) == 20
    assert len(clean.ok("ps", "-q").split()) == 20
    remove_everything(clean)
    racers = [
        clean.system.popen(
            ["conman", "run", "-d", "--name", "same", "busybox", "sleep", "1000"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        for _ in range(10)
    ]
    raced = [(p.wait(timeout=300), *p.communicate()) for p in racers]
    winners = [r for r in raced if r[0] == 0]
    losers = [r for r in raced if r[0] != 0]
    assert len(winners) == 1 and len(losers) == 9, raced
    for rc, _, err in losers:
        assert rc == 125
        one_clear_error(err)
        assert 'name "same"' in err, err
    assert clean.ok("ps", "-q").split() == [winners[0][1].strip()[:12]]
    remove_everything(clean)
    assert clean.leftovers() == ""


def test_twenty_containers_times_a_thousand_lines_all_logged_in_order(clean: Conman) -> None:
    script = 'i=0; while [ $i -lt 1000 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done'
    names = [f"chat{i}" for i in range(20)]
    for name in names:
        clean.ok("run", "-d", "--name", name, "busybox", "sh", "-c", script)
    outs = [f"out {i}" for i in range(1000)]
    errs = [f"err {i}" for i in range(1000)]
    for name in names:
        assert clean.ok("wait", name) == "0\n"
        logs = clean("logs", name)
        assert logs.returncode == 0
        assert logs.stdout.splitlines() == outs, name
        assert logs.stderr.splitlines() == errs, name
    remove_everything(clean)
    assert clean.leftovers() == ""


def test_state_and_runtime_directories_are_not_readable_by_others(clean: Conman) -> None:
    cid = clean.ok("run", "-d", "--name", "private", "busybox", "sleep", "1000").strip()
    state, runtime = f"/var/lib/conman/containers/{cid}", f"/run/conman/{cid}"
    listing = clean.sh(f"stat -c '%a %n' /var/lib/conman/names {state} {state}/* {runtime}").stdout
    modes = {path: int(mode, 8) for mode, path in (line.split(" ", 1) for line in listing.splitlines())}
    for path in (state, runtime, "/var/lib/conman/names"):
        assert modes[path] & 0o077 == 0, f"{path} is {oct(modes[path])}"
    # The records conman writes are private themselves (upper/ and work/ are the container's /;
    # hosts and resolv.conf its /etc files, 0644 for its users: the 0700 directory hides them).
    records = [
        p for p in modes
        if p.startswith(f"{state}/") and p.rsplit("/", 1)[1] not in ("upper", "work", "hosts", "resolv.conf")
    ]  # fmt: skip
    assert {f"{state}/config.json", f"{state}/spec.json"} <= set(records), listing
    for path in records:
        assert modes[path] & 0o077 == 0, f"{path} is {oct(modes[path])}"
    # And another user really cannot read any of it (the runtime's own files, its config included).
    files = clean.sh(f"find {state} {runtime} -maxdepth 2 -type f ! -path '*/upper/*'").stdout.split()
    assert f"{state}/config.json" in files, files
    nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups"
    for path in [state, runtime, *files]:
        read = clean.sh(f"{nobody} cat {path} || {nobody} ls {path}")
        assert read.returncode != 0 and "Permission denied" in read.stderr, (path, read.stdout, read.stderr)
    remove_everything(clean)
    assert clean.leftovers() == ""

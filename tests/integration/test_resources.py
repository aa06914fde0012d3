"""Resources, OOM, pause, stats, top and journal fields against the real systemd: a container's
limits are its unit's, and what systemd accounts for the unit is the container's."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.conftest import Conman, show, until

pytestmark = pytest.mark.systemd


def test_memory_limit_is_the_unit_s_and_update_changes_it(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "capped", "--memory", "32m", "--cpus", "0.5", "busybox", "sleep", "1000")
    unit = clean.ok("unit", "capped").strip()
    assert show(clean, unit, "MemoryMax", "CPUQuotaPerSecUSec", "TasksMax") == {
        "MemoryMax": str(32 << 20), "CPUQuotaPerSecUSec": "500ms", "TasksMax": "2048",
    }  # fmt: skip
    assert clean.ok("update", "--memory", "64m", "--pids-limit", "100", "capped") == "capped\n"
    assert show(clean, unit, "MemoryMax", "TasksMax") == {"MemoryMax": str(64 << 20), "TasksMax": "100"}
    info = json.loads(clean.ok("inspect", "capped"))[0]
    assert info["State"]["Running"]
    clean.ok("rm", "-f", "capped")
    proc = clean("update", "--memory", "64m", "nosuch")
    assert (proc.returncode, proc.stderr) == (
        125,
        "Error: no such container: nosuch\nHint: list containers with `conman ps -a`\n",
    )


def test_update_of_a_stopped_container_is_refused(clean: Conman) -> None:
    clean.ok("create", "--name", "idle", "busybox", "true")
    proc = clean("update", "--memory", "64m", "idle")
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        125, "", "Error: container idle is not running\nHint: update a running container\n"
    )  # fmt: skip
    clean.ok("rm", "idle")


def test_a_container_over_its_memory_limit_is_oom_killed(clean: Conman) -> None:
    # busybox tail keeps an endless line (/dev/zero has no newline) in memory
    proc = clean("run", "--name", "hog", "--memory", "32m", "busybox", "tail", "/dev/zero")
    assert proc.returncode == 137, proc.stderr
    assert clean.ok("inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "hog") == "true 137\n"
    assert clean.ok("wait", "hog") == "137\n"
    assert clean.ok("ps", "-a", "--format", "{{.Status}}").startswith("Exited (137)")
    clean.ok("rm", "hog")


def test_pids_limit_bounds_a_fork_loop(clean: Conman) -> None:
    # The inner shell dies at its first failed fork; the outer one then becomes sleep (no fork).
    clean.ok("run", "-d", "--name", "forky", "--pids-limit", "20", "busybox", "sh", "-c",
             "sh -c 'for i in $(seq 40); do sleep 1000 & done'; echo survived; exec sleep 1000")  # fmt: skip
    unit = clean.ok("unit", "forky").strip()
    assert until(lambda: "survived" in clean.ok("logs", "forky"))
    tasks = int(show(clean, unit, "TasksCurrent")["TasksCurrent"])
    assert tasks <= 20, tasks
    assert "can't fork" in clean("logs", "forky").stderr
    clean.ok("rm", "-f", "forky")


def test_stats_shows_a_busy_container_s_cpu_and_memory(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "busy", "--memory", "64m", "busybox", "sh", "-c", "while :; do :; done")
    out = clean.ok("stats", "--no-stream", "busy")
    header, row = out.splitlines()
    assert header.split() == ["CONTAINER", "ID", "NAME", "CPU", "%", "MEM", "USAGE", "/", "LIMIT", "MEM", "%",
                              "NET", "I/O", "BLOCK", "I/O", "PIDS"]  # fmt: skip
    sample = json.loads(clean.ok("stats", "--no-stream", "--format", "json", "busy"))
    assert sample["Name"] == "busy" and sample["PIDs"] == "1"
    assert float(sample["CPUPerc"].rstrip("%")) > 20, sample  # one spinning shell
    usage, limit = sample["MemUsage"].split(" / ")
    assert limit == "64MiB" and usage != "0B", sample
    assert clean.ok("stats", "--no-stream", "--format", "{{.Name}}: {{.PIDs}}", "busy") == "busy: 1\n"
    top = clean.ok("top", "busy").splitlines()
    assert top[0].split()[:3] == ["UID", "PID", "PPID"] and "while :; do :; done" in top[1]
    clean.ok("rm", "-f", "busy")


def test_pause_freezes_and_unpause_thaws(clean: Conman) -> None:
    cid = clean.ok("run", "-d", "--name", "counter", "busybox", "sh", "-c",
                   "i=0; while :; do i=$((i+1)); echo $i > /count; sleep 0.02; done").strip()  # fmt: skip
    count = f"/var/lib/conman/containers/{cid}/upper/count"

    def value() -> str:
        return clean.sh(f"cat {count}").stdout.strip()

    assert until(lambda: value() not in ("", "1"))
    assert clean.ok("pause", "counter") == "counter\n"
    assert clean.ok("inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "counter") == "paused true\n"
    assert "(Paused)" in clean.ok("ps", "--format", "{{.Status}}")
    frozen = value()
    time.sleep(0.3)  # fifteen ticks of the counter, were it running
    assert value() == frozen
    proc = clean("pause", "counter")
    assert (proc.returncode, proc.stderr) == (125, "Error: container counter is already paused\n")
    assert clean.ok("unpause", "counter") == "counter\n"
    assert until(lambda: value() != frozen)
    assert clean.ok("inspect", "-f", "{{.State.Status}}", "counter") == "running\n"
    clean.ok("stop", "-t", "1", "counter")
    proc = clean("unpause", "counter")
    assert (proc.returncode, proc.stderr) == (125, "Error: container counter is not running\n")
    clean.ok("rm", "counter")


def test_every_line_carries_docker_s_journal_fields(clean: Conman) -> None:
    cid = clean.ok("run", "-d", "--name", "fields", "busybox", "sh", "-c", "echo hello-fields").strip()
    clean.ok("wait", "fields")
    # (both fields: the session's other runtime ran a container of this name before)
    out = clean.sh(f"journalctl CONTAINER_NAME=fields CONTAINER_ID_FULL={cid} -o json").stdout.splitlines()
    entries = [json.loads(line) for line in out]
    line = next(e for e in entries if e.get("MESSAGE") == "hello-fields")
    assert (line["CONTAINER_ID"], line["CONTAINER_ID_FULL"], line["IMAGE_NAME"]) == (
        cid[:12], cid, "localhost/busybox:latest"
    )  # fmt: skip
    # an interactive container's output (its IO server writes the journal) carries them too
    clean.ok("run", "-i", "--name", "fields-i", "busybox", "echo", "hello-interactive", timeout=60)
    cid = clean.ok("inspect", "-f", "{{.Id}}", "fields-i").strip()
    journal = clean.sh(f"journalctl CONTAINER_NAME=fields-i CONTAINER_ID_FULL={cid} -o cat").stdout
    assert "hello-interactive" in journal
    clean.ok("rm", "fields", "fields-i")


def test_default_privileges_are_docker_s(clean: Conman) -> None:
    out = clean.ok("run", "--rm", "busybox", "sh", "-c",
                   "grep CapEff /proc/self/status; cat /proc/kcore >/dev/null 2>&1 || echo no-kcore;"
                   " echo x 2>/dev/null > /proc/sys/kernel/domainname || echo no-sysctl;"
                   " unshare -U -r -m true 2>/dev/null || echo no-userns; cat /proc/self/cgroup | tail -1")  # fmt: skip
    assert out == "CapEff:\t00000000a80425fb\nno-kcore\nno-sysctl\nno-userns\n0::/\n", out
    assert clean.ok(
        "run", "--rm", "--cap-drop", "ALL", "busybox", "grep", "CapEff", "/proc/self/status"
    ) == ("CapEff:\t0000000000000000\n")
    out = clean.ok("run", "--rm", "--cap-drop", "ALL", "--cap-add", "net_raw", "busybox", "grep", "CapEff",
                   "/proc/self/status")  # fmt: skip
    assert out == "CapEff:\t0000000000002000\n"
    assert (
        clean.ok("run", "--rm", "--privileged", "busybox", "sh", "-c", "unshare -U -r -m true && echo ns")
        == "ns\n"
    )
    out = clean.ok("run", "--rm", "--security-opt", "no-new-privileges", "busybox", "grep", "NoNewPrivs",
                   "/proc/self/status")  # fmt: skip
    assert out == "NoNewPrivs:\t1\n"
    # (the sandbox's /dev has only the nodes every container gets anyway: the node, not the rule)
    out = clean.ok("run", "--rm", "--device", "/dev/zero:/dev/myzero:r", "busybox", "sh", "-c",
                   "head -c 2 /dev/myzero | od -An -c")  # fmt: skip
    assert out.split() == ["\\0", "\\0"]


def test_init_reaps_zombies_that_a_plain_pid_1_leaves(clean: Conman) -> None:
    # An orphan (its parent subshell is gone) exits under a PID 1 that never waits: `exec sleep`.
    script = "(sh -c 'sleep 0.3; touch /tmp/done' &); exec sleep 1000"

    def zombies(name: str) -> bool:
        return " Z " in f" {clean.ok('exec', name, 'ps', '-o', 'stat,comm')} ".replace("\n", " ")

    def done(name: str) -> bool:
        return clean("exec", name, "test", "-e", "/tmp/done").returncode == 0

    for name, flags in (("plain", ()), ("reaped", ("--init",))):
        clean.ok("run", "-d", "--name", name, *flags, "busybox", "sh", "-c", script)
    assert until(lambda: done("plain") and done("reaped"))
    assert until(lambda: zombies("plain"), 10)
    assert not zombies("reaped")
    assert clean.ok("exec", "reaped", "cat", "/proc/1/comm") == "conman-init\n"  # catatonit, bound in
    assert clean.ok("inspect", "-f", "{{.HostConfig.Init}}", "reaped") == "true\n"
    clean.ok("stop", "-t", "5", "reaped")  # catatonit forwards the stop signal: sleep ends at once
    assert clean.ok("inspect", "-f", "{{.State.ExitCode}}", "reaped") == "143\n"
    clean.ok("rm", "-f", "plain", "reaped")


def test_a_running_container_is_a_machine_of_machined(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "vm1", "busybox", "sleep", "1000")
    unit = clean.ok("unit", "vm1").strip()

    def machines() -> str:
        return clean.sh("machinectl list --no-legend --no-pager").stdout

    assert until(lambda: "vm1" in machines())  # registered by the shim once the start is done
    status = clean.sh("machinectl status vm1 --no-pager").stdout
    assert "Service: conman; class container" in status and f"Unit: {unit}" in status, status
    assert "sleep 1000" in clean.sh(f"systemd-cgls --no-pager -u {unit}").stdout
    clean.ok("stop", "-t", "1", "vm1")
    assert until(lambda: "vm1" not in machines())  # machined drops it with its unit
    clean.ok("rm", "vm1")


def test_a_log_flood_is_cut_at_the_rate_limit_and_normal_output_is_kept(clean: Conman) -> None:
    count = "i=0; while [ $i -lt {n} ]; do echo line $i; i=$((i+1)); done"
    clean.ok("run", "-d", "--name", "flood", "--log-rate-limit", "100/1m", "busybox", "sh", "-c",
             count.format(n=3000))  # fmt: skip
    clean.ok("run", "-d", "--name", "normal", "busybox", "sh", "-c", count.format(n=5000))
    assert clean.ok("wait", "flood", "normal") == "0\n0\n"
    kept = clean.ok("logs", "flood").splitlines()
    # journald lets through the burst, scaled up by the free space it sees (at most ~8x here)
    assert 100 <= len(kept) < 3000 and kept[:100] == [f"line {i}" for i in range(100)], len(kept)
    assert clean.ok("logs", "normal").splitlines() == [f"line {i}" for i in range(5000)]
    clean.ok("rm", "flood", "normal")

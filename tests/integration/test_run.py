"""`conman run` and the container lifecycle against the real systemd, journald and runc."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from tests.integration.conftest import Conman, show, until

pytestmark = pytest.mark.systemd


def test_foreground_run_streams_output_and_exits_with_the_containers_code(clean: Conman) -> None:
    proc = clean("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (proc.stdout, proc.stderr, proc.returncode) == ("out\n", "err\n", 3)
    assert clean.leftovers() == ""


def test_docker_booleans_run_as_their_plain_flags(clean: Conman) -> None:
    proc = clean(
        "run", "--rm=true", "-i=false", "--read-only=1", "busybox", "sh", "-c", "touch /x || echo ro"
    )
    assert (proc.stdout, proc.returncode) == ("ro\n", 0), proc.stderr
    assert clean.leftovers() == ""  # --rm=true removed it
    kept = clean("run", "--rm", "--rm=false", "--name", "kept", "busybox", "true")  # the last one wins
    assert kept.returncode == 0, kept.stderr
    assert clean.ok("ps", "-a=true", "-q=1").strip() != ""


def test_detached_container_is_supervised_by_systemd(clean: Conman) -> None:
    cid = clean.ok("run", "-d", "--name", "web", "busybox", "sleep", "1000").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    unit = clean.ok("unit", "web").strip()
    assert unit == f"conman-{cid}.service"
    status = clean.system.run(["systemctl", "status", unit, "--no-pager"]).stdout
    assert "sleep 1000" in status
    assert 'Status: "container web is running' in status
    props = show(clean, unit, "MainPID", "Type", "Delegate", "KillMode", "SyslogIdentifier", "NotifyAccess")
    assert props["Type"] == "notify" and props["Delegate"] == "yes" and props["KillMode"] == "mixed"
    assert props["SyslogIdentifier"] == "web" and props["NotifyAccess"] == "exec"
    cmdline = clean.sh(f"cat /proc/{props['MainPID']}/cmdline | tr '\\0' ' '").stdout
    assert cmdline == "sleep 1000 "
    # The container's processes live in the unit's cgroup.
    cgroup = clean.sh(f"cat /proc/{props['MainPID']}/cgroup").stdout
    assert f"/conman.slice/{unit}/container" in cgroup
    started = time.monotonic()
    clean.ok("stop", "-t", "2", "web")
    assert time.monotonic() - started < 2 + 5
    assert show(clean, unit, "ActiveState", "Result") == {"ActiveState": "inactive", "Result": "success"}
    info = json.loads(clean.ok("inspect", "web"))[0]
    assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 137


def test_systemctl_stop_of_a_container_that_handles_sigterm(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "polite", "busybox", "sh", "-c",
             "trap 'exit 143' TERM; while true; do sleep 0.1; done")  # fmt: skip
    unit = clean.ok("unit", "polite").strip()
    started = time.monotonic()
    assert clean.system.run(["systemctl", "stop", unit]).returncode == 0
    assert time.monotonic() - started < 5
    assert show(clean, unit, "ActiveState", "Result") == {"ActiveState": "inactive", "Result": "success"}
    assert json.loads(clean.ok("inspect", "polite"))[0]["State"]["ExitCode"] == 143


def test_exit_code_is_recorded_by_systemd_and_wait(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "seven", "busybox", "sh", "-c", "sleep 0.3; exit 7")
    assert clean.ok("wait", "seven") == "7\n"
    unit = clean.ok("unit", "seven").strip()
    assert show(clean, unit, "ExecMainStatus")["ExecMainStatus"] == "7"
    assert clean.ok("wait", "seven") == "7\n"  # an exited container answers at once


def test_kill_by_signal_records_128_plus_n(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "victim", "busybox", "sleep", "1000")
    clean.ok("kill", "-s", "KILL", "victim")
    assert clean.ok("wait", "victim") == "137\n"


def test_kill_signals_the_container_s_init_when_the_shim_stays(clean: Conman) -> None:
    # A health check keeps the shim as the unit's main process: the signal is still the app's.
    clean.ok("run", "-d", "--name", "app", "--health-cmd", "true", "--health-interval", "1h", "busybox",
             "sh", "-c", "trap 'exit 7' USR1; while :; do sleep 0.1; done")  # fmt: skip
    clean.ok("kill", "-s", "USR1", "app")
    assert clean.ok("wait", "app") == "7\n"


def test_a_thousand_lines_reach_the_journal_and_logs_in_order(clean: Conman) -> None:
    script = 'i=0; while [ $i -lt 1000 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done'
    fg = clean("run", "--name", "chatty", "busybox", "sh", "-c", script)
    outs = [f"out {i}" for i in range(1000)]
    errs = [f"err {i}" for i in range(1000)]
    assert fg.returncode == 0
    assert fg.stdout.splitlines() == outs and fg.stderr.splitlines() == errs
    unit = clean.ok("unit", "chatty").strip()
    journal = clean.system.run(
        ["journalctl", "-u", unit, "-o", "cat", "--no-pager", "_TRANSPORT=stdout"]
    ).stdout
    lines = journal.splitlines()
    assert [x for x in lines if x.startswith("out")] == outs
    assert [x for x in lines if x.startswith("err")] == errs
    errors_only = clean.system.run(["journalctl", "-u", unit, "-o", "cat", "-p", "3", "--no-pager",
                                    "_TRANSPORT=stdout"]).stdout.splitlines()  # fmt: skip
    assert errors_only == errs
    logs = clean("logs", "chatty")
    assert logs.stdout.splitlines() == outs and logs.stderr.splitlines() == errs
    # Two streams: journald keeps each in order, not their interleaving; --tail counts both.
    tail = clean("logs", "--tail", "2", "chatty")
    got = tail.stdout.splitlines() + tail.stderr.splitlines()
    assert len(got) == 2 and set(got) <= {"out 998", "out 999", "err 998", "err 999"}
    every = clean("logs", "--tail=all", "chatty")  # docker's spelling of the default
    assert every.stdout.splitlines() == outs and every.stderr.splitlines() == errs


def test_logs_follow_ends_when_the_container_exits(clean: Conman) -> None:
    clean.ok(
        "run", "-d", "--name", "ticker", "busybox", "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.4; done"
    )
    proc = clean("logs", "-f", "ticker", timeout=30)
    assert proc.returncode == 0
    assert proc.stdout == "1\n2\n3\n"


def test_restart_on_failure_stops_after_n_restarts(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1")
    unit = clean.ok("unit", "flaky").strip()
    deadline = time.monotonic() + 30
    while show(clean, unit, "ActiveState")["ActiveState"] != "failed" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert show(clean, unit, "ActiveState", "NRestarts") == {"ActiveState": "failed", "NRestarts": "2"}
    info = json.loads(clean.ok("inspect", "flaky"))[0]
    assert info["State"]["Restarts"] == 2 and info["State"]["Status"] == "exited"
    assert "(restarts: 2)" in clean.ok("ps", "-a")


def test_restart_always_restarts_after_a_clean_exit_and_stop_wins(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "phoenix", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2")
    unit = clean.ok("unit", "phoenix").strip()
    deadline = time.monotonic() + 30
    while int(show(clean, unit, "NRestarts")["NRestarts"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert int(show(clean, unit, "NRestarts")["NRestarts"]) >= 2
    clean.ok("stop", "phoenix")
    time.sleep(1)
    assert show(clean, unit, "ActiveState")["ActiveState"] == "inactive"
    assert json.loads(clean.ok("inspect", "phoenix"))[0]["State"]["Status"] == "exited"


def test_a_container_that_keeps_failing_is_restarted_ever_more_slowly(clean: Conman) -> None:
    cid = clean.ok(
        "run", "-d", "--name", "crashy", "--restart", "always", "busybox", "sh", "-c", "exit 1"
    ).strip()
    unit = clean.ok("unit", "crashy").strip()
    deadline = time.monotonic() + 60
    status = ""
    while "back-off after 4 quick exits" not in status and time.monotonic() < deadline:
        status = show(clean, unit, "StatusText")["StatusText"]
        time.sleep(0.05)
    assert status == "restarting in 0.8 s: back-off after 4 quick exits"
    assert int(show(clean, unit, "NRestarts")["NRestarts"]) <= 5  # not the 100 ms of systemd alone
    clean.ok("stop", "crashy")  # also while the start waits
    assert show(clean, unit, "ActiveState")["ActiveState"] in ("inactive", "failed")
    records = clean.sh(f"ls /var/lib/conman/containers/{cid}").stdout.split()
    assert "backoff.json" not in records and "stop-requested.json" not in records
    clean.ok("rm", "crashy")


def test_ps_lists_running_and_exited_containers_and_rm_removes_them(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "up", "busybox", "sleep", "1000")
    clean.ok("run", "-d", "--name", "down", "busybox", "sh", "-c", "exit 4")
    clean.ok("wait", "down")
    running = clean.ok("ps")
    assert "up" in running and "down" not in running
    table = clean.ok("ps", "-a")
    assert table.splitlines()[0].split() == [
        "CONTAINER",
        "ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",  # docker's columns
        "NAMES",
    ]
    up = next(line for line in table.splitlines() if line.rstrip().endswith(" up"))
    down = next(line for line in table.splitlines() if line.rstrip().endswith(" down"))
    assert "Up " in up and "Exited (4)" in down and " busybox:latest " in down
    assert max(map(len, table.splitlines())) <= 110  # docker's width: no 64-hex unit column
    rows = {c["Name"]: c for c in json.loads(clean.ok("ps", "-a", "--format", "json"))}
    assert rows["down"]["State"]["ExitCode"] == 4 and rows["up"]["State"]["Running"]
    failed = clean("rm", "up")
    assert failed.returncode == 125
    assert failed.stderr == "Error: container up is running: stop it first or use `rm -f`\n"
    clean.ok("rm", "-f", "up", "down")
    assert clean.ok("ps", "-aq") == ""


def test_create_then_start_attached(clean: Conman) -> None:
    cid = clean.ok("create", "--name", "later", "busybox", "echo", "hello").strip()
    assert json.loads(clean.ok("inspect", "later"))[0]["State"]["Status"] == "created"
    proc = clean("start", "-a", cid[:8])
    assert (proc.stdout, proc.returncode) == ("hello\n", 0)
    again = clean("start", "-a", "later")
    assert (again.stdout, again.returncode) == ("hello\n", 0)  # only this run's output


def test_options_reach_the_container(clean: Conman, tmp_path_factory: pytest.TempPathFactory) -> None:
    clean.sh(
        "mkdir -p /var/tmp/vol && echo from-host > /var/tmp/vol/f && printf 'B=2\\n# c\\n' > /var/tmp/envf"
    )
    script = 'echo "$A $B"; pwd; id -u; id -g; hostname; cat /data/f; touch /data/new && echo rw'
    proc = clean("run", "--rm", "-e", "A=1", "--env-file", "/var/tmp/envf", "-w", "/tmp", "-u", "1000:1001",
                 "--hostname", "box", "-v", "/var/tmp/vol:/data", "busybox", "sh", "-c", script)  # fmt: skip
    assert proc.stdout == "1 2\n/tmp\n1000\n1001\nbox\nfrom-host\n", proc.stderr
    ro = clean("run", "--rm", "-v", "/var/tmp/vol:/data:ro", "busybox", "touch", "/data/x")
    assert ro.returncode == 1 and "Read-only file system" in ro.stderr
    readonly = clean("run", "--rm", "--read-only", "busybox", "touch", "/x")
    assert readonly.returncode == 1 and "Read-only file system" in readonly.stderr
    made = clean("run", "--rm", "-v", "/var/tmp/made-by-run/sub:/new", "busybox", "sh", "-c", "touch /new/x")
    assert made.returncode == 0 and clean.sh("stat -c %a /var/tmp/made-by-run/sub/x").returncode == 0
    clean.sh("rm -rf /var/tmp/made-by-run")
    script = ("awk '$2 == \"/cache\" {print $2, $3, ($4 ~ /noexec/)} $2 == \"/data\" {split($4, o, \",\"); print $2, o[1]}'"
              " /proc/mounts; touch /cache/x && echo written")  # fmt: skip
    mount = "type=bind,source=/var/tmp/vol,target=/data,readonly"
    mounted = clean.ok(
        "run", "--rm", "--tmpfs", "/cache:size=1m", "--mount", mount, "busybox", "sh", "-c", script
    )
    assert mounted == "/data ro\n/cache tmpfs 1\nwritten\n"
    limits = clean.ok(
        "run", "--rm", "--ulimit", "nofile=1024:2048", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"
    )
    assert limits == "1024\n2048\n"
    ep = clean("run", "--rm", "--entrypoint", "echo", "busybox", "a", "b")
    assert ep.stdout == "a b\n"
    net = clean("run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net")
    assert net.stdout == "lo\n"


def test_ps_formats_and_filters_as_docker(clean: Conman) -> None:
    up = clean.ok(
        "run", "-d", "--name", "web-1", "--label", "tier=front", "busybox", "sleep", "1000"
    ).strip()
    assert clean("run", "--name", "job", "busybox", "sh", "-c", "exit 4").returncode == 4
    clean.ok("create", "--name", "later", "busybox", "true")
    assert clean.ok("ps", "--format", "{{.Names}} {{.State}} {{.Image}}") == "web-1 running busybox:latest\n"
    assert clean.ok("ps", "-a", "--format", "table {{.Names}}\t{{.Status}}").splitlines()[0].split() == [
        "NAMES",
        "STATUS",
    ]
    assert clean.ok("ps", "-f", "status=exited", "--format", "{{.Names}}") == "job\n"
    assert clean.ok("ps", "-a", "-f", "exited=4", "-f", "name=^j", "--format", "{{.Names}}") == "job\n"
    assert clean.ok("ps", "-a", "-f", "label=tier=front", "-q", "--no-trunc") == up + "\n"
    assert sorted(clean.ok("ps", "-a", "-f", "ancestor=busybox", "--format", "{{.Names}}").split()) == [
        "job",
        "later",
        "web-1",
    ]
    statuses = ["ps", "-f", "status=created", "-f", "status=running", "--format", "{{.Names}}"]
    assert sorted(clean.ok(*statuses).split()) == ["later", "web-1"]
    assert clean.ok("ps", "-l", "--format", "{{.Names}}") == "later\n"
    assert clean.ok("ps", "-n", "2", "--format", "{{.Names}}").split() == ["later", "job"]
    assert (
        clean.ok("inspect", "-f", "{{.State.ExitCode}} {{json .Config.Labels}}", "web-1")
        == '0 {"tier":"front"}\n'
    )
    shape = "{{.RestartCount}} {{.Path}} {{json .Args}} {{.State.FinishedAt}} {{.Image}}"
    out = clean.ok("inspect", "-f", shape, "web-1")
    assert (
        out.startswith('0 sleep ["1000"] 0001-01-01T00:00:00Z sha256:')
        and len(out) == 71 + len('0 sleep ["1000"] 0001-01-01T00:00:00Z ') + 1
    )
    clean.ok("create", "--name", "mounted", "-v", "/var/tmp:/data:ro", "busybox", "true")
    mounts = "{{range .Mounts}}{{.Type}} {{.Source}} {{.Destination}} {{.Mode}} {{.RW}}{{end}}"
    assert clean.ok("inspect", "-f", mounts, "mounted") == "bind /var/tmp /data ro false\n"
    clean.ok("rm", "mounted")
    bad = clean("ps", "-f", "colour=red")
    assert (bad.returncode, bad.stderr) == (
        125,
        'Error: invalid filter "colour=red"\nHint: use KEY=VALUE, KEY one of name, id, label, status, ancestor, '
        "exited, network, publish\n",
    )
    bad = clean("ps", "--format", "{{.Nope}}")
    assert (bad.returncode, bad.stderr) == (125, 'Error: invalid format "{{.Nope}}": no field .Nope\n')
    clean.ok("rm", "-f", "web-1", "job", "later")


def test_a_container_cannot_speak_for_its_unit(clean: Conman) -> None:
    # The host's /run in the container: its sd_notify socket is masked (no MAINPID= of a host
    # process, which a stop would then kill); the rest of /run stays as the user asked.
    script = "test -S /h/systemd/notify && echo socket || echo masked; test -d /h/systemd && echo rest"
    assert clean.ok("run", "--rm", "-v", "/run:/h", "busybox", "sh", "-c", script) == "masked\nrest\n"
    whole = script.replace("/h/", "/host/run/")
    assert clean.ok("run", "--rm", "-v", "/:/host:ro", "busybox", "sh", "-c", whole) == "masked\nrest\n"


@pytest.mark.parametrize("interactive", [[], ["-i"]], ids=["journal", "io-server"])
def test_run_a_shows_only_the_streams_named(clean: Conman, interactive: list[str]) -> None:
    script = "echo out; echo err >&2; exit 4"
    for streams, out, err in ((["-a", "stdout"], "out\n", ""), (["-a", "STDERR"], "", "err\n"),
                              (["-a", "stdout", "-a", "stderr"], "out\n", "err\n")):  # fmt: skip
        proc = clean("run", "--rm", *interactive, *streams, "busybox", "sh", "-c", script, input="")
        assert (proc.returncode, proc.stdout, proc.stderr) == (4, out, err), streams


def test_start_ai_passes_stdin_and_ps_s_shows_what_a_container_wrote(clean: Conman) -> None:
    clean.ok("create", "-i", "--name", "talk", "busybox", "sh", "-c", "cat; exit 5")
    proc = clean("start", "-ai", "talk", input="hello\n")
    assert (proc.returncode, proc.stdout, proc.stderr) == (5, "hello\n", "")
    clean.ok(
        "run", "-d", "--name", "sized", "busybox", "sh", "-c", "head -c 100000 /dev/zero > /big; sleep 1000"
    )
    assert until(
        lambda: clean.ok("ps", "-s", "--format", "{{.Names}} {{.Size}}").startswith("sized 100kB (virtual ")
    )
    header = clean.ok("ps", "-s").splitlines()[0]
    assert header.split()[-1] == "SIZE", header
    clean.ok("rm", "-f", "talk", "sized")


def test_the_unit_s_status_line_says_how_the_container_ended(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "ended", "busybox", "sh", "-c", "exit 3")
    assert clean.ok("wait", "ended") == "3\n"
    unit = clean.ok("unit", "ended").strip()
    assert show(clean, unit, "StatusText")["StatusText"] == "container ended exited with code 3"
    clean.ok("rm", "ended")


def test_rename(clean: Conman) -> None:
    cid = clean.ok("run", "-d", "--name", "old", "busybox", "sleep", "1000").strip()
    clean.ok("create", "--name", "other", "busybox", "true")
    clean.ok("rename", "old", "new")
    assert clean.ok("inspect", "-f", "{{.Name}} {{.Id}}", "new") == f"new {cid}\n"
    assert clean("inspect", "old").stderr.startswith("Error: no such container: old\n")
    taken = clean("rename", "new", "other")
    assert (taken.returncode, taken.stderr) == (
        125,
        f'Error: the container name "other" is already in use by container {clean.ok("inspect", "-f", "{{.Id}}", "other")[:12]}\nHint: remove that container or choose another name\n',
    )
    bad = clean("container", "rename", "new", "a b")
    assert (bad.returncode, bad.stderr) == (
        125,
        'Error: invalid container name "a b": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*\n',
    )
    clean.ok("restart", "new")
    assert clean.ok("ps", "--format", "{{.Names}}") == "new\n"
    clean.ok("rm", "-f", "new", "other")


def test_container_prune_removes_what_does_not_run(clean: Conman) -> None:
    keep = clean.ok("run", "-d", "--name", "keep", "busybox", "sleep", "1000").strip()
    done = clean.ok("create", "--name", "done", "busybox", "sh", "-c", "echo x > /f")
    clean.ok("start", "-a", "done")
    pruned = clean.ok("container", "prune", "-f")
    assert pruned.startswith(f"Deleted Containers:\n{done.strip()}\n\nTotal reclaimed space: ")
    assert clean.ok("container", "ls", "-a", "-q", "--no-trunc") == keep + "\n"
    clean.ok("rm", "-f", "keep")


def test_a_read_only_volume_is_read_only_all_the_way_down(clean: Conman) -> None:
    # / holds other mounts (the sandbox's /run and /var/tmp are tmpfs): a plain ro bind of it
    # leaves them writable, a way for a container to write the host's systemd drop-ins.
    for inside in (
        "/host/run/conman-rro-test",
        "/host/var/tmp/conman-rro-test",
        "/host/etc/conman-rro-test",
    ):
        proc = clean("run", "--rm", "-v", "/:/host:ro", "busybox", "touch", inside)
        assert proc.returncode == 1 and "Read-only file system" in proc.stderr, (inside, proc.stderr)
    assert clean.sh("ls /run/conman-rro-test /var/tmp/conman-rro-test").returncode != 0


def test_each_container_gets_its_own_writable_layer(clean: Conman) -> None:
    clean.ok("run", "--rm", "busybox", "sh", "-c", "echo changed > /etc/hostname")
    assert clean.ok("run", "--rm", "busybox", "cat", "/etc/hostname") == "busybox\n"


def test_two_runs_of_one_name_at_once_have_one_winner(clean: Conman) -> None:
    argv = clean.system.argv(["conman", "run", "-d", "--name", "dup", "busybox", "sleep", "100"])
    procs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    results = sorted((p.wait(60), p.stderr.read() if p.stderr else "") for p in procs)
    for p in procs:
        for f in (p.stdout, p.stderr):
            if f:
                f.close()
    assert [r[0] for r in results] == [0, 125]
    assert re.fullmatch(r'Error: the container name "dup" is already in use by container [0-9a-f]{12}\n'
                        r"Hint: remove that container or choose another name\n", results[1][1])  # fmt: skip


def _foreground(clean: Conman, name: str, *args: str) -> subprocess.Popen[str]:
    proc = clean.system.popen(["conman", "run", "--name", name, *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"  # the container runs and the CLI follows its output
    return proc


READY_THEN = "echo ready; trap 'echo got-$0; exit 5' INT USR1; while true; do sleep 0.1; done"


def test_a_foreground_run_passes_signals_on_as_docker_s_sig_proxy(clean: Conman) -> None:
    # The CLI runs inside the sandbox: signal it there, by its pid in the sandbox's pid namespace.
    for sig in ("INT", "USR1"):
        proc = _foreground(clean, f"fg-{sig}", "--rm", "busybox", "sh", "-c", READY_THEN.replace("$0", sig))
        clean.sh(f"pkill -{sig} -f 'conman run --name fg-{sig}'")
        out, err = proc.communicate(timeout=30)
        assert (out, proc.returncode) == (f"got-{sig}\n", 5), err


def test_a_foreground_rm_run_whose_client_is_killed_is_still_removed(clean: Conman) -> None:
    proc = _foreground(clean, "orphaned", "--rm", "busybox", "sh", "-c", "echo ready; sleep 1")
    clean.sh("pkill -KILL -f 'conman run --name orphaned'")
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 30  # the unit's clean-up removes it when it ends, client or not
    while "orphaned" in clean.ok("ps", "-a", "--format", "{{.Names}}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert clean.ok("ps", "-a", "--format", "{{.Names}}") == ""
    assert clean.leftovers() == ""


def test_ctrl_c_still_ends_a_container_that_ignores_it(clean: Conman) -> None:
    # sleep as PID 1 ignores SIGINT (and SIGTERM): after --stop-timeout, the stop, then SIGKILL
    script = "echo ready; exec sleep 1000"
    proc = _foreground(clean, "fg", "--stop-timeout", "1", "busybox", "sh", "-c", script)
    clean.sh("pkill -INT -f 'conman run --name fg'")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 137, err
    assert json.loads(clean.ok("inspect", "fg"))[0]["State"]["Status"] == "exited"


def test_without_sig_proxy_a_signal_ends_only_the_client(clean: Conman) -> None:
    proc = _foreground(clean, "stays", "--sig-proxy=false", "busybox", "sh", "-c", READY_THEN)
    clean.sh("pkill -INT -f 'conman run --name stays'")
    out, err = proc.communicate(timeout=30)
    assert (out, err, proc.returncode) == ("", "", 130)
    assert json.loads(clean.ok("inspect", "stays"))[0]["State"]["Running"]
    clean.ok("rm", "-f", "stays")


def test_two_hundred_cycles_leave_nothing(clean: Conman) -> None:
    script = """
set -e
for i in $(seq 200); do
  conman create --name cycle busybox sleep 100 >/dev/null
  conman start cycle >/dev/null
  conman stop -t 0 cycle >/dev/null
  conman rm cycle >/dev/null
done
"""
    proc = clean.sh(script, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert clean.leftovers() == ""


def test_logs_time_filters_and_timestamps(clean: Conman) -> None:
    clean.ok("run", "--name", "stamped", "busybox", "echo", "hello")
    stamped = clean.ok("logs", "-t", "stamped")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z hello\n", stamped)
    assert clean.ok("logs", "--since", "1h", "stamped") == "hello\n"
    assert clean.ok("logs", "--until", "2000-01-01T00:00:00Z", "stamped") == ""


def test_no_line_is_lost_to_journald_rate_limits_with_log_rate_limit_none(clean: Conman) -> None:
    # journald's default limit (10000 lines per 30 s, scaled by free space) would drop most of these.
    clean.ok(
        "run", "-d", "--name", "flood", "--log-rate-limit", "none", "busybox", "sh", "-c", "seq 1 100000"
    )
    assert clean.ok("wait", "flood") == "0\n"
    clean.system.run(["journalctl", "--sync"])
    lines = clean.ok("logs", "flood", timeout=120).splitlines()
    assert len(lines) == 100000 and lines[0] == "1" and lines[-1] == "100000"


def test_debug_reaches_the_shim(clean: Conman) -> None:
    """--debug: the CLI's lines on stderr, the shim's (its runtime command lines) in the unit's journal."""
    proc = clean("--debug", "run", "--rm", "--name", "traced", "busybox", "true")
    assert proc.returncode == 0, proc.stderr
    unit = re.search(r"StartTransientUnit\('(conman-[0-9a-f]{64}\.service)'", proc.stderr)
    assert unit is not None, proc.stderr
    assert re.search(r"^conman: \[\d+\.\d{6}\] cli: run parsed", proc.stderr, re.M)
    clean.system.run(["journalctl", "--sync"])
    shim = clean.system.run(["journalctl", "-o", "cat", "-p", "debug", f"_SYSTEMD_UNIT={unit[1]}",
                             "SYSLOG_IDENTIFIER=conman-shim"]).stdout  # fmt: skip
    runtime = clean.runtime
    create = rf"^conman: \[[\d.]+\] \+ {runtime} --root /run/conman/{runtime} .* create "
    assert re.search(create, shim, re.M), shim
    assert re.search(create, proc.stderr, re.M), proc.stderr  # after the CLI's own lines, too
    assert re.search(r"shim: MAINPID handed over to \d+|shim: finished after exit code 0", shim), shim
    # The container's own output stays apart: `conman logs` never shows the shim's lines.
    assert clean.ok("--debug", "run", "--name", "quiet", "busybox", "echo", "hi") == "hi\n"
    assert clean.ok("logs", "quiet") == "hi\n"


def test_output_comes_back_byte_for_byte(clean: Conman) -> None:
    """A line of 5000 bytes, one longer than journald's LineMax (48 KiB, split into pieces), a NUL
    and a last line without newline: run and logs give back exactly what the container wrote.
    (One process writes it all: journald ends a line where another process goes on with it.)"""
    awk = ('BEGIN { printf "a%cb\\n", 0; y = sprintf("%5000s", ""); gsub(/ /, "y", y); print y; '
           'x = sprintf("%60000s", ""); gsub(/ /, "x", x); print x; printf "end" }')  # fmt: skip
    expected = "a\0b\n" + "y" * 5000 + "\n" + "x" * 60000 + "\nend"
    fg = clean("run", "--name", "bytes", "busybox", "awk", awk)
    assert (fg.returncode, fg.stdout == expected) == (0, True), fg.stdout[:200]
    assert clean.ok("logs", "bytes") == expected


def test_stdin_from_a_file_or_dev_null(clean: Conman) -> None:
    """Scripts and cron feed -i containers from files, which epoll refuses and poll takes."""
    proc = clean.sh("echo x > /var/tmp/in && conman run -i --rm busybox cat < /var/tmp/in; echo rc=$?")
    assert proc.stdout == "x\nrc=0\n", proc.stderr
    empty = clean.sh("conman run -i --rm busybox cat < /dev/null; echo rc=$?")
    assert empty.stdout == "rc=0\n", empty.stderr
    assert clean.leftovers() == ""


def test_dash_h_is_the_hostname_as_in_docker(clean: Conman) -> None:
    assert clean.ok("run", "--rm", "-h", "myhost", "busybox", "hostname") == "myhost\n"
    assert clean.ok("run", "--help").startswith("Usage: conman run [OPTIONS] IMAGE [COMMAND]...")


def test_the_container_s_hosts_file_names_it_and_is_conman_s(clean: Conman) -> None:
    out = clean.ok("run", "--rm", "--hostname", "web1", "--network", "none", "busybox", "sh", "-c",
                   "cat /etc/hosts; echo ---; cat /etc/resolv.conf; echo ---; echo x >> /etc/hosts && echo writable")  # fmt: skip
    hosts, resolv, written = out.split("---\n")
    assert hosts == "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tweb1\n"
    host_resolv = clean.sh("cat /etc/resolv.conf 2>/dev/null || echo '# The host has no /etc/resolv.conf.'")
    assert resolv == host_resolv.stdout
    assert written == "writable\n"
    proc = clean("run", "--rm", "--read-only", "busybox", "sh", "-c", "echo x >> /etc/hosts")
    assert proc.returncode == 1 and "Read-only file system" in proc.stderr


def test_system_check_starts_a_container_and_names_what_blocks_one(clean: Conman) -> None:
    images = clean.ok("images", "-q")
    out = clean.ok("system", "check")
    assert f"container:   ok (busybox true with {clean.runtime} ran in" in out
    assert clean.ok("images", "-q") == images and clean.leftovers() == ""
    # A store whose busybox lost its layer: every container of it fails, and the check says how.
    root = "/var/tmp/check-root"
    clean.sh(f"conman --root {root} image import busybox >/dev/null && rm -rf {root}/images/layers/*")
    proc = clean("--root", root, "system", "check")
    assert proc.returncode == 1
    assert "container:   failed" in proc.stdout
    assert proc.stderr.startswith("Error: a container cannot start here: "), proc.stderr
    clean.sh(f"rm -rf {root}")


def test_diff_lists_what_the_container_changed(clean: Conman) -> None:
    clean.ok("run", "--name", "changer", "busybox", "sh", "-c",
             "mkdir -p /srv/new && echo x > /srv/new/file && rm /bin/ls && echo y >> /etc/passwd")  # fmt: skip
    lines = clean.ok("diff", "changer").splitlines()
    for line in ("A /srv", "A /srv/new", "A /srv/new/file", "C /bin", "D /bin/ls", "C /etc/passwd"):
        assert line in lines, lines
    assert clean.ok("container", "diff", "changer") == "\n".join(lines) + "\n"
    clean.ok("rm", "changer")


def test_export_is_the_container_s_file_system_as_tar(clean: Conman) -> None:
    clean.ok("run", "--name", "exp", "busybox", "sh", "-c", "echo mine > /srv-file && rm /bin/ls")
    listing = clean.sh("conman export exp | tar -tf - | sort").stdout.splitlines()
    assert "./srv-file" in listing and "./bin/busybox" in listing and "./bin/ls" not in listing, listing
    clean.ok("export", "-o", "/var/tmp/exp.tar", "exp")
    assert clean.sh("tar -xOf /var/tmp/exp.tar ./srv-file").stdout == "mine\n"
    assert (
        clean.sh("awk '$2 ~ \"^/run/conman/\" {print $2}' /proc/mounts").stdout == ""
    )  # nothing left mounted
    clean.sh("rm /var/tmp/exp.tar")
    proc = clean("export", "nosuch")
    assert (proc.returncode, proc.stderr) == (
        125,
        "Error: no such container: nosuch\nHint: list containers with `conman ps -a`\n",
    )
    clean.ok("rm", "exp")


def test_cp_both_ways_running_or_stopped_never_through_a_container_symlink(clean: Conman) -> None:
    clean.ok("run", "-d", "--name", "box", "busybox", "sh", "-c",
             "mkdir -p /data && ln -sfn /etc /data/evil && echo in > /data/f && exec sleep 1000")  # fmt: skip
    assert until(lambda: clean("exec", "box", "test", "-e", "/data/f").returncode == 0)
    clean.sh("rm -rf /var/tmp/cpt && mkdir /var/tmp/cpt && echo host > /var/tmp/cpt/h")
    clean.ok("cp", "box:/data/f", "/var/tmp/cpt/")
    clean.ok("cp", "box:/data", "/var/tmp/cpt/d")
    assert (
        clean.sh("cat /var/tmp/cpt/f /var/tmp/cpt/d/f; readlink /var/tmp/cpt/d/evil").stdout
        == "in\nin\n/etc\n"
    )
    clean.ok("cp", "/var/tmp/cpt/h", "box:/data/")
    assert clean.ok("exec", "box", "cat", "/data/h") == "host\n"
    # The container's /data/evil -> /etc is its own /etc, never the host's.
    clean.ok("cp", "/var/tmp/cpt/h", "box:/data/evil/")
    assert clean.ok("exec", "box", "cat", "/etc/h") == "host\n"
    assert clean.sh("test -e /etc/h").returncode != 0
    clean.ok("cp", "box:/data/evil/h", "/var/tmp/cpt/via-link")
    assert clean.sh("cat /var/tmp/cpt/via-link").stdout == "host\n"
    assert clean.sh("conman cp box:/data/f - | tar -xOf -").stdout == "in\n"
    clean.ok("stop", "-t", "1", "box")  # stopped: its overlay, mounted for the copy only
    clean.ok("cp", "/var/tmp/cpt/h", "box:/stopped")
    clean.ok("cp", "box:/stopped", "/var/tmp/cpt/back")
    assert clean.sh("cat /var/tmp/cpt/back").stdout == "host\n"
    assert clean.sh("awk '$2 ~ \"^/run/conman/\" {print $2}' /proc/mounts").stdout == ""
    clean.ok("start", "box")
    assert clean.ok("exec", "box", "cat", "/stopped") == "host\n"
    proc = clean("cp", "/var/tmp/cpt/h", "/var/tmp/cpt/h2")
    assert (proc.returncode, proc.stderr) == (
        125, "Error: cp copies between a container and the host: one side must be CONTAINER:PATH\n"
    )  # fmt: skip
    proc = clean("cp", "box:/nosuch", "/var/tmp/cpt/")
    assert (proc.returncode, proc.stderr) == (
        125,
        "Error: /nosuch in the container: no such file or directory\n",
    )
    clean.sh("rm -rf /var/tmp/cpt")
    clean.ok("rm", "-f", "box")


def test_dns_and_extra_hosts_reach_the_container_s_files(clean: Conman) -> None:
    out = clean.ok("run", "--rm", "--dns", "192.0.2.53", "--dns-search", "corp.example", "--dns-option", "ndots:2",
                   "--add-host", "db:192.0.2.10", "--add-host", "v6=2001:db8::1", "busybox", "sh", "-c",
                   "grep -E '^(nameserver|search|options)' /etc/resolv.conf; tail -n 2 /etc/hosts")  # fmt: skip
    assert out == (
        "nameserver 192.0.2.53\nsearch corp.example\noptions ndots:2\n192.0.2.10\tdb\n2001:db8::1\tv6\n"
    )
    clean.ok(
        "create", "--name", "later", "--dns", "192.0.2.53", "--add-host", "db:192.0.2.10", "busybox", "true"
    )
    host_config = json.loads(clean.ok("inspect", "-f", "{{json .HostConfig}}", "later"))
    assert (host_config["Dns"], host_config["ExtraHosts"]) == (["192.0.2.53"], ["db:192.0.2.10"])
    clean.ok("rm", "later")


def test_network_container_joins_another_container_s_network(clean: Conman) -> None:
    cid = clean.ok(
        "run", "-d", "--name", "netowner", "--network", "none", "busybox", "sleep", "1000"
    ).strip()
    own = clean.ok("exec", "netowner", "readlink", "/proc/1/ns/net")
    # by name and by ID prefix, as docker takes either
    for ref in ("netowner", cid[:8]):
        joined = clean.ok(
            "run", "--rm", "--network", f"container:{ref}", "busybox", "readlink", "/proc/1/ns/net"
        )
        assert joined == own
    assert clean.ok("run", "--rm", "busybox", "readlink", "/proc/1/ns/net") != own
    clean.ok("create", "--name", "joiner", "--network", "container:netowner", "busybox", "true")
    assert clean.ok("inspect", "-f", "{{.HostConfig.NetworkMode}}", "joiner") == f"container:{cid}\n"
    clean.ok("stop", "-t", "0", "netowner")
    bad = clean("start", "-a", "joiner")
    assert (bad.returncode, bad.stderr) == (
        125, "Error: container netowner is not running: --network container:netowner joins its network\n"
    )  # fmt: skip
    clean.ok("rm", "joiner", "netowner")

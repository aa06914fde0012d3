"""conman-shim: the unit's ExecStart, ExecStop and ExecStopPost. Stdlib only: it runs on every start.

`start`: writes the OCI bundle, mounts the container's overlay, puts the container's cgroup inside
the unit's delegated cgroup, runs `runc create` + `runc start` with two journald streams as the
container's stdout and stderr, then hands MAINPID over to the container's init and exits: systemd
supervises the container directly from then on (facts.md, "Shim hand-over works").
`stop`: the stop signal, --stop-timeout, then SIGKILL. `cleanup`: records the exit, removes runc's
state, the mount and the runtime directory.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import subprocess
import sys
import time

from conman_systemd import runner
from conman_systemd.cgroups import CgroupMode, current_mode, read_proc
from conman_systemd.core import mounts, oci, systemd_io
from conman_systemd.core.removal import delete_runc_state, release, remove_state
from conman_systemd.core.spec import ContainerSpec
from conman_systemd.core.store import Paths, read_record, write_atomic, write_record
from conman_systemd.core.unit import success_exit_status
from conman_systemd.errors import EXIT_CANNOT_INVOKE, EXIT_ENGINE, EXIT_NOT_FOUND, ConmanError

PR_SET_CHILD_SUBREAPER = 36
KILL_GRACE = 5.0


def unit_cgroup() -> str:
    """The unit's cgroup, from the unified line of /proc/self/cgroup (or name=systemd's on v1)."""
    lines = dict(line.split(":", 2)[1:] for line in read_proc("cgroup").splitlines())
    return lines.get("") or lines.get("name=systemd") or "/"


def place_cgroups(paths: Paths, spec: ContainerSpec) -> str:
    """The container's cgroupsPath: <unit>/container. On cgroup v2 the shim leaves the unit's own
    cgroup for a leaf first: a delegated cgroup with a child may hold no process itself."""
    unit = unit_cgroup()
    if current_mode() is CgroupMode.V2 and unit != "/":
        leaf = f"/sys/fs/cgroup{unit}/supervisor"
        os.makedirs(leaf, exist_ok=True)
        with open(f"{leaf}/cgroup.procs", "w") as f:
            f.write("0")
    return f"{unit.rstrip('/')}/container"


def runc(paths: Paths, *args: str, **kw: object) -> None:
    runner.run(["runc", "--root", paths.runc_root, *args], **kw)  # type: ignore[arg-type]


def runc_error_code(text: str) -> int:
    """docker's codes for a container whose command cannot run (podman's oci_util.go does the same)."""
    lowered = text.lower()
    if "executable file not found" in lowered or "no such file or directory" in lowered:
        return EXIT_NOT_FOUND
    if "permission denied" in lowered or "operation not permitted" in lowered:
        return EXIT_CANNOT_INVOKE
    return EXIT_ENGINE


def prepare_bundle(paths: Paths, spec: ContainerSpec) -> None:
    for d in (paths.work(spec.id), paths.rootfs(spec.id), paths.runc_root):
        os.makedirs(d, mode=0o700, exist_ok=True)
    # The overlay's root directory takes the upper dir's mode: 0755, or a non-root user cannot
    # even resolve paths in its own container. (The container's state dir above it is 0700.)
    os.makedirs(paths.upper(spec.id), mode=0o755, exist_ok=True)

    mounts.umount(paths.rootfs(spec.id))  # a restart after a crash finds the old mount
    mounts.mount_overlay(spec.rootfs, paths.upper(spec.id), paths.work(spec.id), paths.rootfs(spec.id))
    config = oci.config(spec, paths.rootfs(spec.id), place_cgroups(paths, spec))
    write_atomic(os.path.join(paths.bundle(spec.id), "config.json"), json.dumps(config))


def runc_create(
    paths: Paths,
    spec: ContainerSpec,
    stdin: int,
    stdout: int,
    stderr: int,
    console_socket: str | None = None,
) -> int:
    """`runc create` with the given fds as the container's stdio; returns the init's pid."""
    pid_file = os.path.join(paths.run_dir(spec.id), "init.pid")
    delete_runc_state(paths, spec.id)  # left by a run whose clean-up never came (a crash)
    argv = ["runc", "--root", paths.runc_root, "--log", _runc_log(paths, spec.id), "--log-format", "json",
            "create", "--bundle", paths.bundle(spec.id), "--pid-file", pid_file]  # fmt: skip
    if console_socket:
        argv += ["--console-socket", console_socket]
    proc = runner.spawn([*argv, spec.id], stdin=stdin, stdout=stdout, stderr=stderr)
    if proc.wait() != 0:
        # runc also printed its error to the container's stderr; its log has it for us.
        raise _runc_failure(paths, spec, proc.returncode)
    with open(pid_file) as f:
        return int(f.read())


def create_and_start(paths: Paths, spec: ContainerSpec) -> int:
    """runc create + start with journald streams as stdio; returns the container init's pid."""
    out = systemd_io.journal_stream(spec.name, spec.unit, systemd_io.PRIORITY_INFO)
    err = systemd_io.journal_stream(spec.name, spec.unit, systemd_io.PRIORITY_ERR)
    try:
        pid = runc_create(paths, spec, subprocess.DEVNULL, out, err)
    finally:
        os.close(out)
        os.close(err)
    runc(paths, "start", spec.id)
    return pid


def _runc_failure(paths: Paths, spec: ContainerSpec, code: int) -> ConmanError:
    message = last_runc_error(_runc_log(paths, spec.id))
    return ConmanError(
        message or f"runc create failed with exit status {code}", exit_code=runc_error_code(message)
    )


def _runc_log(paths: Paths, cid: str) -> str:
    return os.path.join(paths.run_dir(cid), "runc.log")


def last_runc_error(log: str) -> str:
    try:
        with open(log) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError):
        return ""
    errors = [e.get("msg", "") for e in lines if e.get("level") in ("error", "fatal")]
    return errors[-1] if errors else ""


def exit_like(status: os.waitid_result | None) -> int:
    """Exit as the container did: the same code, or death by the same signal."""
    if status is None:
        return 0
    if status.si_code == os.CLD_EXITED:
        return status.si_status
    signal.signal(status.si_status, signal.SIG_DFL)
    os.kill(os.getpid(), status.si_status)
    return 128 + status.si_status


def start(paths: Paths, spec: ContainerSpec) -> int:
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1)  # the init stays our child until hand-over
    os.makedirs(paths.run_dir(spec.id), mode=0o700, exist_ok=True)
    prepare_bundle(paths, spec)
    if spec.interactive or spec.tty:
        from conman_systemd.shim_io import serve

        return serve(paths, spec)  # the shim stays: it owns the container's stdio
    pid = create_and_start(paths, spec)
    write_record(paths, spec.id, "started", started_at=time.time(), pid=pid)
    # READY=1 first, while we are the (live) main process: the start job is then done whatever
    # the container does next. Sent together with MAINPID, a container that exits at once can
    # make systemd see a dead main process at READY and fail the start.
    systemd_io.notify(f"READY=1\nSTATUS=container {spec.name} is running (init pid {pid})")
    systemd_io.notify_barrier()
    systemd_io.notify(f"MAINPID={pid}")
    systemd_io.notify_barrier()
    # systemd refuses a MAINPID that already exited; then we are still the main process and exit
    # as the container did. WNOWAIT: a zombie left to systemd still gives it the exit status.
    status = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    if status is not None:
        # Gone already (`true`): clean up now, which spares the unit a clean-up process.
        finish(paths, spec, exit_code(status), result_of(spec, status))
    return exit_like(status)


def stop(paths: Paths, spec: ContainerSpec) -> int:
    try:
        with open(paths.stop_timeout(spec.id)) as f:
            timeout = float(f.read())
    except (OSError, ValueError):
        timeout = spec.stop_timeout
    # The container's init, as recorded at start: with -i/-t the main process is the shim.
    started = read_record(paths, spec.id, "started") or {}
    try:
        pidfd = os.pidfd_open(int(started.get("pid") or os.environ["MAINPID"]))
    except (KeyError, ValueError, ProcessLookupError):
        return 0  # already gone
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    for sig, wait in ((spec.stop_signal, timeout), (signal.SIGKILL, KILL_GRACE)):
        try:
            signal.pidfd_send_signal(pidfd, sig)
        except ProcessLookupError:
            break
        if poller.poll(wait * 1000):
            break
    os.close(pidfd)
    return 0


def _exit_code_from_env() -> int | None:
    code, status = os.environ.get("EXIT_CODE"), os.environ.get("EXIT_STATUS", "")
    if code == "exited" and status.isdigit():
        return int(status)
    if code in ("killed", "dumped"):
        name = status if status.startswith("SIG") else f"SIG{status}"
        try:
            return 128 + int(signal.Signals[name])
        except KeyError:
            return None
    return None


def cleanup(paths: Paths, spec: ContainerSpec) -> int:
    finish(paths, spec, _exit_code_from_env(), os.environ.get("SERVICE_RESULT", ""))
    return 0


def finish(paths: Paths, spec: ContainerSpec, code: int | None, result: str) -> None:
    """After the container's end: record it, release the run, apply --rm and on-failure:N."""
    write_record(paths, spec.id, "exit", finished_at=time.time(), exit_code=code, result=result)
    release(paths, spec.id)  # removes the runtime dir: the unit's ExecStopPost then has nothing to do
    if spec.restart_max and result != "success":
        _end_restarts_after(spec, spec.restart_max)
    if spec.remove_on_exit:
        remove_state(paths, spec.id, spec.name)


def exit_code(status: os.waitid_result) -> int:
    return status.si_status if status.si_code == os.CLD_EXITED else 128 + status.si_status


# Deaths systemd counts as clean for any service; the unit's SuccessExitStatus= adds more.
_CLEAN_SIGNALS = {signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE}


def result_of(spec: ContainerSpec, status: os.waitid_result) -> str:
    """The Result= systemd will give this exit (what $SERVICE_RESULT says in ExecStopPost)."""
    codes, signals = success_exit_status(spec)
    if status.si_code == os.CLD_EXITED:
        return "success" if status.si_status == 0 or status.si_status in codes else "exit-code"
    return "success" if status.si_status in _CLEAN_SIGNALS | set(signals) else "signal"


def _end_restarts_after(spec: ContainerSpec, limit: int) -> None:
    """on-failure:N. systemd's start limit would count the refused start as a restart too
    (NRestarts = N+1); a stop job queued now, while the unit is in stop-post, ends it with
    NRestarts = N: systemd never restarts a unit someone asked to stop."""
    from conman_systemd.dbus import messages
    from conman_systemd.dbus.bus import Bus

    with Bus() as bus:
        (restarts,) = bus.call(messages.get_property(messages.unit_path(spec.unit), messages.SERVICE_IFACE,
                                                     "NRestarts"))  # fmt: skip
        if int(restarts[1]) >= limit:
            bus.call(messages.stop_unit(spec.unit))


VERBS = {"start": start, "stop": stop, "cleanup": cleanup}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 6 or args[0] not in VERBS or args[1] != "--root" or args[3] != "--runroot":
        print("usage: conman-shim start|stop|cleanup --root DIR --runroot DIR ID", file=sys.stderr)
        return 2
    verb, root, runroot, cid = args[0], args[2], args[4], args[5]
    paths = Paths(root, runroot)
    try:
        with open(paths.spec(cid)) as f:
            spec = ContainerSpec.from_json(f.read())
        return VERBS[verb](paths, spec)
    except ConmanError as e:
        return _fail(paths, cid, verb, e.message, e.exit_code)
    except OSError as e:
        return _fail(paths, cid, verb, str(e), EXIT_ENGINE)


def _fail(paths: Paths, cid: str, verb: str, message: str, code: int) -> int:
    text = f"conman-shim {verb}: {message}"
    if not systemd_io.journal_send(
        text, systemd_io.PRIORITY_ERR, SYSLOG_IDENTIFIER="conman-shim", CONTAINER_ID_FULL=cid
    ):
        print(text, file=sys.stderr)
    if verb == "start":
        try:
            write_record(paths, cid, "error", message=message, exit_code=code, at=time.time())
        except OSError:
            pass
    return code


if __name__ == "__main__":
    sys.exit(main())

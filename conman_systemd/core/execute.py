"""`conman exec`: a new process in a running container's namespaces and cgroup, through `runc exec`."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Sequence

from conman_systemd import runner
from conman_systemd.core.lifecycle import Lifecycle
from conman_systemd.core.spec import ContainerSpec
from conman_systemd.errors import EXIT_ENGINE, ConmanError


def runc_failure(log: str) -> str | None:
    """runc's own error (not the process's), from its JSON log."""
    from conman_systemd.shim import last_runc_error

    return last_runc_error(log) or None


def exec_code(message: str) -> int:
    from conman_systemd.shim import runc_error_code

    if "cwd" in message:  # a working directory that does not exist is a bad option, not a command
        return EXIT_ENGINE
    return runc_error_code(message)


DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _lookup(root: str, command: str, path: str) -> str | None:
    """Where command is inside the container (root = /proc/<init>/root), as exec would look."""
    dirs = [""] if "/" in command else path.split(":")
    for d in dirs:
        candidate = os.path.normpath(f"{root}/{d}/{command}")
        if os.path.isfile(candidate):
            return candidate
    return None


def precheck(spec: ContainerSpec, init_pid: int, command: str, workdir: str | None) -> None:
    """Say what runc would say, before runc writes it to the user's own stderr too."""
    root = f"/proc/{init_pid}/root"
    if workdir and not os.path.isdir(root + workdir):
        raise ConmanError(
            f'exec failed: the working directory "{workdir}" does not exist in container {spec.name}'
        )
    path = next((e[5:] for e in spec.env if e.startswith("PATH=")), DEFAULT_PATH)
    found = _lookup(root, command, path)
    prefix = "exec failed: unable to start container process: exec"
    if found is None:
        raise ConmanError(f'{prefix}: "{command}": executable file not found in $PATH', exit_code=127)
    if not os.access(found, os.X_OK):
        raise ConmanError(f'{prefix}: "{command}": permission denied', exit_code=126)


def execute(
    lc: Lifecycle,
    spec: ContainerSpec,
    command: Sequence[str],
    *,
    interactive: bool,
    tty: bool,
    detach: bool,
    env: Sequence[str],
    workdir: str | None,
    user: tuple[int, int] | None,
) -> int:
    if not lc.state(spec).is_running:
        raise ConmanError(
            f"container {spec.name} is not running", hint=f"start it with `conman start {spec.name}`"
        )
    started = lc.store.records(spec.id).get("started", {})
    precheck(spec, int(started.get("pid", 0)), command[0], workdir)
    log = os.path.join(lc.paths.run_dir(spec.id), f"exec-{secrets.token_hex(4)}.log")

    argv = ["runc", "--root", lc.paths.runc_root, "--log", log, "--log-format", "json", "exec"]
    if tty and not detach:
        argv.append("--tty")
    if detach:
        argv.append("--detach")
    for item in env:
        argv += ["--env", item]
    if workdir:
        argv += ["--cwd", workdir]
    if user:
        argv += ["--user", f"{user[0]}:{user[1]}"]
    argv += [spec.id, *command]
    quiet = subprocess.DEVNULL if detach else None
    try:
        proc = runner.spawn(
            argv, stdin=None if interactive else subprocess.DEVNULL, stdout=quiet, stderr=quiet
        )
        code = proc.wait()
        failure = runc_failure(log)
    finally:
        try:
            os.unlink(log)
        except FileNotFoundError:
            pass
    if failure:
        raise ConmanError(failure, exit_code=exec_code(failure))
    return code

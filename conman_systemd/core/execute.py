"""`conman exec`: a new process in a running container's namespaces and cgroup, through the runtime."""

from __future__ import annotations

import os

from conman_systemd import runner
from conman_systemd.container import oci
from conman_systemd.container.runtime import Runtime, exit_code_for, last_error
from conman_systemd.core.containers import not_running
from conman_systemd.errors import EXIT_ENGINE, ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from conman_systemd.container.spec import ContainerSpec
    from conman_systemd.core.lifecycle import Lifecycle

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def exec_code(message: str) -> int:
    if "cwd" in message:  # a working directory that does not exist is a bad option, not a command
        return EXIT_ENGINE
    return exit_code_for(message)


def _lookup(root: str, command: str, path: str) -> str | None:
    """Where command is inside the container (root = /proc/<init>/root), as exec would look."""
    dirs = [""] if "/" in command else path.split(":")
    for d in dirs:
        candidate = os.path.normpath(f"{root}/{d}/{command}")
        if os.path.isfile(candidate):
            return candidate
    return None


def precheck(spec: ContainerSpec, init_pid: int, command: str, workdir: str | None) -> None:
    """Say what the runtime would say (in runc's words), before it writes to the user's own stderr."""
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
    info = lc.info(spec)
    if not info.running:
        raise not_running(spec)
    precheck(spec, info.pid, command[0], workdir)
    log = os.path.join(lc.paths.run_dir(spec.id), f"exec-{os.urandom(4).hex()}.log")
    environment = [*oci.environment(spec), *env] if env else []
    argv = Runtime(spec.runtime, lc.paths).exec_argv(
        spec.id, command, log, tty=tty, detach=detach, env=environment, workdir=workdir, user=user
    )

    quiet = runner.DEVNULL if detach else None
    try:
        code = runner.spawn(
            argv, stdin=None if interactive else runner.DEVNULL, stdout=quiet, stderr=quiet
        ).wait()
        failure = last_error(log)  # the runtime's own error, not the process's
    finally:
        try:
            os.unlink(log)
        except FileNotFoundError:
            pass
    if failure:
        raise ConmanError(failure, exit_code=exec_code(failure))
    return code

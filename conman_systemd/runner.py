"""The one gateway for external commands (crun, runc, cp, tar, ...).

Every child gets an environment built here on purpose: never the caller's os.environ. That is
where NOTIFY_SOCKET is kept away from the OCI runtime (runc would make `runc start` wait for the
container's READY=1). Children start through posix_spawn(3): `subprocess` costs ~10 ms to import
in the shim, which runs on every container start. Stdlib only.
"""

from __future__ import annotations

import os
import select
import time

from conman_systemd.errors import CommandFailed, ConmanError
from conman_systemd.frozen import Frozen
from conman_systemd.log import debug, quote

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Passed through when set: they change how tools talk, not what they do.
_PASS_THROUGH = ("TERM", "SYSTEMD_LOG_LEVEL", "CONMAN_DEBUG")
DEVNULL = -3  # a child's stdio: /dev/null (None: inherit ours; an int >= 0: that fd)


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", DEFAULT_PATH), "LANG": "C.UTF-8"}
    env.update({k: os.environ[k] for k in _PASS_THROUGH if k in os.environ})
    env.update(extra or {})
    return env


def find_binary(name: str) -> str | None:
    if "/" in name:
        return name if os.access(name, os.X_OK) else None
    for directory in os.environ.get("PATH", DEFAULT_PATH).split(":"):
        path = os.path.join(directory or ".", name)
        if os.access(path, os.X_OK) and not os.path.isdir(path):
            return path
    return None


class Result(Frozen):
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class Child:
    """A started command; wait() for its exit status (negative: killed by that signal)."""

    def __init__(self, argv: Sequence[str], pid: int) -> None:
        self.argv = list(argv)
        self.pid = pid
        self.returncode: int | None = None

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


def _file_actions(stdio: Sequence[int | None]) -> list[tuple[int, ...] | tuple[int, int, str, int, int]]:
    actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = []
    for target, source in enumerate(stdio):
        if source == DEVNULL:
            flags = os.O_RDONLY if target == 0 else os.O_WRONLY
            actions.append((os.POSIX_SPAWN_OPEN, target, os.devnull, flags, 0))
        elif source is not None and source != target:
            actions.append((os.POSIX_SPAWN_DUP2, source, target))
    return actions


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin: int | None = DEVNULL,
    stdout: int | None = None,
    stderr: int | None = None,
    setsid: bool = False,
) -> Child:
    """Start argv and return at once; the caller waits. stdio: DEVNULL, None (ours) or an fd."""
    debug("+ " + quote(argv))
    path = find_binary(argv[0])
    if path is None:
        raise ConmanError(f"{argv[0]} not found.", hint=f"install {os.path.basename(argv[0])} and retry")
    actions = _file_actions((stdin, stdout, stderr))
    pid = os.posix_spawn(path, list(argv), child_env(env), file_actions=actions, setsid=setsid)
    return Child(argv, pid)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    check: bool = True,
    timeout: float | None = None,
    show: int | None = None,
) -> Result:
    """Run argv to completion, capturing its output (with `show`, an fd, its stdout goes there:
    a tool's progress for the user to see). Raises CommandFailed (with the tool's own stderr)
    when check is on and it fails."""
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        child = spawn(argv, env=env, stdout=out_w if show is None else show, stderr=err_w)
    finally:
        os.close(out_w)
        os.close(err_w)
    output = _read_all((out_r, err_r), child, timeout)
    result = Result(argv=tuple(argv), returncode=child.wait(), stdout=output[0], stderr=output[1])
    if check and result.returncode != 0:
        raise CommandFailed(list(argv), result.returncode, result.stderr)
    return result


def _read_all(fds: tuple[int, int], child: Child, timeout: float | None) -> tuple[str, str]:
    """Both pipes to their end, read together: a full pipe would block the child."""
    chunks: dict[int, list[bytes]] = {fd: [] for fd in fds}
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    deadline = None if timeout is None else time.monotonic() + timeout
    left = set(fds)
    try:
        while left:
            wait_ms = None if deadline is None else max(0.0, deadline - time.monotonic()) * 1000
            events = poller.poll(wait_ms)
            if not events:
                os.kill(child.pid, 9)
                child.wait()
                raise ConmanError(f"{os.path.basename(child.argv[0])} did not finish in {timeout:.0f} s")
            for fd, _ in events:
                if data := os.read(fd, 65536):
                    chunks[fd].append(data)
                else:
                    poller.unregister(fd)
                    left.discard(fd)
    finally:
        for fd in fds:
            os.close(fd)
    out, err = (b"".join(chunks[fd]).decode(errors="replace") for fd in fds)
    return out, err

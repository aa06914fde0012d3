"""The one gateway for external commands (runc, journalctl, nsenter, unshare, ...).

Every child gets an environment built here on purpose: never the caller's os.environ. That is
where NOTIFY_SOCKET is kept away from runc (runc would make `runc start` wait for the
container's READY=1). Stdlib only: the shim uses it on every container start.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from typing import IO, Any

from conman_systemd.errors import CommandFailed, ConmanError
from conman_systemd.log import debug

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Passed through when set: they change how tools talk, not what they do.
_PASS_THROUGH = ("TERM", "SYSTEMD_LOG_LEVEL", "CONMAN_DEBUG")

Stream = int | IO[Any] | None


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", DEFAULT_PATH), "LANG": "C.UTF-8"}
    env.update({k: os.environ[k] for k in _PASS_THROUGH if k in os.environ})
    env.update(extra or {})
    return env


def find_binary(name: str) -> str | None:
    return shutil.which(name, path=os.environ.get("PATH", DEFAULT_PATH))


def _not_found(argv: Sequence[str]) -> ConmanError:
    return ConmanError(f"{argv[0]} not found.", hint=f"install {os.path.basename(argv[0])} and retry")


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    check: bool = True,
    capture: bool = True,
    timeout: float | None = None,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run argv to completion. Raises CommandFailed (with the tool's own stderr) when check is on."""
    debug("+ " + shlex.join(argv))
    try:
        proc = subprocess.run(
            list(argv),
            env=child_env(env),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=capture,
            text=True,
            timeout=timeout,
            cwd=cwd,
            check=False,
        )
    except FileNotFoundError:
        raise _not_found(argv) from None
    if check and proc.returncode != 0:
        raise CommandFailed(list(argv), proc.returncode, proc.stderr or "")
    return proc


def spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin: Stream = subprocess.DEVNULL,
    stdout: Stream = None,
    stderr: Stream = None,
    pass_fds: Sequence[int] = (),
    cwd: str | None = None,
    start_new_session: bool = False,
) -> subprocess.Popen[bytes]:
    """Start argv and return at once; the caller waits."""
    debug("+ " + shlex.join(argv))
    try:
        return subprocess.Popen(
            list(argv),
            env=child_env(env),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            pass_fds=tuple(pass_fds),
            cwd=cwd,
            start_new_session=start_new_session,
        )
    except FileNotFoundError:
        raise _not_found(argv) from None

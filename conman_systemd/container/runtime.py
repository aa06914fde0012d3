"""The OCI runtime (crun or runc): every command line conman gives it, and its errors.

Both take the same commands and flags for what conman does; each keeps its state under its own
`--root` and writes its errors as JSON lines to `--log`, which is where the messages users see come
from. Stdlib only: the shim starts containers through it.
"""

from __future__ import annotations

import os

from conman_systemd import fastjson, runner
from conman_systemd.errors import EXIT_CANNOT_INVOKE, EXIT_ENGINE, EXIT_NOT_FOUND, ConmanError
from conman_systemd.log import debug

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from conman_systemd.container.paths import Paths


def exit_code_for(message: str) -> int:
    """docker's codes for a container whose command cannot run (podman's oci_util.go does the same)."""
    lowered = message.lower()
    if "executable file" in lowered and "not found" in lowered or "no such file or directory" in lowered:
        return EXIT_NOT_FOUND
    if "permission denied" in lowered or "operation not permitted" in lowered:
        return EXIT_CANNOT_INVOKE
    return EXIT_ENGINE


def last_error(log: str) -> str:
    """The runtime's last error from its JSON log ("" when it logged none)."""
    try:
        with open(log) as f:
            lines = [fastjson.loads(line) for line in f if line.strip()]
    except (OSError, ValueError):
        return ""
    errors = [
        str(e.get("msg", "")) for e in lines if isinstance(e, dict) and e.get("level") in ("error", "fatal")
    ]
    return errors[-1] if errors else ""


class Runtime:
    """One OCI runtime with conman's state root for it."""

    def __init__(self, name: str, paths: Paths) -> None:
        self.name = name
        self.paths = paths
        self.root = paths.runtime_root(name)

    def _argv(self, log: str | None, *args: str) -> list[str]:
        logging = ["--log", log, "--log-format", "json"] if log else []
        return [self.name, "--root", self.root, *logging, *args]

    def failure(self, log: str, returncode: int, verb: str) -> ConmanError:
        """The runtime's own message (prefixed with its name when it does not say it), with the
        exit code docker would give."""
        message = last_error(log) or f"{verb} failed with exit status {returncode}"
        if not message.startswith(self.name):
            message = f"{self.name}: {message}"
        return ConmanError(message, exit_code=exit_code_for(message))

    def _bundle(self, cid: str) -> list[str]:
        return ["--bundle", self.paths.container(cid), "--pid-file", self.paths.init_pid(cid)]

    def create(self, cid: str, stdio: Sequence[int], console_socket: str | None = None) -> None:
        """Create the container, its process waiting for start(); stdio are the fds that process
        gets as stdin, stdout and stderr. Two steps rather than `run --detach`, which costs the
        same here: crun's run --detach can reap a process that exits at once, and its exit
        status is then lost. After create the init is ours (a subreaper's) until its end."""
        console = ["--console-socket", console_socket] if console_socket else []
        self._wait(cid, ["create", *self._bundle(cid), *console, cid], stdio)

    def start_argv(self, cid: str) -> list[str]:
        return self._argv(None, "start", cid)

    def start(self, cid: str) -> None:
        runner.run(self.start_argv(cid))
        debug(f"{self.name} start: done")

    def pause(self, cid: str) -> None:
        runner.run(self._argv(None, "pause", cid))

    def resume(self, cid: str) -> None:
        runner.run(self._argv(None, "resume", cid))

    def delete(self, cid: str) -> None:
        """Forget the container's state, killing what is left of it (nothing when there is none)."""
        if os.path.isdir(os.path.join(self.root, cid)):
            runner.run(self._argv(None, "delete", "--force", cid), check=False)

    def exec_argv(self, cid: str, command: Sequence[str], log: str, *, tty: bool, detach: bool,
                  env: Sequence[str], workdir: str | None,
                  user: tuple[int, int] | None) -> list[str]:  # fmt: skip
        options = ["--tty"] if tty and not detach else []
        options += ["--detach"] if detach else []
        # crun's --env replaces the process's environment (runc's adds to it): give the whole.
        for item in env:
            options += ["--env", item]
        options += ["--cwd", workdir] if workdir else []
        options += ["--user", f"{user[0]}:{user[1]}"] if user else []
        return self._argv(log, "exec", *options, cid, *command)

    def _wait(self, cid: str, args: list[str], stdio: Sequence[int]) -> None:
        log = self.paths.runtime_log(cid)
        stdin, stdout, stderr = stdio
        code = runner.spawn(self._argv(log, *args), stdin=stdin, stdout=stdout, stderr=stderr).wait()
        debug(f"{self.name} {args[0]}: exit status {code}")
        if code != 0:
            # The runtime also printed its error to the container's stderr; its log has it for us.
            raise self.failure(log, code, args[0])

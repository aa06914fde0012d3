"""The `conman` command.

`conman run`, `create`, `exec` and `ps` are parsed straight from the option table when their
command line is plain (cli/fast.py): click costs ~20 ms to import, more than a container start's
own work. Everything else, and any line the fast parser is unsure of (help, a bad value, an
unknown flag), goes to click (cli/app.py), which also prints the help and usage errors of those
four: one table, the same options either way.
"""

from __future__ import annotations

import os
import sys

from conman_systemd.container.paths import Paths
from conman_systemd.errors import EXIT_ENGINE, ConmanError, quoted
from conman_systemd.frozen import Frozen
from conman_systemd.log import debug_enabled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_ROOT = "/var/lib/conman"
DEFAULT_RUNROOT = "/run/conman"


class App(Frozen):
    """What every command needs: where state lives."""

    root: str
    runroot: str

    @property
    def paths(self) -> Paths:
        return Paths(root=self.root, runroot=self.runroot)

    @classmethod
    def from_environment(cls, root: str | None = None, runroot: str | None = None) -> App:
        app = cls(
            root=root or os.environ.get("CONMAN_ROOT") or DEFAULT_ROOT,
            runroot=runroot or os.environ.get("CONMAN_RUNROOT") or DEFAULT_RUNROOT,
        )
        _check_path("--root", app.root)
        _check_path("--runroot", app.runroot)
        return app


# The paths go into the unit's command lines: systemd reads $ (variables), % (specifiers), ; \
# quotes and spaces there when it loads the unit again after a daemon-reload.
_PATH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+@=,:~")


def _check_path(option: str, path: str) -> None:
    if not path.startswith("/") or not _PATH_CHARS.issuperset(path):
        raise ConmanError(
            f"invalid {option} {quoted(path)}: use an absolute path of letters, digits and /._-+@=,:~",
            hint="systemd would read the other characters in the unit's command lines",
        )


def report(error: ConmanError) -> int:
    """A failure as the user sees it: `Error: message`, maybe `Hint: ...`; its exit code."""
    print(f"Error: {error.message}", file=sys.stderr, flush=True)
    if error.hint:
        print(f"Hint: {error.hint}", file=sys.stderr, flush=True)
    return error.exit_code


def run_guarded(command: Callable[[], int | None]) -> int:
    """command() with every failure turned into one line: no traceback unless --debug."""
    try:
        code = command()
    except ConmanError as e:
        if debug_enabled():
            raise
        return report(e)
    except KeyboardInterrupt:
        print("\nAborted!", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Whoever read our output stopped (`conman ps | head`): end quietly, as a shell tool does.
        return 128 + 13
    except OSError as e:
        # What the core did not foresee (a full disk, a vanished file): still one line.
        if debug_enabled():
            raise
        where = f": {e.filename}" if e.filename else ""
        return report(ConmanError(f"{e.strerror or e}{where}", exit_code=EXIT_ENGINE))
    return int(code or 0)


def main() -> None:
    argv = sys.argv[1:]

    def command() -> int:
        from conman_systemd.cli.fast import dispatch

        code = dispatch(argv)
        if code is None:
            from conman_systemd.cli.app import click_main

            code = click_main(argv)
        return code

    code = run_guarded(command)
    _exit_now(code)


def _exit_now(code: int) -> None:
    """Exit without the interpreter's teardown of every module (~1.5 ms of each command): flush
    what we wrote; nothing else of ours needs finishing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # a reader that went away, a stream already closed
            pass
    os._exit(code)

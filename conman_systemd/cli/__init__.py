"""The `conman` command: a root group whose subcommands are imported only when they run."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Any

import click

from conman_systemd import __version__
from conman_systemd.core.store import Paths
from conman_systemd.errors import ConmanError
from conman_systemd.log import debug_enabled, set_debug

DEFAULT_ROOT = "/var/lib/conman"
DEFAULT_RUNROOT = "/run/conman"

# command name -> "module:attribute"; modules load only when their command runs.
COMMANDS = {
    "system": "conman_systemd.cli.system:system",
    "info": "conman_systemd.cli.system:info",
    "sandbox": "conman_systemd.cli.sandbox:sandbox",
    "run": "conman_systemd.cli.run:run",
    "create": "conman_systemd.cli.run:create",
    "start": "conman_systemd.cli.container:start",
    "stop": "conman_systemd.cli.container:stop",
    "restart": "conman_systemd.cli.container:restart",
    "kill": "conman_systemd.cli.container:kill",
    "rm": "conman_systemd.cli.container:rm",
    "wait": "conman_systemd.cli.container:wait",
    "unit": "conman_systemd.cli.container:unit",
    "ps": "conman_systemd.cli.ps:ps",
    "inspect": "conman_systemd.cli.ps:inspect",
    "logs": "conman_systemd.cli.logs:logs",
    "image": "conman_systemd.cli.image:image",
    "attach": "conman_systemd.cli.interactive:attach",
    "exec": "conman_systemd.cli.interactive:exec_",
}


@dataclass(frozen=True)
class App:
    """What every command needs: where state lives."""

    root: str
    runroot: str

    @property
    def paths(self) -> Paths:
        return Paths(self.root, self.runroot)


class Failure(click.ClickException):
    """A ConmanError as click shows it: `Error: message`, an optional hint line, its exit code."""

    def __init__(self, error: ConmanError) -> None:
        super().__init__(error.message)
        self.exit_code = error.exit_code
        self.hint = error.hint

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.message}", err=True)
        if self.hint:
            click.echo(f"Hint: {self.hint}", err=True)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="conman")
@click.option("--debug", is_flag=True, help="Show every external command and D-Bus call.")
@click.option(
    "--root",
    default=DEFAULT_ROOT,
    show_default=True,
    envvar="CONMAN_ROOT",
    help="Where containers' state and images live.",
)
@click.option(
    "--runroot",
    default=DEFAULT_RUNROOT,
    show_default=True,
    envvar="CONMAN_RUNROOT",
    help="Where runtime state (runc's, sockets) lives.",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, root: str, runroot: str) -> None:
    """Run containers as systemd services."""
    if debug:
        set_debug(True)
    ctx.obj = App(root=root, runroot=runroot)


def main() -> None:
    try:
        cli.main(prog_name="conman", standalone_mode=False)
    except ConmanError as e:
        if debug_enabled():
            raise
        Failure(e).show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(130)
    except OSError as e:
        # What the core did not foresee (a full disk, a vanished file): still one line, no traceback.
        if debug_enabled():
            raise
        where = f": {e.filename}" if e.filename else ""
        Failure(ConmanError(f"{e.strerror or e}{where}")).show()
        sys.exit(125)
    except click.ClickException as e:
        e.show()
        # Usage errors are conman's errors too (docker: 125 for a bad flag).
        sys.exit(125 if isinstance(e, click.UsageError) else e.exit_code)
    sys.exit(0)

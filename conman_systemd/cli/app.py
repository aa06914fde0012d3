"""The click side of `conman`: a root group whose subcommands are imported only when they run.

The table commands (cli/table.py) get their click options generated from the option table.
"""

from __future__ import annotations

import importlib

import click

from conman_systemd import __version__
from conman_systemd.cli import DEFAULT_ROOT, DEFAULT_RUNROOT, App
from conman_systemd.cli.bools import Flags, normalize
from conman_systemd.cli.table import COMMANDS as TABLE_COMMANDS
from conman_systemd.core.flags import FLAG, LIST, SWITCH
from conman_systemd.errors import EXIT_ENGINE
from conman_systemd.log import set_debug

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.cli.table import Command
    from conman_systemd.core.flags import Argument, Option

# command name -> "module:attribute"; modules load only when their command runs.
COMMANDS = {
    "system": "conman_systemd.cli.system:system",
    "info": "conman_systemd.cli.system:info",
    "sandbox": "conman_systemd.cli.sandbox:sandbox",
    "start": "conman_systemd.cli.container:start",
    "stop": "conman_systemd.cli.container:stop",
    "restart": "conman_systemd.cli.container:restart",
    "kill": "conman_systemd.cli.container:kill",
    "rm": "conman_systemd.cli.container:rm",
    "wait": "conman_systemd.cli.container:wait",
    "unit": "conman_systemd.cli.container:unit",
    "inspect": "conman_systemd.cli.inspect:inspect",
    "logs": "conman_systemd.cli.logs:logs",
    "image": "conman_systemd.cli.image:image",
    "volume": "conman_systemd.cli.volume:volume",
    "network": "conman_systemd.cli.network:network",
    "healthcheck": "conman_systemd.cli.health:healthcheck",
    # docker's top-level spellings of image commands
    "images": "conman_systemd.cli.image:ls",
    "pull": "conman_systemd.cli.image:pull",
    "load": "conman_systemd.cli.image:load",
    "save": "conman_systemd.cli.image:save",
    "rmi": "conman_systemd.cli.image:rm",
    "tag": "conman_systemd.cli.image:tag",
    "history": "conman_systemd.cli.image:history",
    "import": "conman_systemd.cli.image:import_",
    "attach": "conman_systemd.cli.interactive:attach",
    "container": "conman_systemd.cli.app:container",
    "rename": "conman_systemd.cli.container:rename",
    "version": "conman_systemd.cli.system:version",
    "generate": "conman_systemd.cli.declared:generate",
    "diff": "conman_systemd.cli.files:diff",
    "export": "conman_systemd.cli.files:export",
    "port": "conman_systemd.cli.files:port",
    "cp": "conman_systemd.cli.files:cp",
    "update": "conman_systemd.cli.resources:update",
    "pause": "conman_systemd.cli.resources:pause",
    "unpause": "conman_systemd.cli.resources:unpause",
    "stats": "conman_systemd.cli.resources:stats",
    "top": "conman_systemd.cli.resources:top",
    "prepare-declared": "conman_systemd.cli.declared:prepare",
}
# `conman container VERB`: docker's group of the container commands (ls is ps; prune is its own).
CONTAINER_VERBS = ("attach", "cp", "create", "diff", "exec", "export", "inspect", "kill", "logs", "ls",
                   "pause", "port", "prune", "ps", "rename", "restart", "rm", "run", "start", "stats",
                   "stop", "top", "unit", "unpause", "update", "wait")  # fmt: skip


def _option(option: Option) -> click.Option:
    decls = list(option.flags)
    if option.kind == SWITCH:
        decls = [f"{option.flags[0]}/--no-{option.flags[0].removeprefix('--')}"]
    kind: Any = click.Choice(option.choices) if option.choices else (int if option.integer else None)
    return click.Option(
        [*decls, option.dest],
        is_flag=option.kind in (FLAG, SWITCH) or None,
        multiple=option.kind == LIST,
        default=option.empty,
        type=kind,
        show_default=option.show_default,
        help=option.help,
    )


def _argument(argument: Argument) -> click.Argument:
    if argument.variadic:
        return click.Argument([argument.dest], nargs=-1, required=argument.required, type=click.UNPROCESSED)
    return click.Argument([argument.dest], required=argument.required)


def from_table(command: Command) -> click.Command:
    """A click command with the table's options and arguments; its callback is the handler."""

    def callback(**values: Any) -> None:
        module, function = command.handler.split(":")
        handler = getattr(importlib.import_module(module), function)
        app: App = click.get_current_context().find_object(App)  # type: ignore[assignment]
        raise SystemExit(handler(app, values) or 0)

    return click.Command(
        command.name,
        callback=callback,
        params=[*map(_option, command.options), *map(_argument, command.arguments)],
        help=command.help,
        context_settings={
            "allow_interspersed_args": not command.arguments,
            # -h is docker's --hostname for run and create; help is --help alone there.
            "help_option_names": ["--help"]
            if any("-h" in o.flags for o in command.options)
            else ["-h", "--help"],
        },
    )


def bool_flags(command: click.Command) -> Flags:
    """A click command's flags as cli/bools.py rewrites `--rm=true` for it."""
    interspersed = command.context_settings.get("allow_interspersed_args", command.allow_interspersed_args)
    flags = Flags(interspersed=interspersed)
    for param in command.params:
        if not isinstance(param, click.Option):
            continue
        if param.is_flag and not param.count:
            flags.boolean(param.name or "", on=tuple(param.opts), off=tuple(param.secondary_opts))
        else:
            flags.valued.update(param.opts)
    return flags


class DockerGroup(click.Group):
    """Its commands take docker's `--flag=true|false` (cli/bools.py)."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None and not isinstance(command, click.Group):
            rest = normalize(rest, bool_flags(command))
        return name, command, rest


class LazyGroup(DockerGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*COMMANDS, *TABLE_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in TABLE_COMMANDS:
            return from_table(TABLE_COMMANDS[cmd_name])
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


class ContainerGroup(LazyGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(CONTAINER_VERBS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in CONTAINER_VERBS:
            return None
        if cmd_name == "prune":
            from conman_systemd.cli.container import prune

            return prune
        return super().get_command(ctx, "ps" if cmd_name == "ls" else cmd_name)


container = ContainerGroup(name="container", help="Manage containers (docker's `container` verbs).")


@click.group(
    cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="conman")
@click.option("--debug", is_flag=True, help="Show every external command and D-Bus call.")
@click.option("--root", default=DEFAULT_ROOT, show_default=True, envvar="CONMAN_ROOT",
              help="Where containers' state and images live.")  # fmt: skip
@click.option("--runroot", default=DEFAULT_RUNROOT, show_default=True, envvar="CONMAN_RUNROOT",
              help="Where runtime state (the runtimes', sockets) lives.")  # fmt: skip
@click.pass_context
def cli(ctx: click.Context, debug: bool, root: str, runroot: str) -> None:
    """Run containers as systemd services."""
    if ctx.invoked_subcommand is None:  # `conman` alone: its help on stdout, 0 (as docker)
        click.echo(ctx.get_help())
        ctx.exit(0)
    if debug:
        set_debug(True)
    ctx.obj = App.from_environment(root, runroot)


def click_main(argv: list[str]) -> int:
    """Run argv through click; conman's errors propagate to the caller, click's are printed here."""
    try:
        cli.main(argv, prog_name="conman", standalone_mode=False)
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 130
    except click.ClickException as e:
        e.show()
        # Usage errors are conman's errors too (docker: 125 for a bad flag).
        return EXIT_ENGINE if isinstance(e, click.UsageError) else e.exit_code
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0

"""The fast path: `conman run|create|exec|ps` parsed from the option table without importing click.

It reads command lines as click does (POSIX short flags, bundled `-dit`, `-eK=V`, `--opt=value`,
`--`, options only before the first argument; docker's `--rm=true` as click reads it after
cli/bools.py's rewrite) and gives up, handing the line to click, on anything else: help, an
unknown flag, a value click would refuse, a missing argument. click then parses the same table
and says what is wrong; tests check that both parsers agree.
"""

from __future__ import annotations

from conman_systemd.cli import App
from conman_systemd.cli.bools import parse_bool
from conman_systemd.cli.table import COMMANDS
from conman_systemd.core.flags import FLAG, LIST, SWITCH

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.cli.table import Command
    from conman_systemd.core.flags import Option


class NotPlain(Exception):
    """Not a command line for the fast path: click takes it."""


def _flags(command: Command) -> dict[str, tuple[Option, bool]]:
    """Every spelling of every option: flag -> (option, the value a flag or switch sets)."""
    spellings = {}
    for option in command.options:
        for flag in option.flags:
            spellings[flag] = (option, True)
            if option.kind == SWITCH:
                spellings[_no(flag)] = (option, False)
    return spellings


def _no(flag: str) -> str:
    return "--no-" + flag.removeprefix("--")


def _set(values: dict[str, Any], option: Option, text: str) -> None:
    if text.startswith("-") and text != "-":
        raise NotPlain  # click may read it as the next option
    if option.integer:
        try:
            value: Any = int(text)
        except ValueError:
            raise NotPlain from None
    else:
        value = text
    if option.choices and value not in option.choices:
        raise NotPlain
    values[option.dest] = (*values[option.dest], value) if option.kind == LIST else value


def parse(command: Command, argv: list[str]) -> dict[str, Any]:
    """values by destination (positional arguments included), or NotPlain."""
    spellings = _flags(command)
    values: dict[str, Any] = {o.dest: o.empty for o in command.options}
    rest = list(argv)
    while rest and rest[0].startswith("-") and rest[0] != "-":
        arg = rest.pop(0)
        if arg == "--":
            break
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            option, on = spellings.get(name) or _unknown()
            if option.kind in (FLAG, SWITCH):  # docker's --rm=true, --no-sig-proxy=false too
                values[option.dest] = parse_bool(name, value) == on if eq else on
            else:
                _set(values, option, value if eq else _next(rest))
            continue
        for i, letter in enumerate(arg[1:], 1):
            option, on = spellings.get("-" + letter) or _unknown()
            if option.kind == FLAG:
                if arg[i + 1 : i + 2] == "=":  # docker's -d=false, -it=0
                    values[option.dest] = parse_bool("-" + letter, arg[i + 2 :])
                    break
                values[option.dest] = on
                continue
            _set(values, option, arg[i + 1 :] or _next(rest))
            break
    return {**values, **_arguments(command, rest)}


def _unknown() -> tuple[Option, bool]:
    raise NotPlain


def _next(rest: list[str]) -> str:
    if not rest:
        raise NotPlain
    return rest.pop(0)


def _arguments(command: Command, rest: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for argument in command.arguments:
        if argument.variadic:
            values[argument.dest] = tuple(rest)
            rest = []
        elif rest:
            values[argument.dest] = rest.pop(0)
        else:
            values[argument.dest] = None
        if argument.required and not values[argument.dest]:
            raise NotPlain
    if rest:
        raise NotPlain
    return values


def _globals(argv: list[str]) -> tuple[dict[str, str | bool], list[str]]:
    """conman's own options before the command: --debug, --root, --runroot."""
    found: dict[str, str | bool] = {}
    rest = list(argv)
    while rest and rest[0].startswith("--"):
        name, eq, value = rest.pop(0).partition("=")
        if name == "--debug" and not eq:
            found["debug"] = True
        elif name in ("--root", "--runroot"):
            found[name[2:]] = value if eq else _next(rest)
        else:
            raise NotPlain
    return found, rest


def dispatch(argv: list[str]) -> int | None:
    """Run a plain command line of a table command; None when click must take it."""
    try:
        options, rest = _globals(argv)
        command = COMMANDS.get(rest[0]) if rest else None
        if command is None:
            return None
        values = parse(command, rest[1:])
    except NotPlain:
        return None
    if options.get("debug"):
        from conman_systemd.log import debug, set_debug

        set_debug(True)
        debug(f"cli: {command.name} parsed (fast path)")
    root, runroot = options.get("root"), options.get("runroot")
    app = App.from_environment(
        root if isinstance(root, str) else None, runroot if isinstance(runroot, str) else None
    )
    module, function = command.handler.split(":")
    # __import__ rather than importlib.import_module: importlib's package imports warnings.
    handler = getattr(__import__(module, fromlist=[function]), function)
    return int(handler(app, values) or 0)

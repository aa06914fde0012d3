"""The commands whose options come from tables: their options, arguments and handlers.

A handler is `function(app, values) -> exit code`, values by destination as core/flags.py's
typed() leaves them; the click command (cli/app.py) and the fast parser (cli/fast.py) call it
alike. Handlers are named "module:function" and imported only when their command runs.
"""

from __future__ import annotations

from conman_systemd.core.flags import ARGUMENTS, CREATE, EXEC, FLAG, LIST, RUN, Argument, Option, options_of
from conman_systemd.frozen import Frozen


class Command(Frozen):
    name: str
    help: str
    handler: str  # "module:function"
    options: tuple[Option, ...]
    arguments: tuple[Argument, ...] = ()


_PS = frozenset({"ps"})

COMMANDS = {
    RUN: Command(name=RUN, handler="conman_systemd.cli.run:run", options=options_of(RUN),
                 arguments=ARGUMENTS[RUN],
                 help="Run a command in a new container, as the transient unit conman-<id>.service."),
    CREATE: Command(name=CREATE, handler="conman_systemd.cli.run:create", options=options_of(CREATE),
                    arguments=ARGUMENTS[CREATE],
                    help="Create a container without starting it; prints its ID."),
    EXEC: Command(name=EXEC, handler="conman_systemd.cli.execute:exec_", options=options_of(EXEC),
                  arguments=ARGUMENTS[EXEC], help="Run a new process in a running container."),
    "ps": Command(name="ps", handler="conman_systemd.cli.ps:ps", help="List containers.", options=(
        Option(flags=("-a", "--all"), dest="show_all", kind=FLAG, commands=_PS,
               help="Show all containers, not only running ones."),
        Option(flags=("-q", "--quiet"), dest="quiet", kind=FLAG, commands=_PS, help="Only print IDs."),
        Option(flags=("--format",), dest="fmt", default="table", show_default=True, commands=_PS,
               help="Output format: table, json or a Go template, e.g. 'table {{.ID}}\\t{{.Names}}'."),
        Option(flags=("-f", "--filter"), dest="filters", kind=LIST, commands=_PS,
               help="Filter by KEY=VALUE: name, id, label, status, ancestor, exited."),
        Option(flags=("-n", "--last"), dest="last", integer=True, commands=_PS,
               help="The N containers created last (all states)."),
        Option(flags=("-l", "--latest"), dest="latest", kind=FLAG, commands=_PS,
               help="The container created last."),
        Option(flags=("--no-trunc",), dest="no_trunc", kind=FLAG, commands=_PS,
               help="Full IDs and commands."),
        Option(flags=("-s", "--size"), dest="size", kind=FLAG, commands=_PS,
               help="Show what each container wrote (and that plus its image: virtual)."),
    )),
}  # fmt: skip

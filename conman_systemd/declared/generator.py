"""The systemd generator: each definition file becomes NAME.service, a unit with the properties
a transient container unit gets (core/unit.py, one mapping) and an ExecStartPre= that creates the
container from the definition as `conman create` would.

systemd runs generators early at boot and at every daemon-reload, with the output directories as
arguments; they may only write there. Start at boot: `[Install] WantedBy=` becomes a .wants/ link
here, as systemd refuses `systemctl enable` of a generated unit. A bad definition is reported (the
journal has the generator's stderr) and skipped; the others are still written.
"""

from __future__ import annotations

import os
import sys

from conman_systemd.container.paths import Paths
from conman_systemd.container.spec import ContainerSpec
from conman_systemd.core import unit, unit_file
from conman_systemd.core.create import RunOptions, run_options, spec_resources, unit_fields
from conman_systemd.declared.definition import Definition, declared_id, find, parse
from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_STOP_SIGNAL = 15
DEFAULT_PATHS = Paths(root="/var/lib/conman", runroot="/run/conman")
PREPARE = "prepare-declared"  # the hidden command of ExecStartPre=


def options(definition: Definition) -> RunOptions:
    """The definition's values through the command line's own parsers."""
    raw = {**definition.values, "name": definition.name, "image": definition.image,
           "command": definition.command}  # fmt: skip
    try:
        opts = run_options("create", raw)
    except ConmanError as e:
        raise ConmanError(f"{definition.path}: {e.message}", hint=e.hint) from None
    # The unit is written before the image is at hand: the image's STOPSIGNAL cannot be known, so
    # the definition's (or SIGTERM) is the container's too, and unit and container agree.
    return opts.replace(stop_signal=opts.stop_signal or DEFAULT_STOP_SIGNAL)


def unit_spec(definition: Definition, opts: RunOptions) -> ContainerSpec:
    """What the unit's properties need of the container, known without its image."""
    restart, restart_max = opts.restart
    return ContainerSpec(
        id=declared_id(definition.name), name=definition.name, image=definition.image, image_id="",
        rootfs="", command=(), stop_signal=opts.stop_signal or DEFAULT_STOP_SIGNAL,
        stop_timeout=opts.stop_timeout, restart=restart, restart_max=restart_max, declared=True,
        **spec_resources(opts), **unit_fields(opts),
    )  # fmt: skip


def cli_command(python: str = sys.executable) -> list[str]:
    return [python, "-I", "-m", "conman_systemd"]


def service_text(
    definition: Definition, paths: Paths = DEFAULT_PATHS, python: str = sys.executable,
    shim: list[str] | None = None,
) -> str:  # fmt: skip
    opts = options(definition)
    spec = unit_spec(definition, opts)
    found = unit_file.sections(unit.properties(spec, paths, shim))
    prepare = [*cli_command(python), "--root", paths.root, "--runroot", paths.runroot, PREPARE,
               definition.path, definition.digest]  # fmt: skip
    lines = [
        f"# Made by conman's generator from {definition.path}: edit that file, not this one.",
        "[Unit]",
        *found["Unit"],
        f"SourcePath={definition.path}",
        # The image may have to be pulled; the state lives in these directories.
        "Wants=network-online.target",
        "After=network-online.target",
        f"RequiresMountsFor={paths.root} {paths.runroot}",
        *definition.unit_lines,
        "",
        "[Service]",
        # Creates the container from the definition (a fresh one at each start of the unit).
        f"ExecStartPre={unit_file.exec_line(prepare)}",
        *found["Service"],
        *definition.service_lines,
        "",
    ]
    return "\n".join(lines)


INSTALL_DIRS = {"WantedBy": "wants", "RequiredBy": "requires"}


def install_links(definition: Definition) -> list[str]:
    """Where the unit is linked from, relative to the output directory (target.wants/NAME.service)."""
    return [
        os.path.join(f"{target}.{INSTALL_DIRS[key]}", definition.unit)
        for key, targets in definition.install.items()
        for target in targets
    ]


def generate(
    output: str, directories: tuple[str, ...] | None = None, python: str = sys.executable,
    log: Callable[[str], None] | None = None,
) -> int:  # fmt: skip
    """Write a unit (and its links) into output for every good definition; 1 when one was bad."""
    status = 0
    found = find(directories) if directories is not None else find()
    for name, path in sorted(found.items()):
        try:
            definition = parse(path)
            text = service_text(definition, python=python)
        except ConmanError as e:
            (log or report)(f"{e.message} (skipped {name})")
            status = 1
            continue
        _write(os.path.join(output, definition.unit), text)
        for link in install_links(definition):
            where = os.path.join(output, link)
            os.makedirs(os.path.dirname(where), exist_ok=True)
            if not os.path.lexists(where):
                os.symlink(os.path.join("..", definition.unit), where)
    return status


JOURNAL_SOCKET = "/run/systemd/journal/socket"
KMSG = "/dev/kmsg"


def report(message: str) -> None:
    """An error where administrators look: systemd does not keep a generator's stderr, so the
    journal (SYSLOG_IDENTIFIER=conman-generator) takes it, or at early boot, before journald,
    the kernel's log (which journald reads when it starts); stderr too, for a run by hand."""
    print(f"conman-generator: {message}", file=sys.stderr)
    entry = f"MESSAGE={message}\nPRIORITY=3\nSYSLOG_IDENTIFIER=conman-generator\n".encode()
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(entry, JOURNAL_SOCKET)
        return
    except OSError:
        pass
    try:
        with open(KMSG, "w") as kmsg:
            kmsg.write(f"<3>conman-generator: {message}\n")
    except OSError:
        pass


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def main(argv: list[str]) -> int:
    """systemd calls generators with three directories: normal, early, late. The normal one is
    for units like these: below /etc/systemd/system, above the packages' units."""
    if len(argv) not in (1, 3):
        print("usage: conman-generator NORMAL_DIR [EARLY_DIR LATE_DIR]", file=sys.stderr)
        return 2
    return generate(argv[0])

#!/usr/bin/env python3
"""Man pages and shell completions from conman's own click commands, for the packages.

    packaging/manpages.py OUTDIR

writes OUTDIR/man1/conman.1, one OUTDIR/man1/conman-COMMAND.1 per command (conman-image-ls.1 for
a group's), OUTDIR/man5/conman.container.5 (the definition files of declared containers, from the
option table) and OUTDIR/completions/{conman.bash,_conman,conman.fish} (click's scripts: they ask
`conman` itself for the words). Runs from the source tree, before or without installing it.
"""

from __future__ import annotations

import os
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOP)

import click  # noqa: E402

from conman_systemd import __version__  # noqa: E402
from conman_systemd.cli.app import cli  # noqa: E402
from conman_systemd.declared.definition import INSTALL_KEYS, KEYS, REFUSED  # noqa: E402

FOOTER = f'"conman {__version__}" "conman manual"'


def roff(text: str) -> str:
    """Plain text as roff: backslashes escaped, no line may start a request."""
    lines = text.replace("\\", "\\e").replace("-", "\\-").splitlines()
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in lines)


def _paragraphs(text: str) -> str:
    return "\n.PP\n".join(roff(p.strip()) for p in text.split("\n\n") if p.strip())


def commands(
    group: click.Group, ctx: click.Context, path: list[str]
) -> list[tuple[list[str], click.Command]]:
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        found.append(([*path, name], command))
        if isinstance(command, click.Group) and name != "container":  # its verbs are the top-level ones
            found += commands(command, click.Context(command, parent=ctx, info_name=name), [*path, name])
    return found


def command_page(path: list[str], command: click.Command, ctx: click.Context) -> str:
    title = "-".join(["conman", *path])
    sub = click.Context(command, parent=ctx, info_name=" ".join(path))
    usage = " ".join(command.collect_usage_pieces(sub))
    lines = [
        f'.TH {title.upper()} 1 "" {FOOTER}',
        ".SH NAME",
        f"{title} \\- {roff(command.get_short_help_str(200))}",
        ".SH SYNOPSIS",
        f".B conman {' '.join(path)}",
        roff(usage),
        ".SH DESCRIPTION",
        _paragraphs(command.help or ""),
    ]
    records = [r for p in command.get_params(sub) if (r := p.get_help_record(sub))]
    if records:
        lines.append(".SH OPTIONS")
        for flags, text in records:
            lines += [".TP", f".B {roff(flags)}", roff(text)]
    lines += [".SH SEE ALSO", "\\fBconman\\fR(1)", ""]
    return "\n".join(lines)


def main_page(found: list[tuple[list[str], click.Command]], ctx: click.Context) -> str:
    lines = [
        f'.TH CONMAN 1 "" {FOOTER}',
        ".SH NAME",
        "conman \\- containers as first\\-class systemd services",
        ".SH SYNOPSIS",
        ".B conman",
        "[\\-\\-debug] [\\-\\-root DIR] [\\-\\-runroot DIR] COMMAND [ARGS]...",
        ".SH DESCRIPTION",
        _paragraphs(
            "conman runs OCI containers with crun or runc, each as a systemd service: conman run "
            "starts the transient unit conman-ID.service, whose shim sets the container up in the "
            "unit's delegated cgroup and hands the unit's main PID to the container's init. systemd "
            "supervises it from then on: systemctl status shows it, journalctl -u has its output, "
            "systemd records its exit, restarts it by its restart policy and bounds its resources.\n\n"
            "Containers can also be declared in files, started at boot by systemd: see "
            "conman.container(5). Containers run with --restart always or unless-stopped come back "
            "at boot through conman-restart.service."
        ),
        ".SH COMMANDS",
    ]
    for path, command in found:
        lines += [".TP", f".B conman {' '.join(path)}", roff(command.get_short_help_str(200))]
    lines += [
        ".SH FILES",
        ".TP", ".I /etc/conman/conman.conf", "runtime = crun|runc: the default OCI runtime.",
        ".TP", ".I /etc/conman/containers/NAME.container",
        "Declared containers (see \\fBconman.container\\fR(5)).",
        ".TP", ".I /var/lib/conman", "Containers' state and images (\\-\\-root).",
        ".TP", ".I /run/conman", "Runtime state (\\-\\-runroot).",
        ".SH EXIT STATUS",
        "125: conman failed; 126: the command cannot be invoked; 127: the command was not found; "
        "otherwise the container's exit code.",
        ".SH SEE ALSO",
        ", ".join(f"\\fBconman\\-{'-'.join(p)}\\fR(1)" for p, _ in found)
        + ", \\fBconman.container\\fR(5), \\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1)",
        "",
    ]  # fmt: skip
    return "\n".join(lines)


def definition_page() -> str:
    lines = [
        f'.TH CONMAN.CONTAINER 5 "" {FOOTER}',
        ".SH NAME",
        "conman.container \\- declared conman containers, started by systemd",
        ".SH SYNOPSIS",
        ".I /etc/conman/containers/NAME.container",
        ".br",
        ".I /run/conman/containers/NAME.container",
        ".SH DESCRIPTION",
        _paragraphs(
            "Each file declares the container NAME. conman's systemd generator turns it into the "
            "unit NAME.service at boot and at every systemctl daemon-reload, with the properties a "
            "container run by conman run gets. systemctl start NAME.service creates the container "
            "from the file and starts it; systemctl stop NAME.service stops and removes it. conman "
            "ps, logs, exec, stop and inspect know it by NAME. A file in /etc wins over one of the "
            "same name in /run.\n\n"
            "The format is a unit file's: sections, KEY=VALUE lines, # and ; comments, a backslash "
            "at the end of a line continues it. An unknown section or key is an error naming the "
            "file and line; the generator skips that file and logs why (journalctl -b "
            "SYSLOG_IDENTIFIER=conman-generator)."
        ),
        ".SH [Container]",
        _paragraphs(
            "The flags of conman create, each spelled as a key: --read-only is ReadOnly=, "
            "--env is Env=. Keys of repeatable flags may be given many times; an empty value "
            "resets them. Booleans take yes or no. The values are those the flags take."
        ),
        ".TP", ".B Image=", "The image to run (required). Pulled when missing (see Pull=).",
        ".TP", ".B Exec=", "The command and its arguments, split as a shell splits words.",
    ]  # fmt: skip
    for key, option in KEYS.items():
        lines += [".TP", f".B {key}=", roff(option.help)]
    lines += [
        ".PP",
        roff(
            "Not declarable: "
            + "; ".join(f"{key} ({why})" for key, why in REFUSED.items())
            + ". The image's STOPSIGNAL is not read (the unit is written before the image is at "
            "hand): StopSignal= or SIGTERM applies."
        ),
        ".SH [Unit], [Service]",
        "Lines copied into the unit's sections as they are (e.g. After=, TimeoutStartSec=).",
        ".SH [Install]",
        ".TP", f".B {INSTALL_KEYS[0]}=", "Targets that start the container, e.g. multi\\-user.target "
        "(start at boot). systemctl enable does not apply to generated units.",
        ".TP", f".B {INSTALL_KEYS[1]}=", "Targets that require it.",
        ".SH EXAMPLE",
        ".nf",
        "[Container]", "Image=docker.io/library/nginx:1.25", "Volume=/srv/www:/usr/share/nginx/html:ro",
        "Restart=always", "", "[Install]", "WantedBy=multi\\-user.target",
        ".fi",
        ".PP",
        "Then: systemctl daemon\\-reload; systemctl start web.service (for web.container).",
        "conman generate NAME prints a definition for an existing container.",
        ".SH SEE ALSO",
        "\\fBconman\\fR(1), \\fBsystemd.unit\\fR(5), \\fBsystemd.generator\\fR(7)",
        "",
    ]  # fmt: skip
    return "\n".join(lines)


def completions(out: str) -> None:
    """click's completion scripts, made by conman itself (`_CONMAN_COMPLETE=bash_source conman`)."""
    os.makedirs(out, exist_ok=True)
    for shell, name in (("bash", "conman.bash"), ("zsh", "_conman"), ("fish", "conman.fish")):
        script = subprocess.run(
            [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
             "from conman_systemd.cli import main; main()", TOP],
            env={**os.environ, "_CONMAN_COMPLETE": f"{shell}_source"}, capture_output=True, text=True,
            check=True,
        ).stdout  # fmt: skip
        if "_CONMAN_COMPLETE" not in script:
            raise SystemExit(f"manpages.py: no {shell} completion script came out of conman")
        with open(os.path.join(out, name), "w") as f:
            f.write(script)


def write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def main(out: str) -> None:
    ctx = click.Context(cli, info_name="conman")
    found = commands(cli, ctx, [])
    write(os.path.join(out, "man1", "conman.1"), main_page(found, ctx))
    for path, command in found:
        write(os.path.join(out, "man1", f"conman-{'-'.join(path)}.1"), command_page(path, command, ctx))
    write(os.path.join(out, "man5", "conman.container.5"), definition_page())
    completions(os.path.join(out, "completions"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: packaging/manpages.py OUTDIR")
    main(sys.argv[1])

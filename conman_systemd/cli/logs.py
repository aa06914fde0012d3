"""`conman logs`: the container's output from the journal, stdout and stderr told apart."""

from __future__ import annotations

import time

import click

from conman_systemd.cli import App
from conman_systemd.cli.common import session


@click.command()
@click.option("-f", "--follow", is_flag=True, help="Follow the output until the container exits.")
@click.option("--since", help="Only output since this time (10m, 1h30m, 2026-11-28T10:00:00Z, a Unix time).")
@click.option("--until", help="Only output until this time.")
@click.option(
    "-n", "--tail", default="all", show_default=True, metavar="N", help="Only the last N lines, or all."
)
@click.option("-t", "--timestamps", is_flag=True, help="Prefix each line with its time.")
@click.argument("container")
@click.pass_obj
def logs(app: App, follow: bool, since: str | None, until: str | None, tail: str, timestamps: bool,
         container: str) -> None:  # fmt: skip
    """Print a container's output."""
    from conman_systemd.core import logs as output
    from conman_systemd.core.journal import Reader, parse_time
    from conman_systemd.core.options import parse_tail

    lines = parse_tail(tail)
    now = time.time()
    since_usec = parse_time(since, now) if since else None
    until_usec = parse_time(until, now) if until else None
    with session(app) as lc:
        spec = lc.store.resolve(container)
        printer = output.Printer(timestamps)
        with Reader(spec.unit) as reader:
            output.show(reader, printer, lines, since_usec, until_usec)
        if follow and until_usec is None:
            watch = lc.systemd.watch(spec.unit)  # before asking: it takes in the answer
            if lc.running(spec):
                output.follow(lc.systemd, watch, output.Tail(spec.unit, printer))

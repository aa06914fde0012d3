"""`conman logs`: the container's output from the journal, stdout and stderr told apart."""

from __future__ import annotations

import re

import click

from conman_systemd.cli import App
from conman_systemd.cli.common import session

_RELATIVE = re.compile(r"^(\d+)(s|m|h|d)$")


def journal_time(text: str) -> str:
    """docker's forms (10m, RFC 3339) in journalctl's: -10m, "2026-11-28 10:00:00 UTC"."""
    if m := _RELATIVE.match(text):
        return f"-{m.group(1)}{ {'s': 's', 'm': 'min', 'h': 'h', 'd': 'd'}[m.group(2)] }"
    if "T" in text and text[:4].isdigit():
        date, _, rest = text.partition("T")
        if rest.endswith("Z"):
            return f"{date} {rest[:-1]} UTC"
        return f"{date} {rest}"
    return text


@click.command()
@click.option("-f", "--follow", is_flag=True, help="Follow the output until the container exits.")
@click.option("--since", help="Only output since this time (10m, 2026-11-28T10:00:00Z, ...).")
@click.option("--until", help="Only output until this time.")
@click.option("-n", "--tail", type=int, help="Only the last N lines.")
@click.option("-t", "--timestamps", is_flag=True, help="Prefix each line with its time.")
@click.argument("container")
@click.pass_obj
def logs(app: App, follow: bool, since: str | None, until: str | None, tail: int | None, timestamps: bool,
         container: str) -> None:  # fmt: skip
    """Print a container's output."""
    from conman_systemd.core import logs as journal

    with session(app) as lc:
        spec = lc.store.resolve(container)
        printer = journal.Printer(timestamps)
        kw = {"tail": tail, "since": journal_time(since) if since else None,
              "until": journal_time(until) if until else None}  # fmt: skip
        if not follow or not lc.state(spec).is_running:
            journal.show(spec.unit, printer, **kw)
            return
        journal.follow_until(spec.unit, printer, lambda: lc.wait(spec), **kw)

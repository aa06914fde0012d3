"""The fast path parses `conman run|create|exec|ps` exactly as click does, or leaves the line to click."""

from __future__ import annotations

from typing import Any

import pytest

from conman_systemd.cli.app import from_table
from conman_systemd.cli.fast import NotPlain, parse
from conman_systemd.cli.table import COMMANDS
from conman_systemd.core.create import RunOptions
from conman_systemd.core.flags import CLIENT_ONLY, OPTIONS, RUN, options_of

PLAIN = [
    ("run", ["busybox"]),
    ("run", ["busybox", "true"]),
    ("run", ["--rm", "busybox", "sh", "-c", "echo -x; exit 3"]),
    ("run", ["-d", "--name", "web", "busybox", "sleep", "100"]),
    ("run", ["-dit", "busybox", "sh"]),
    ("run", ["-it", "--rm", "--detach-keys=ctrl-a,x", "busybox", "sh"]),
    ("run", ["-eA=1", "-e", "B=2", "--env=C=3", "--env", "D", "busybox", "env"]),
    ("run", ["--stop-timeout", "3", "--stop-timeout=4", "--stop-signal", "INT", "busybox"]),
    ("run", ["-v", "/a:/b:ro", "-v/c:/d", "--volume=/e:/f", "--read-only", "busybox"]),
    ("run", ["--no-sig-proxy", "--sig-proxy", "--no-sig-proxy", "busybox", "cat"]),
    ("run", ["--restart", "on-failure:3", "--network", "none", "--runtime", "runc", "busybox"]),
    ("run", ["-w", "/tmp", "-u", "1000:1000", "--hostname", "h", "--label", "a=b", "busybox"]),
    ("run", ["--entrypoint", "", "busybox", "--", "-x"]),
    ("run", ["--", "busybox", "-c"]),
    ("run", ["--dry-run", "busybox", "-", "--rm"]),
    ("create", ["--name", "x", "-i", "-t", "busybox", "sh"]),
    ("run", ["-h", "myhost", "busybox", "hostname"]),  # docker's -h: --hostname, not help
    ("create", ["-ithbox", "busybox"]),
    ("exec", ["-it", "web", "sh"]),
    ("exec", ["-d", "-e", "A=1", "-w", "/", "-u", "0", "web", "sleep", "1", "-d"]),
    ("ps", []),
    ("ps", ["-aq"]),
    ("ps", ["-a", "--format", "json"]),
    ("ps", ["--format=table", "--all", "--quiet"]),
]

CLICKS_OWN = [
    ("run", []),  # the image is missing
    ("run", ["--help"]),
    ("run", ["-h"]),
    ("run", ["--frobnicate", "busybox"]),
    ("run", ["--stop-timeout", "abc", "busybox"]),
    ("run", ["--name"]),
    ("run", ["-e"]),
    ("run", ["--name", "-x", "busybox"]),  # a value that looks like an option
    ("exec", ["web"]),  # no command
    ("ps", ["-n", "many"]),  # click says what an integer is
    ("ps", ["extra"]),
]


def click_values(command: str, argv: list[str]) -> dict[str, Any]:
    cmd = from_table(COMMANDS[command])
    with cmd.make_context(command, list(argv)) as ctx:
        return dict(ctx.params)


@pytest.mark.parametrize(("command", "argv"), PLAIN, ids=[" ".join([c, *a]) for c, a in PLAIN])
def test_plain_lines_parse_as_click_parses_them(command: str, argv: list[str]) -> None:
    assert parse(COMMANDS[command], argv) == click_values(command, argv)


@pytest.mark.parametrize(("command", "argv"), CLICKS_OWN, ids=[" ".join([c, *a]) for c, a in CLICKS_OWN])
def test_everything_else_is_left_to_click(command: str, argv: list[str]) -> None:
    with pytest.raises(NotPlain):
        parse(COMMANDS[command], argv)


def test_the_table_fills_every_run_option_and_nothing_else() -> None:
    dests = {o.dest for o in options_of(RUN)} | {"image", "command"}
    run_only = CLIENT_ONLY
    values: dict[str, Any] = {f: None for f in dests - run_only}
    assert dests - run_only == set(RunOptions(**values).as_dict())


def test_every_option_is_spelt_once() -> None:
    for command in ("run", "create", "exec"):
        flags = [f for o in options_of(command) for f in o.flags]
        assert len(flags) == len(set(flags)), command
    assert len({o.dest for o in OPTIONS}) == len(OPTIONS)

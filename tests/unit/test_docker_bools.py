"""Docker's boolean spellings (`--rm=true`, `-d=false`) mean the same to both parsers, last one winning."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click
import pytest

from conman_systemd.cli import app, fast
from conman_systemd.cli.bools import normalize
from conman_systemd.cli.table import COMMANDS
from conman_systemd.errors import ConmanError
from tests.unit.test_cli import conman, store_busybox_image

# argv, then what it sets (by destination) that differs from no flags at all
CASES: list[tuple[str, list[str], dict[str, Any]]] = [
    ("run", ["--rm=true", "busybox"], {"rm": True}),
    ("run", ["--rm=false", "busybox"], {}),
    ("run", ["--rm", "--rm=false", "busybox"], {}),
    ("run", ["--rm=0", "--rm", "busybox"], {"rm": True}),
    ("run", ["--sig-proxy=false", "busybox"], {"sig_proxy": False}),
    ("run", ["--sig-proxy=False", "--sig-proxy=T", "busybox"], {}),
    ("run", ["--no-sig-proxy=true", "busybox"], {"sig_proxy": False}),
    ("run", ["--no-sig-proxy=false", "busybox"], {}),
    ("run", ["-d=false", "-i=1", "busybox"], {"interactive": True}),
    ("run", ["-dit", "-t=false", "busybox"], {"detach": True, "interactive": True}),
    ("run", ["-it=0", "busybox"], {"interactive": True}),
    ("run", ["--read-only=TRUE", "--detach=f", "busybox"], {"read_only": True}),
    ("run", ["-eA=1", "--rm=true", "--name", "x", "busybox"], {"rm": True, "env": ("A=1",), "name": "x"}),
    ("run", ["--name", "--rm=true", "busybox"], {"name": "--rm=true"}),  # a value, not a flag
    ("run", ["busybox", "sh", "--rm=true"], {"command": ("sh", "--rm=true")}),  # the container's
    ("run", ["--", "busybox", "-d=false"], {"command": ("-d=false",)}),
    ("exec", ["-d=true", "-it=false", "web", "sh"], {"detach": True, "interactive": True}),
    ("ps", ["-a=true", "--quiet=1"], {"show_all": True, "quiet": True}),
    ("ps", ["--all=false", "-q"], {"quiet": True}),
]


def click_values(command: str, argv: list[str]) -> dict[str, Any]:
    cmd = app.from_table(COMMANDS[command])
    with cmd.make_context(command, normalize(argv, app.bool_flags(cmd))) as ctx:
        return dict(ctx.params)


@pytest.mark.parametrize(("command", "argv", "sets"), CASES, ids=[" ".join([c, *a]) for c, a, _ in CASES])
def test_both_parsers_read_docker_booleans_alike(
    command: str, argv: list[str], sets: dict[str, Any]
) -> None:
    table = COMMANDS[command]
    values = click_values(command, argv)
    try:
        assert fast.parse(table, argv) == values
    except fast.NotPlain:
        assert argv[0] == "--name"  # a value like an option: the fast path leaves it to click
    arguments = {"run": ["busybox"], "exec": ["web", "sh"], "ps": []}[command]
    baseline = fast.parse(table, arguments)
    assert {k: v for k, v in values.items() if baseline[k] != v} == sets


def test_a_line_without_values_is_left_as_it_is() -> None:
    argv = ["-dit", "--rm", "busybox", "sh"]
    assert normalize(argv, app.bool_flags(app.from_table(COMMANDS["run"]))) is argv


@pytest.mark.parametrize("argv", [["--rm=yes", "busybox"], ["--rm=", "busybox"], ["-d=on", "busybox"]])
def test_a_value_that_is_no_boolean_is_refused(argv: list[str]) -> None:
    flag, _, text = argv[0].partition("=")
    message = f'invalid argument "{text}" for "{flag}": a flag takes true or false (or 1, 0)'
    with pytest.raises(ConmanError, match=re.escape(message)) as raised:
        normalize(argv, app.bool_flags(app.from_table(COMMANDS["run"])))
    assert raised.value.exit_code == 125
    with pytest.raises(ConmanError, match=re.escape(message)) as raised:
        fast.parse(COMMANDS["run"], argv)
    assert raised.value.exit_code == 125


def test_click_commands_take_docker_booleans_too() -> None:
    logs = app.LazyGroup().get_command(click.Context(app.cli), "logs")
    assert logs is not None
    flags = app.bool_flags(logs)
    assert normalize(["-f=true", "-t=false", "--tail", "3", "web"], flags) == ["-f", "--tail", "3", "web"]
    assert normalize(["--follow=0", "web", "--timestamps=1"], flags) == ["web", "-t"]


def test_the_cli_says_which_flag_and_value_are_wrong(tmp_path: Path) -> None:
    store_busybox_image(tmp_path)
    run = conman("--root", str(tmp_path), "run", "--dry-run", "--rm=yes", "busybox", "true")
    assert (run.returncode, run.stdout) == (125, "")
    assert run.stderr == 'Error: invalid argument "yes" for "--rm": a flag takes true or false (or 1, 0)\n'
    logs = conman("logs", "--follow=maybe", "web")  # a click command
    assert logs.returncode == 125
    assert (
        logs.stderr
        == 'Error: invalid argument "maybe" for "--follow": a flag takes true or false (or 1, 0)\n'
    )
    assert not (tmp_path / "containers").exists()


def test_a_dry_run_with_docker_booleans_is_the_plain_one(tmp_path: Path) -> None:
    store_busybox_image(tmp_path)
    docker = conman("--root", str(tmp_path), "run", "--dry-run", "--rm=true", "--read-only=1", "-d=false",
                    "--name", "x", "busybox", "true")  # fmt: skip
    plain = conman(
        "--root", str(tmp_path), "run", "--dry-run", "--rm", "--read-only", "--name", "x", "busybox", "true"
    )
    assert docker.returncode == 0, docker.stderr
    ids = re.compile(r"\b[0-9a-f]{12,64}\b")  # each dry run makes up its own ID
    assert ids.sub("ID", docker.stdout) == ids.sub("ID", plain.stdout)
    assert "CollectMode=inactive-or-failed" in docker.stdout and '"readonly": true' in docker.stdout
    off = conman(
        "--root", str(tmp_path), "run", "--dry-run", "--rm=false", "--read-only=0", "busybox", "true"
    )
    assert "CollectMode=inactive-or-failed" not in off.stdout and '"readonly": false' in off.stdout

"""Every command's --help: one style across commands, and docker's flag names where docker has them."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from conman_systemd.cli.app import cli

CTX = click.Context(cli)


def commands(
    group: click.Group = cli, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name in group.list_commands(CTX):
        command = group.get_command(CTX, name)
        assert command is not None, name
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


ALL = dict(commands())


@pytest.mark.parametrize("path", sorted(ALL), ids=" ".join)
def test_help_is_a_sentence_for_the_command_and_each_option(path: tuple[str, ...]) -> None:
    command = ALL[path]
    summary = command.help or command.short_help or ""
    assert summary[:1].isupper() or summary.startswith("conman"), (path, summary)
    for option in command.params:
        if not isinstance(option, click.Option) or "--help" in option.opts:
            continue
        text = option.help or ""
        assert text[:1].isupper(), (path, option.opts, text)  # a phrase, not a bare value list
        assert text.rstrip().endswith((".", ")")), (path, option.opts, text)


# docker's spellings, short forms included, of the flags conman has as docker has them.
DOCKER_FLAGS = {
    (
        "run",
    ): "-d -i -t -e -w -u -h -v -a -m -c --rm --name --env-file --read-only --entrypoint --stop-signal "
    "--stop-timeout --label --restart --pull --detach-keys --sig-proxy --network --runtime --memory "
    "--memory-reservation --memory-swap --cpus --cpu-shares --cpuset-cpus --pids-limit --blkio-weight "
    "--device-read-bps --device-write-bps --init --cap-add --cap-drop --privileged --security-opt --device "
    "--log-driver --ulimit --tmpfs --mount --hostname --user --workdir --env --volume --attach",
    ("ps",): "-a -q -n -l -s --no-trunc --filter --format --all --quiet --last --latest",
    ("logs",): "-f -t --since --until --tail --follow --timestamps",
    ("exec",): "-i -t -d -e -w -u",
    ("rm",): "-f -v --force --volumes",
    ("stop",): "-t --time",
    ("kill",): "-s --signal",
    ("start",): "-a -i",
    ("inspect",): "-f --format",
    ("volume", "ls"): "-q -f --filter --format",
    ("volume", "prune"): "-a -f --all --force",
    ("image", "prune"): "-a -f",
    ("stats",): "--no-stream --format -a",
}


@pytest.mark.parametrize("path", sorted(DOCKER_FLAGS), ids=" ".join)
def test_docker_s_flag_names(path: tuple[str, ...]) -> None:
    given = {flag for option in ALL[path].params for flag in option.opts if flag.startswith("-")}
    missing = set(DOCKER_FLAGS[path].split()) - given
    assert not missing, f"conman {' '.join(path)} lacks {sorted(missing)}"

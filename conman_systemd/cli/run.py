"""`conman run` and `conman create`."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from typing import Any

import click

from conman_systemd.cli import App
from conman_systemd.cli.common import require_root, session
from conman_systemd.core.attach_client import DEFAULT_DETACH_KEYS, parse_detach_keys
from conman_systemd.core.attaching import attach, attach_until_exit
from conman_systemd.core.create import RunOptions, build_spec
from conman_systemd.core.images import ImageStore
from conman_systemd.core.spec import ContainerSpec
from conman_systemd.errors import ConmanError

_OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--name", help="Container name, unique: [a-zA-Z0-9][a-zA-Z0-9_.-]*."),
    click.option("--rm", is_flag=True, help="Remove the container when it exits."),
    click.option("-e", "--env", multiple=True, help="Set an environment variable (K=V, or K from here)."),
    click.option("--env-file", "env_files", multiple=True, help="Read environment variables from a file."),
    click.option("-w", "--workdir", help="Working directory inside the container."),
    click.option("-u", "--user", help="UID[:GID] or names from the image."),
    click.option("--hostname", help="Container host name (default: the short ID)."),
    click.option("-v", "--volume", "volumes", multiple=True, help="Bind mount SRC:DST[:ro|rw]."),
    click.option("--read-only", is_flag=True, help="Mount the container's root file system read-only."),
    click.option("--entrypoint", help="Override the image's entrypoint."),
    click.option("--stop-signal", default="SIGTERM", show_default=True, help="Stop signal."),
    click.option("--stop-timeout", type=int, default=10, show_default=True,
                 help="Seconds to wait after the stop signal before SIGKILL."),
    click.option("--label", "labels", multiple=True, help="Set a label K=V."),
    click.option("--network", default="host", show_default=True, help="host or none."),
    click.option("--restart", default="no", show_default=True, help="no|on-failure[:N]|always."),
    click.argument("image"),
    click.argument("command", nargs=-1, type=click.UNPROCESSED),
]  # fmt: skip


def container_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


def _spec(app: App, detach: bool, kw: dict[str, Any]) -> ContainerSpec:
    return build_spec(RunOptions(detach=detach, **kw), ImageStore(app.paths))


def _dry_run(app: App, spec: ContainerSpec) -> None:
    from conman_systemd.core import oci, unit

    click.echo("# unit properties")
    click.echo(unit.render(unit.properties(spec, app.paths)))
    click.echo("# OCI config")
    config = oci.config(spec, app.paths.rootfs(spec.id), "<the unit's cgroup>/container")
    click.echo(json.dumps(config, indent=2))


_SETTINGS = {"allow_interspersed_args": False}


def check_terminal(interactive: bool, tty: bool) -> None:
    if tty and interactive and not os.isatty(0):
        raise ConmanError("the input device is not a TTY", hint="drop -t, or run conman from a terminal")


@click.command(context_settings=_SETTINGS)
@click.option("-d", "--detach", is_flag=True, help="Run in the background and print the container ID.")
@click.option("-i", "--interactive", is_flag=True, help="Keep the container's stdin open.")
@click.option("-t", "--tty", is_flag=True, help="Give the container a terminal.")
@click.option("--detach-keys", default=DEFAULT_DETACH_KEYS, show_default=True, help="Keys that detach.")
@click.option(
    "--sig-proxy/--no-sig-proxy", default=True, help="Pass signals on to the container (not with -t)."
)
@click.option("--dry-run", is_flag=True, help="Print the unit properties and OCI config; run nothing.")
@container_options
@click.pass_obj
def run(app: App, /, detach: bool, interactive: bool, tty: bool, detach_keys: str, sig_proxy: bool,
        dry_run: bool, **kw: Any) -> None:  # fmt: skip
    """Run a command in a new container, as the transient unit conman-<id>.service."""
    keys = parse_detach_keys(detach_keys)
    if not detach:
        check_terminal(interactive, tty)

    if not dry_run:
        require_root()
    attached = (interactive or tty) and not detach
    spec = _spec(app, detach, {**kw, "interactive": interactive, "tty": tty})
    if attached:
        # The client is there before the process starts; with --rm the unit's clean-up removes
        # the container, as nobody may be waiting once the user detached.
        spec = dataclasses.replace(spec, wait_for_attach=True, remove_on_exit=kw["rm"])
    if dry_run:
        _dry_run(app, spec)
        return
    with session(app) as lc:
        lc.store.create(spec)
        try:
            lc.start(spec)
        except (ConmanError, KeyboardInterrupt):
            lc.remove(spec, force=True)  # a container that never ran leaves nothing behind
            raise
        if detach:
            click.echo(spec.id)
            return
        if attached:
            code = attach(lc, spec, keys, stdin=interactive, sig_proxy=sig_proxy)
            raise SystemExit(0 if code is None else code)
        code = attach_until_exit(lc, spec)
        if kw["rm"]:
            lc.remove(spec, force=True)
    raise SystemExit(code)


@click.command(context_settings=_SETTINGS)
@click.option("-i", "--interactive", is_flag=True, help="Keep the container's stdin open.")
@click.option("-t", "--tty", is_flag=True, help="Give the container a terminal.")
@container_options
@click.pass_obj
def create(app: App, /, interactive: bool, tty: bool, **kw: Any) -> None:
    """Create a container without starting it; prints its ID."""
    require_root()
    spec = _spec(app, False, {**kw, "interactive": interactive, "tty": tty})
    with session(app) as lc:
        lc.store.create(spec)
    click.echo(spec.id)

"""From `conman run`/`create` options to a validated ContainerSpec (nothing is written here)."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass

from conman_systemd.core import options
from conman_systemd.core.containers import new_id
from conman_systemd.core.images import ImageStore
from conman_systemd.core.spec import ContainerSpec
from conman_systemd.errors import ConmanError

_ADJECTIVES = "brave calm eager fond happy jolly keen lucid merry nimble proud swift vivid wise".split()
_NOUNS = "otter falcon maple comet harbor lynx cedar quartz raven tulip badger ember heron orca".split()


@dataclass(frozen=True)
class RunOptions:
    image: str
    command: tuple[str, ...] = ()
    name: str | None = None
    detach: bool = False
    rm: bool = False
    env: tuple[str, ...] = ()
    env_files: tuple[str, ...] = ()
    workdir: str | None = None
    user: str | None = None
    hostname: str | None = None
    volumes: tuple[str, ...] = ()
    read_only: bool = False
    entrypoint: str | None = None
    stop_signal: str = "SIGTERM"
    stop_timeout: int = 10
    labels: tuple[str, ...] = ()
    network: str = "host"
    restart: str = "no"
    interactive: bool = False
    tty: bool = False


def random_name() -> str:
    return f"{secrets.choice(_ADJECTIVES)}_{secrets.choice(_NOUNS)}_{secrets.token_hex(2)}"


def _command(opts: RunOptions, image_cmd: list[str], image_entrypoint: list[str]) -> tuple[str, ...]:
    if opts.entrypoint is not None:
        # docker: --entrypoint replaces the image's entrypoint and drops its default command.
        entrypoint = [opts.entrypoint] if opts.entrypoint else []
        command = [*entrypoint, *opts.command]
    else:
        command = [*image_entrypoint, *(opts.command or image_cmd)]
    if not command:
        raise ConmanError("no command given and the image has none", hint="add a command after the image")
    return tuple(command)


def build_spec(opts: RunOptions, images: ImageStore, environ: dict[str, str] | None = None) -> ContainerSpec:
    name = options.validate_name(opts.name) if opts.name is not None else random_name()
    restart, restart_max = options.parse_restart(opts.restart)
    if opts.rm and restart.restarts:
        raise ConmanError(
            "--rm and --restart cannot be used together", hint="a restarted container is never removed"
        )
    stop_signal = options.parse_signal(opts.stop_signal)
    stop_timeout = options.parse_stop_timeout(opts.stop_timeout)
    network = options.parse_network(opts.network)
    volumes = tuple(options.parse_volume(v) for v in opts.volumes)
    env = options.parse_env(opts.env, opts.env_files, os.environ if environ is None else environ)
    workdir = options.parse_workdir(opts.workdir) if opts.workdir else None
    labels = options.parse_labels(opts.labels)
    image = images.get_for_run(opts.image)

    uid, gid = options.parse_user(opts.user, image.rootfs) if opts.user else (0, 0)
    cid = new_id()
    return ContainerSpec(
        id=cid, name=name, image=(image.names or [opts.image])[0], image_id=image.id, rootfs=image.rootfs,
        command=_command(opts, image.cmd, image.entrypoint), env=(*image.env, *env),
        workdir=workdir or image.workdir, uid=uid, gid=gid, hostname=opts.hostname or cid[:12],
        volumes=volumes, read_only=opts.read_only, network=network, stop_signal=stop_signal,
        stop_timeout=stop_timeout, restart=restart, restart_max=restart_max, labels=labels,
        interactive=opts.interactive, tty=opts.tty, remove_on_exit=opts.rm and opts.detach,
        created=time.time(),
    )  # fmt: skip

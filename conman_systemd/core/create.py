"""From `conman run`/`create` options to a validated ContainerSpec (nothing is written here)."""

from __future__ import annotations

import os
import time

from conman_systemd.container.spec import ContainerSpec, Tmpfs, Volume
from conman_systemd.core import options
from conman_systemd.core.containers import new_id
from conman_systemd.errors import ConmanError
from conman_systemd.frozen import Frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from conman_systemd.container.spec import HealthCheck, Network, Port, RestartPolicy, RuntimeName
    from conman_systemd.image.record import Image
    from conman_systemd.image.store import ImageStore

_ADJECTIVES = "brave calm eager fond happy jolly keen lucid merry nimble proud swift vivid wise".split()
_NOUNS = "otter falcon maple comet harbor lynx cedar quartz raven tulip badger ember heron orca".split()


class RunOptions(Frozen):
    """The options of `conman run` and `conman create`, typed (core/flags.py fills them)."""

    image: str
    command: tuple[str, ...]
    detach: bool
    interactive: bool
    tty: bool
    name: str | None
    rm: bool
    env: tuple[str, ...]
    env_files: tuple[str, ...]
    workdir: str | None
    user: str | None
    hostname: str | None
    volumes: tuple[Volume, ...]
    read_only: bool
    entrypoint: str | None
    stop_signal: int | None
    stop_timeout: int
    labels: tuple[str, ...]
    network: Network | None
    sdnotify: str
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    add_hosts: tuple[str, ...] = ()
    network_aliases: tuple[str, ...] = ()
    ip: str | None = None
    mac_address: str | None = None
    publish: tuple[Port, ...] = ()
    publish_all: bool = False
    log_rate_limit: tuple[int, float] | None = None
    health_cmd: str | None = None
    health_interval: float | None = None
    health_retries: int | None = None
    health_start_period: float | None = None
    health_timeout: float | None = None
    health_on_failure: str | None = None
    no_healthcheck: bool = False
    watchdog: float | None
    restart: tuple[RestartPolicy, int]
    runtime: RuntimeName | None
    pull: str = "missing"
    ulimits: tuple[tuple[str, int, int], ...] = ()
    tmpfs: tuple[Tmpfs, ...] = ()
    mounts: tuple[Volume | Tmpfs, ...] = ()  # --mount: binds join the volumes, tmpfs the tmpfs
    memory: int | None = None
    memory_reservation: int | None = None
    memory_swap: int | None = None
    cpus: float | None = None
    cpu_shares: int | None = None
    cpu_weight: int | None = None
    cpuset_cpus: str | None = None
    pids_limit: int | None = None
    blkio_weight: int | None = None
    device_read_bps: tuple[tuple[str, int], ...] = ()
    device_write_bps: tuple[tuple[str, int], ...] = ()
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    init: bool = False
    security_opt: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()

    @property
    def attached(self) -> bool:
        """A foreground -i/-t run: the client is there before the process starts."""
        return (self.interactive or self.tty) and not self.detach


def _pick(words: list[str]) -> str:
    return words[int.from_bytes(os.urandom(2), "big") % len(words)]


def random_name() -> str:
    return f"{_pick(_ADJECTIVES)}_{_pick(_NOUNS)}_{os.urandom(2).hex()}"


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


def _with_image_volumes(volumes: tuple[Volume, ...], tmpfs: tuple[Tmpfs, ...],
                        declared: list[str]) -> tuple[Volume, ...]:  # fmt: skip
    """docker's: each VOLUME of the image that no mount of the user's covers is an anonymous volume
    (its files copied up from the image). One a container may not mount over is left out."""
    taken = {v.destination for v in volumes} | {t.destination for t in tmpfs}
    extra = []
    for path in declared:
        try:
            inside = options.mount_destination("volume", path, path)
        except ConmanError:
            continue
        if inside not in taken:
            taken.add(inside)
            extra.append(Volume(source="", destination=inside, anonymous=True))
    return (*volumes, *extra)


HEALTH_FLAGS = ("health_cmd", "health_interval", "health_retries", "health_start_period", "health_timeout",
                "health_on_failure")  # fmt: skip


def _health(opts: RunOptions, image: Image) -> HealthCheck | None:
    given = {k: getattr(opts, k) for k in HEALTH_FLAGS if getattr(opts, k) is not None}
    if not (image.healthcheck or given or opts.no_healthcheck):
        return None  # the common case, without importing core/health.py
    from conman_systemd.core.health import from_image, from_options

    return from_options({**given, "no_healthcheck": opts.no_healthcheck}, from_image(image.healthcheck))


def unit_fields(opts: RunOptions) -> dict[str, Any]:
    """The spec's fields besides resources that its unit's properties read: a declared container's
    generator (which has no image at hand) sets them as run does."""
    if opts.log_rate_limit is not None:
        burst, interval = opts.log_rate_limit
    else:
        from conman_systemd.config import default_log_rate_limit

        burst, interval = options.parse_log_rate_limit(default_log_rate_limit())
    return {
        "sdnotify": opts.sdnotify,
        "watchdog": opts.watchdog or 0,
        "log_burst": burst,
        "log_interval": interval,
    }


def network_fields(opts: RunOptions, exposed: list[str]) -> dict[str, Any]:
    """--network and its companions as spec fields; the default network is conman.conf's."""
    if opts.network is None:
        from conman_systemd.config import default_network

        network = default_network()
    else:
        network = opts.network
    ports = opts.publish
    if opts.publish_all:  # -P: the image's ports that no -p publishes, each on a free host port
        from conman_systemd.core.network_options import parse_publish

        given = {(p.container_port, p.protocol) for p in ports}
        ports += tuple(p for p in map(parse_publish, exposed) if (p.container_port, p.protocol) not in given)
    if network in ("host", "none") or network.startswith("container:"):
        from conman_systemd.container.etc_files import HOST_GATEWAY

        gateway = [h for h in opts.add_hosts if h.endswith(f":{HOST_GATEWAY}")]
        bridge_only = (("--publish", opts.publish), ("--network-alias", opts.network_aliases),
                       ("--ip", opts.ip), ("--mac-address", opts.mac_address),
                       ("--add-host HOST:host-gateway", gateway))  # fmt: skip
        given_flags = [flag for flag, value in bridge_only if value]
        if given_flags and opts.network is None:  # the default: host, in a sandbox that says why
            from conman_systemd.core.networks import check_bridges_allowed

            check_bridges_allowed()
        if given_flags:
            raise ConmanError(f"{given_flags[0]} needs a bridge network, not --network {network}",
                              hint="give --network bridge or a network's name")  # fmt: skip
        return {"network": network}
    from conman_systemd.core.networks import DEFAULT_NETWORK

    return {"network": "bridge", "networks": (DEFAULT_NETWORK if network == "bridge" else network,),
            "network_aliases": opts.network_aliases, "ip": opts.ip or "",
            "mac_address": opts.mac_address or "", "ports": ports}  # fmt: skip


def run_options(command: str, values: dict[str, Any]) -> RunOptions:
    """The typed options of run or create from raw values (either parser's, or a definition's)."""
    from conman_systemd.core.flags import CLIENT_ONLY, typed

    fields = typed(command, values)
    fields.setdefault("detach", False)  # create has no -d
    return RunOptions(**{k: v for k, v in fields.items() if k not in CLIENT_ONLY})


RESOURCE_KEYS = ("memory", "memory_reservation", "memory_swap", "cpus", "cpu_shares", "cpu_weight",
                 "cpuset_cpus", "pids_limit", "blkio_weight", "device_read_bps",
                 "device_write_bps")  # fmt: skip


def resource_fields(given: Mapping[str, Any]) -> dict[str, Any]:
    """The spec's resource fields from the resource options given (run, create, update)."""
    from conman_systemd.core.resource_options import check_memory

    values = {k: v for k in RESOURCE_KEYS if (v := given.get(k)) is not None and v != ()}
    fields = {
        k: v for k, v in values.items() if k not in ("cpu_shares", "device_read_bps", "device_write_bps")
    }
    if "cpu_shares" in values and "cpu_weight" in values:
        raise ConmanError("--cpu-shares and --cpu-weight set the same weight: give one of them")
    if "cpu_shares" in values:  # docker's shares as systemd's weight, as runc converts them
        fields["cpu_weight"] = 1 + (values["cpu_shares"] - 2) * 9999 // 262142
    for key in ("device_read_bps", "device_write_bps"):
        if key in values:
            fields[key] = dict(values[key])
    check_memory(fields.get("memory", 0), fields.get("memory_reservation", 0), fields.get("memory_swap", 0))
    return fields


def spec_resources(opts: RunOptions) -> dict[str, Any]:
    """The spec's resource fields from run's or create's options."""
    return resource_fields({k: getattr(opts, k) for k in RESOURCE_KEYS})


def security_fields(opts: RunOptions) -> dict[str, Any]:
    fields: dict[str, Any] = {"cap_add": opts.cap_add, "cap_drop": opts.cap_drop,
                              "privileged": opts.privileged, "devices": opts.devices}  # fmt: skip
    if opts.init:
        from conman_systemd.container.security import find_init

        fields["init"] = find_init()
    for item in opts.security_opt:  # (each checked by its parser)
        key, _, value = item.partition("=")
        if key == "no-new-privileges":
            fields["no_new_privileges"] = value != "false"
        else:
            fields["seccomp"] = value
    return fields


def build_spec(
    opts: RunOptions,
    images: ImageStore,
    environ: Mapping[str, str] | None = None,
    *,
    cid: str | None = None,
    declared: bool = False,
) -> ContainerSpec:
    restart, restart_max = opts.restart
    if opts.rm and restart != "no":
        raise ConmanError(
            "--rm and --restart cannot be used together", hint="a restarted container is never removed"
        )
    if opts.watchdog and opts.sdnotify != "container":
        raise ConmanError("--watchdog needs --sdnotify=container: the app sends WATCHDOG=1")
    if opts.sdnotify != "conman" and (opts.interactive or opts.tty):
        raise ConmanError(
            f"--sdnotify={opts.sdnotify} is for containers without -i or -t",
            hint="their IO server is the unit's main process; run the app detached (-d) instead",
        )
    env = options.parse_env(opts.env, opts.env_files, os.environ if environ is None else environ)
    from conman_systemd.image.acquire import for_run

    image, image_name = for_run(images, opts.image, opts.pull)
    labels = {**image.labels, **options.parse_labels(opts.labels)}
    user = opts.user or image.user
    uid, gid = options.parse_user(user, image.rootfs) if user else (0, 0)
    stop_signal = opts.stop_signal or (options.parse_signal(image.stop_signal) if image.stop_signal else 15)
    if opts.runtime is None:
        from conman_systemd.config import default_runtime

        runtime = default_runtime()
    else:
        runtime = opts.runtime
    health = _health(opts, image)
    if opts.sdnotify == "healthy" and health is None:
        raise ConmanError("--sdnotify=healthy needs a health check", hint="give --health-cmd CMD")
    cid = cid or new_id()
    volumes = (*opts.volumes, *(m for m in opts.mounts if isinstance(m, Volume)))
    tmpfs = (*opts.tmpfs, *(m for m in opts.mounts if isinstance(m, Tmpfs)))
    return ContainerSpec(
        id=cid, name=opts.name or random_name(), image=image_name, image_id=image.id,
        rootfs=image.rootfs, command=_command(opts, image.cmd, image.entrypoint), runtime=runtime,
        env=(*image.env, *env), workdir=opts.workdir or image.workdir, uid=uid, gid=gid,
        hostname=opts.hostname or cid[:12], read_only=opts.read_only,
        volumes=_with_image_volumes(volumes, tmpfs, image.volumes), tmpfs=tmpfs,
        **network_fields(opts, image.exposed_ports), stop_signal=stop_signal, stop_timeout=opts.stop_timeout,
        restart=restart, restart_max=restart_max, labels=labels, interactive=opts.interactive,
        ulimits={name: [soft, hard] for name, soft, hard in opts.ulimits},
        tty=opts.tty, health=health, dns=opts.dns, dns_search=opts.dns_search, dns_options=opts.dns_options,
        add_hosts=opts.add_hosts, **unit_fields(opts),
        # --rm is decided here, once: the unit's clean-up removes the container when it ends,
        # whoever waits for it (or nobody, after a detach or a killed client).
        remove_on_exit=opts.rm, wait_for_attach=opts.attached, created=time.time(), declared=declared,
        **spec_resources(opts),
        **security_fields(opts),
    )  # fmt: skip

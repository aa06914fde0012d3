"""The container spec: frozen, typed, and the same JSON on both sides of the CLI -> shim hand-over.

Stdlib only and light (no typing, enum or json imports at run time): the shim reads it on every
container start. Closed sets are Literal types for mypy and tuples of their values at run time.
"""

from __future__ import annotations

import os

from conman_systemd import fastjson
from conman_systemd.frozen import Frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    RestartPolicy = Literal["no", "on-failure", "always", "unless-stopped"]
    Network = str  # host, none, bridge (on the networks named), or container:ID
    RuntimeName = Literal["crun", "runc"]

RESTART_POLICIES = ("no", "on-failure", "always", "unless-stopped")
NETWORKS = ("host", "none", "bridge")
RUNTIMES = ("crun", "runc")
SDNOTIFY = ("conman", "container", "healthy")
NOTIFY_DIR = "/run/notify"  # in the container, with --sdnotify=container: NOTIFY_DIR/notify.sock
UNIT_SLICE = "conman.slice"  # every container's unit lives in it
SIGKILL = 9
DEFAULT_PIDS_LIMIT = 2048  # podman's: a fork bomb in one container must not exhaust the host's pids


class Volume(Frozen):
    """A bind of a host path, or a named volume (name: its directory under the state root is the
    source); an anonymous volume's name is made at create. copy_up: a new, empty named volume
    gets what the image has at its destination (docker's; `nocopy` turns it off)."""

    source: str
    destination: str
    read_only: bool = False
    name: str = ""
    anonymous: bool = False
    copy_up: bool = True


class Tmpfs(Frozen):
    destination: str
    options: tuple[str, ...] = ()


class Port(Frozen):
    """A published port (a range of `count` ports from the first): the host's host_port on host_ip
    ("": every address) forwards to container_port, as netavark's port mapping has it."""

    host_port: int
    container_port: int
    protocol: str = "tcp"
    host_ip: str = ""
    count: int = 1

    def span(self, first: int) -> str:
        """first, or the range of count ports from it: 8080-8081."""
        return f"{first}-{first + self.count - 1}" if self.count > 1 else str(first)

    def __str__(self) -> str:
        """docker's form: 0.0.0.0:8080->80/tcp (a range: 0.0.0.0:8080-8081->80-81/tcp)."""
        host = f"{self.host_ip or '0.0.0.0'}:{self.span(self.host_port)}"
        return f"{host}->{self.span(self.container_port)}/{self.protocol}"


class HealthCheck(Frozen):
    """docker's HEALTHCHECK: test is the command (argv; a shell command is ["/bin/sh", "-c", CMD]);
    times in seconds; on_failure is podman's action once the container turns unhealthy."""

    test: tuple[str, ...]
    interval: float = 30.0
    timeout: float = 30.0
    start_period: float = 0.0
    retries: int = 3
    on_failure: str = "none"


class ContainerSpec(Frozen):
    id: str
    name: str
    image: str  # the reference the user gave, e.g. busybox:latest
    image_id: str
    rootfs: str  # the image's rootfs: the overlay's lower layer
    command: tuple[str, ...]  # entrypoint + arguments, resolved at create time
    runtime: RuntimeName = "runc"
    env: tuple[str, ...] = ()
    workdir: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    hostname: str = ""
    volumes: tuple[Volume, ...] = ()
    tmpfs: tuple[Tmpfs, ...] = ()
    read_only: bool = False
    network: Network = "host"
    networks: tuple[str, ...] = ()  # with network "bridge": the networks it is on, by name
    network_aliases: tuple[str, ...] = ()  # more names for it on those networks
    ip: str = ""  # --ip: its address on the first network
    mac_address: str = ""
    ports: tuple[Port, ...] = ()  # -p / -P, host ports chosen at create
    stop_signal: int = 15
    stop_timeout: int = 10
    restart: RestartPolicy = "no"
    restart_max: int = 0  # on-failure:N; 0 means no limit
    labels: dict[str, str] = {}  # copied per record, never shared
    ulimits: dict[str, list[int]] = {}  # --ulimit: name -> [soft, hard]
    interactive: bool = False
    tty: bool = False
    remove_on_exit: bool = False  # --rm: the unit's clean-up removes everything
    wait_for_attach: bool = False  # foreground -i/-t: start the process once the client is there
    # Declared in a definition file: its unit is NAME.service, written by conman's generator.
    declared: bool = False
    # Who says the container is ready: conman (it runs), the app's own sd_notify (container), or
    # the first passing health check (healthy).
    sdnotify: str = "conman"
    watchdog: float = 0  # seconds: the unit's WatchdogSec= (0: none)
    health: HealthCheck | None = None
    dns: tuple[str, ...] = ()  # --dns: nameservers (none: the host's)
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    add_hosts: tuple[str, ...] = ()  # --add-host HOST:IP
    # journald's rate limit for the unit: log_burst lines per log_interval seconds (0: none)
    log_burst: int = 0
    log_interval: float = 0.0
    # Resources, the unit's (0: no limit; memory in bytes): core/unit.py maps them.
    memory: int = 0
    memory_reservation: int = 0
    memory_swap: int = 0  # memory + swap; -1: unlimited swap
    cpus: float = 0.0
    cpu_weight: int = 0
    cpuset_cpus: str = ""  # the runtime's (OCI config): systemd's AllowedCPUs= needs cgroup v2
    pids_limit: int = DEFAULT_PIDS_LIMIT
    blkio_weight: int = 0
    device_read_bps: dict[str, int] = {}
    device_write_bps: dict[str, int] = {}
    # Privileges (container/security.py): docker's defaults unless changed.
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    no_new_privileges: bool = False
    seccomp: str = ""  # the default profile; "unconfined", or a profile's path
    devices: tuple[str, ...] = ()  # HOST:CONTAINER:PERMISSIONS
    init: str = ""  # --init: the host's catatonit (or tini-static), bound in as the container's PID 1
    created: float = 0.0  # seconds since the epoch

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def unit(self) -> str:
        return f"{self.name}.service" if self.declared else unit_name(self.id)

    @property
    def health_units(self) -> tuple[str, str]:
        """The health checks' timer and service (systemd-run makes them when the container starts)."""
        return f"conman-{self.id}-health.timer", f"conman-{self.id}-health.service"

    @property
    def restarts(self) -> bool:
        """Whether systemd restarts the container by a policy."""
        return self.restart != "no"

    @property
    def network_of(self) -> str | None:
        """--network container:ID: the ID of the container whose network namespace it joins."""
        return self.network.removeprefix("container:") if self.network.startswith("container:") else None

    @property
    def bridged(self) -> bool:
        """On bridge networks: a network namespace of its own that the shim sets up at each start."""
        return self.network == "bridge"

    @property
    def log_rate_limit(self) -> str:
        """--log-rate-limit as a user writes it."""
        return f"{self.log_burst}/{self.log_interval:g}s" if self.log_burst else "none"

    @property
    def shim_stays(self) -> bool:
        """The shim stays the unit's main process: it serves the container's stdio (-i, -t), or it
        passes notifications on (the app's with --sdnotify=container, the health checks')."""
        return self.owns_stdio or self.sdnotify == "container" or self.health is not None

    @property
    def owns_stdio(self) -> bool:
        """-i or -t: the shim stays as the container's IO server; otherwise it hands over and exits."""
        return self.interactive or self.tty

    def success_exit_status(self) -> tuple[list[int], list[int]]:
        """(exit codes, signals) that end the container cleanly beyond systemd's own: a stop ends
        the init by the stop signal (or exit 128+N), or by SIGKILL after the timeout, and none of
        those may leave the unit "failed" (users' pain with podman units). The unit's
        SuccessExitStatus= and the shim's prediction of Result= both come from here."""
        return [128 + self.stop_signal, 128 + SIGKILL], sorted({self.stop_signal, SIGKILL})

    def to_json(self) -> str:
        return fastjson.dumps(self.as_dict())

    @classmethod
    def from_json(cls, text: str) -> ContainerSpec:
        return cls.from_dict(fastjson.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContainerSpec:
        """The spec a (possibly older) JSON file describes: unknown keys are ignored."""
        known = {k: v for k, v in data.items() if k in _FIELDS}
        for key in ("command", "env", "additional_gids", "cap_add", "cap_drop", "devices", "dns",
                    "dns_search", "dns_options", "add_hosts", "networks", "network_aliases"):  # fmt: skip
            if key in known:
                known[key] = tuple(known[key])
        known["volumes"] = tuple(Volume(**v) for v in known.get("volumes", ()))
        known["ports"] = tuple(Port(**p) for p in known.get("ports", ()))
        if known.get("health"):
            known["health"] = HealthCheck(**{**known["health"], "test": tuple(known["health"]["test"])})
        known["tmpfs"] = tuple(
            Tmpfs(destination=t["destination"], options=tuple(t.get("options", ())))
            for t in known.get("tmpfs", ())
        )
        checked = (("restart", RESTART_POLICIES), ("runtime", RUNTIMES), ("sdnotify", SDNOTIFY))
        network = str(known.get("network", "host"))
        if network not in NETWORKS and not network.startswith("container:"):
            raise ValueError(f"network {network!r} is not one of {', '.join(NETWORKS)} or container:ID")
        for key, allowed in checked:
            if key in known and known[key] not in allowed:
                raise ValueError(f"{key} {known[key]!r} is not one of {', '.join(allowed)}")
        return cls(**known)


_FIELDS = frozenset(ContainerSpec(id="", name="", image="", image_id="", rootfs="", command=()).as_dict())


def unit_name(cid: str) -> str:
    return f"conman-{cid}.service"


def unit_cgroup(unit: str) -> str:
    """The cgroup systemd gives the container's unit (its Slice= is conman.slice, at the root)."""
    return f"/{UNIT_SLICE}/{unit}"


CGROUP_ROOT = "/sys/fs/cgroup"


def unified_cgroups() -> bool:
    """The unified hierarchy alone (cgroup v2): systemd manages every cgroup of the unit."""
    return os.path.exists(f"{CGROUP_ROOT}/cgroup.controllers")

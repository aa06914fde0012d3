"""The one table of container options: flags, destinations, parsers and help for run, create, exec.

The CLI builds both its parsers from it (click's, and the fast one `conman run` uses), and the
typed options a container spec is built from are filled through it. A parser turns the text into
the typed value and raises one clear ConmanError for a bad one; values that need the image (users)
or the environment (-e NAME) are parsed when the spec is built.
"""

from __future__ import annotations

from conman_systemd.core import options as parse
from conman_systemd.core.detach_keys import DEFAULT_DETACH_KEYS
from conman_systemd.frozen import Frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

FLAG, VALUE, LIST, SWITCH = "flag", "value", "list", "switch"  # kinds: on/off, one, repeatable, --x/--no-x


class Option(Frozen):
    flags: tuple[str, ...]  # e.g. ("-e", "--env"); a SWITCH has ("--x",) and gets --no-x too
    dest: str
    help: str
    commands: frozenset[str]  # run, create, exec
    kind: str = VALUE
    default: Any = None
    integer: bool = False  # click converts it (and says so for "abc")
    parse: Callable[[Any], Any] | None = None  # the typed value; one clear error for a bad one
    choices: tuple[str, ...] = ()
    show_default: bool = False

    @property
    def empty(self) -> Any:
        """The value when the option is not given."""
        return () if self.kind == LIST else (False if self.kind == FLAG else self.default)


class Argument(Frozen):
    dest: str
    required: bool = True
    variadic: bool = False  # the rest of the command line, options included


RUN, CREATE, EXEC, UPDATE = "run", "create", "exec", "update"
_ALL = frozenset({RUN, CREATE, EXEC})
_CONTAINER = frozenset({RUN, CREATE})
_RESOURCES = frozenset({RUN, CREATE, UPDATE})  # `conman update` changes them on a running container
_RUN = frozenset({RUN})


# --tmpfs and --mount are rare: their parsers load only when one is given (~0.5 ms off `run`).
def _tmpfs(text: str) -> Any:
    from conman_systemd.core.mount_options import parse_tmpfs

    return parse_tmpfs(text)


def _mount(text: str) -> Any:
    from conman_systemd.core.mount_options import parse_mount

    return parse_mount(text)


def _lazy(module: str, parser: str) -> Callable[[Any], Any]:
    """A parser of module, imported only when its flag is given (rare flags stay off run's path)."""

    def parse(value: Any) -> Any:
        return getattr(__import__(module, fromlist=[parser]), parser)(value)

    return parse


def _health(parser: str) -> Callable[[Any], Any]:
    return _lazy("conman_systemd.core.health", parser)


def _net(parser: str) -> Callable[[Any], Any]:
    return _lazy("conman_systemd.core.network_options", parser)


def _dns(parser: str) -> Callable[[Any], Any]:
    return _lazy("conman_systemd.core.dns_options", parser)


def _resource(parser: str) -> Callable[[Any], Any]:
    return _lazy("conman_systemd.core.resource_options", parser)


def _security(parser: str) -> Callable[[Any], Any]:
    return _lazy("conman_systemd.container.security", parser)


SECURITY = (
    Option(flags=("--cap-add",), dest="cap_add", kind=LIST, commands=_CONTAINER,
           parse=_security("parse_capability"), help="Add a capability (e.g. NET_ADMIN, or ALL)."),
    Option(flags=("--cap-drop",), dest="cap_drop", kind=LIST, commands=_CONTAINER,
           parse=_security("parse_capability"), help="Drop a capability (e.g. NET_RAW, or ALL)."),
    Option(flags=("--init",), dest="init", kind=FLAG, commands=_CONTAINER,
           help="Run an init (catatonit) as PID 1 that reaps zombies and forwards signals."),
    Option(flags=("--privileged",), dest="privileged", kind=FLAG, commands=_CONTAINER,
           help="Every capability, no seccomp filter, no masked paths."),
    Option(flags=("--security-opt",), dest="security_opt", kind=LIST, commands=_CONTAINER,
           parse=_security("parse_security_opt"),
           help="Security options: no-new-privileges, seccomp=unconfined, seccomp=PROFILE.json."),
    Option(flags=("--device",), dest="devices", kind=LIST, commands=_CONTAINER,
           parse=_security("parse_device"), help="A host device in the container: HOST[:CONTAINER][:rwm]."),
)  # fmt: skip

RESOURCES = (
    Option(flags=("-m", "--memory"), dest="memory", commands=_RESOURCES, parse=_resource("parse_memory"),
           help="Memory limit, e.g. 512m (the unit's MemoryMax=)."),
    Option(flags=("--memory-reservation",), dest="memory_reservation", commands=_RESOURCES,
           parse=_resource("parse_memory_reservation"),
           help="Memory kept for it under pressure (MemoryLow=)."),
    Option(flags=("--memory-swap",), dest="memory_swap", commands=_RESOURCES,
           parse=_resource("parse_memory_swap"), help="Memory plus swap limit; -1: unlimited swap."),
    Option(flags=("--cpus",), dest="cpus", commands=_RESOURCES, parse=_resource("parse_cpus"),
           help="CPUs it may use, e.g. 1.5 (CPUQuota=150%)."),
    Option(flags=("-c", "--cpu-shares"), dest="cpu_shares", integer=True, commands=_RESOURCES,
           parse=_resource("parse_cpu_shares"),
           help="Relative CPU share, 2 to 262144 (docker's; CPUWeight=)."),
    Option(flags=("--cpu-weight",), dest="cpu_weight", integer=True, commands=_RESOURCES,
           parse=_resource("parse_cpu_weight"), help="Relative CPU weight, 1 to 10000 (CPUWeight=)."),
    Option(flags=("--cpuset-cpus",), dest="cpuset_cpus", commands=_RESOURCES,
           parse=_resource("parse_cpuset"), help="CPUs it may run on, e.g. 0-3,5."),
    Option(flags=("--pids-limit",), dest="pids_limit", integer=True, commands=_RESOURCES,
           parse=_resource("parse_pids_limit"),
           help="Most processes at once (default 2048; -1: no limit) (TasksMax=)."),
    Option(flags=("--blkio-weight",), dest="blkio_weight", integer=True, commands=_RESOURCES,
           parse=_resource("parse_blkio_weight"), help="Relative block IO weight, 10 to 1000 (IOWeight=)."),
    Option(flags=("--device-read-bps",), dest="device_read_bps", kind=LIST, commands=_RESOURCES,
           parse=_resource("parse_device_rate"), help="Read rate limit DEVICE:RATE, e.g. /dev/sda:10mb."),
    Option(flags=("--device-write-bps",), dest="device_write_bps", kind=LIST, commands=_RESOURCES,
           parse=_resource("parse_device_rate"), help="Write rate limit DEVICE:RATE."),
)  # fmt: skip

OPTIONS = (
    Option(flags=("-d", "--detach"), dest="detach", kind=FLAG, commands=frozenset({RUN, EXEC}),
           help="Run in the background (run: print the container ID)."),
    Option(flags=("-i", "--interactive"), dest="interactive", kind=FLAG, commands=_ALL,
           help="Keep stdin open."),
    Option(flags=("-t", "--tty"), dest="tty", kind=FLAG, commands=_ALL, help="Allocate a terminal."),
    Option(flags=("--detach-keys",), dest="detach_keys", default=DEFAULT_DETACH_KEYS, show_default=True,
           commands=_RUN, help="Keys that detach."),
    Option(flags=("-a", "--attach"), dest="attach", kind=LIST, commands=_RUN, parse=parse.parse_stream,
           help="Attach to STDIN, STDOUT or STDERR only (repeat for several; default: all)."),
    Option(flags=("--sig-proxy",), dest="sig_proxy", kind=SWITCH, default=True, commands=_RUN,
           help="Pass signals on to the container (not with -t)."),
    Option(flags=("--dry-run",), dest="dry_run", kind=FLAG, commands=_RUN,
           help="Print the unit properties and OCI config; run nothing."),
    Option(flags=("--name",), dest="name", commands=_CONTAINER, parse=parse.validate_name,
           help="Container name, unique: [a-zA-Z0-9][a-zA-Z0-9_.-]*."),
    Option(flags=("--rm",), dest="rm", kind=FLAG, commands=_CONTAINER,
           help="Remove the container when it exits."),
    Option(flags=("-e", "--env"), dest="env", kind=LIST, commands=_ALL,
           help="Set an environment variable (K=V, or K from here)."),
    Option(flags=("--env-file",), dest="env_files", kind=LIST, commands=_CONTAINER,
           help="Read environment variables from a file."),
    Option(flags=("-w", "--workdir"), dest="workdir", commands=_ALL, parse=parse.parse_workdir,
           help="Working directory inside the container."),
    Option(flags=("-u", "--user"), dest="user", commands=_ALL,
           help="UID[:GID] or names from the image."),
    Option(flags=("-h", "--hostname"), dest="hostname", commands=_CONTAINER, parse=parse.parse_hostname,
           help="Container host name (default: the short ID)."),
    Option(flags=("-v", "--volume"), dest="volumes", kind=LIST, commands=_CONTAINER,
           parse=parse.parse_volume,
           help="Bind a host path or a volume: SRC:DST[:ro|rw][,nocopy]; DST alone: an anonymous volume."),
    Option(flags=("--tmpfs",), dest="tmpfs", kind=LIST, commands=_CONTAINER, parse=_tmpfs,
           help="A tmpfs at DEST[:OPTIONS] (docker's defaults: nosuid,nodev,noexec,mode=1777)."),
    Option(flags=("--mount",), dest="mounts", kind=LIST, commands=_CONTAINER, parse=_mount,
           help="Mount type=bind|volume,source=SRC,target=DST[,readonly] or type=tmpfs,target=DST."),
    Option(flags=("--read-only",), dest="read_only", kind=FLAG, commands=_CONTAINER,
           help="Mount the container's root file system read-only."),
    Option(flags=("--entrypoint",), dest="entrypoint", commands=_CONTAINER,
           help="Override the image's entrypoint."),
    Option(flags=("--stop-signal",), dest="stop_signal", commands=_CONTAINER, parse=parse.parse_signal,
           help="Stop signal (default: the image's, else SIGTERM)."),
    Option(flags=("--stop-timeout",), dest="stop_timeout", default=10, integer=True, show_default=True,
           commands=_CONTAINER, parse=parse.parse_stop_timeout,
           help="Seconds to wait after the stop signal before SIGKILL."),
    Option(flags=("--label",), dest="labels", kind=LIST, commands=_CONTAINER, help="Set a label K=V."),
    Option(flags=("--network",), dest="network", commands=_CONTAINER, parse=_net("parse_network"),
           help="Network: bridge (the default), NAME, host, none, or container:NAME (joins its namespace)."),
    Option(flags=("--network-alias",), dest="network_aliases", kind=LIST, commands=_CONTAINER,
           parse=_net("parse_alias"), help="Another name the container has on its networks."),
    Option(flags=("--ip",), dest="ip", commands=_CONTAINER, parse=_net("parse_ip"),
           help="The container's IPv4 address on its network."),
    Option(flags=("--mac-address",), dest="mac_address", commands=_CONTAINER, parse=_net("parse_mac"),
           help="The container's MAC address on its network."),
    Option(flags=("-p", "--publish"), dest="publish", kind=LIST, commands=_CONTAINER,
           parse=_net("parse_publish"),
           help="Publish a port: [IP:][HOSTPORT:]CTRPORT[/PROTO] (ranges A-B; no HOSTPORT: a free one)."),
    Option(flags=("-P", "--publish-all"), dest="publish_all", kind=FLAG, commands=_CONTAINER,
           help="Publish every port the image exposes, each on a free host port."),
    Option(flags=("--dns",), dest="dns", kind=LIST, commands=_CONTAINER, parse=_dns("parse_dns"),
           help="A DNS server for the container's /etc/resolv.conf (replaces the host's)."),
    Option(flags=("--dns-search",), dest="dns_search", kind=LIST, commands=_CONTAINER,
           parse=_dns("parse_dns_search"), help="A DNS search domain (replaces the host's; . for none)."),
    Option(flags=("--dns-option",), dest="dns_options", kind=LIST, commands=_CONTAINER,
           parse=_dns("parse_dns_option"), help="A resolv.conf option, e.g. ndots:2 (replaces the host's)."),
    Option(flags=("--add-host",), dest="add_hosts", kind=LIST, commands=_CONTAINER,
           parse=_dns("parse_add_host"), help="A line of the container's /etc/hosts: HOST:IP."),
    Option(flags=("--sdnotify",), dest="sdnotify", default="conman", show_default=True, commands=_CONTAINER,
           parse=parse.parse_sdnotify,
           help="Ready when: conman (it runs), container (the app's READY=1), healthy (a check passed)."),
    Option(flags=("--watchdog",), dest="watchdog", commands=_CONTAINER, parse=parse.parse_watchdog,
           help="Seconds within which the app must send WATCHDOG=1 (WatchdogSec=; --sdnotify=container)."),
    Option(flags=("--health-cmd",), dest="health_cmd", commands=_CONTAINER,
           help="Check the container's health with this command (run by /bin/sh -c; exit 0: healthy)."),
    Option(flags=("--health-interval",), dest="health_interval", commands=_CONTAINER,
           parse=parse.parse_duration, help="Time between checks, e.g. 30s (the default) or 1m30s."),
    Option(flags=("--health-retries",), dest="health_retries", integer=True, commands=_CONTAINER,
           help="Failed checks in a row that make it unhealthy (default 3)."),
    Option(flags=("--health-start-period",), dest="health_start_period", commands=_CONTAINER,
           parse=parse.parse_duration, help="Time to start in, whose failed checks do not count (0s)."),
    Option(flags=("--health-timeout",), dest="health_timeout", commands=_CONTAINER,
           parse=parse.parse_duration, help="Longest a check may take before it fails (default 30s)."),
    Option(flags=("--health-on-failure",), dest="health_on_failure", commands=_CONTAINER,
           parse=_health("parse_action"), help="Once unhealthy: none (the default), kill, restart or stop."),
    Option(flags=("--no-healthcheck",), dest="no_healthcheck", kind=FLAG, commands=_CONTAINER,
           help="No health check, not even the image's."),
    Option(flags=("--log-rate-limit",), dest="log_rate_limit", commands=_CONTAINER,
           parse=parse.parse_log_rate_limit,
           help="Most lines journald keeps per interval, e.g. 10000/10s (the default), or none."),
    Option(flags=("--restart",), dest="restart", default="no", show_default=True, commands=_CONTAINER,
           parse=parse.parse_restart, help="Restart policy: no, on-failure[:N], always or unless-stopped."),
    Option(flags=("--ulimit",), dest="ulimits", kind=LIST, commands=_CONTAINER, parse=parse.parse_ulimit,
           help="A resource limit NAME=SOFT[:HARD], e.g. nofile=1024:2048 (-1: unlimited)."),
    Option(flags=("--log-driver",), dest="log_driver", default="journald", show_default=True,
           commands=_CONTAINER, parse=parse.parse_log_driver,
           help="Log driver: journald only (the output goes to the unit's journal)."),
    Option(flags=("--pull",), dest="pull", default="missing", show_default=True, commands=_CONTAINER,
           choices=("missing", "always", "never"), help="When to pull the image: missing, always or never."),
    Option(flags=("--runtime",), dest="runtime", commands=_CONTAINER, parse=parse.parse_runtime,
           help="OCI runtime: crun or runc (default: the config's, else crun when installed)."),
    *RESOURCES,
    *SECURITY,
)  # fmt: skip

# What the client does with, not the container: no RunOptions field (log_driver: checked only).
CLIENT_ONLY = frozenset({"detach_keys", "sig_proxy", "dry_run", "log_driver", "attach"})

ARGUMENTS = {
    RUN: (Argument(dest="image"), Argument(dest="command", required=False, variadic=True)),
    CREATE: (Argument(dest="image"), Argument(dest="command", required=False, variadic=True)),
    EXEC: (Argument(dest="container"), Argument(dest="command", variadic=True)),
}


def options_of(command: str) -> tuple[Option, ...]:
    return tuple(o for o in OPTIONS if command in o.commands)


def typed(command: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Raw values (as either parser leaves them) -> typed values, in the table's order."""
    values = dict(raw)
    for option in options_of(command):
        value = values.get(option.dest, option.empty)
        if option.parse is not None and value is not None:
            value = tuple(map(option.parse, value)) if option.kind == LIST else option.parse(value)
        values[option.dest] = value
    return values

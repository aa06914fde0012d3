"""`conman generate NAME`: a definition file that declares the container as it was created.

The spec holds what the options resolved to (the image's entrypoint and command joined, its
environment added, the user as numbers): the definition says that, so the declared container
runs the same command even when the image changes its defaults.
"""

from __future__ import annotations

import shlex

from conman_systemd.container.spec import ContainerSpec, Port, Volume
from conman_systemd.core.unit import signal_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def _line(key: str, value: object) -> str:
    return f"{key}={value}"


def container_lines(spec: ContainerSpec, image_env: Sequence[str] = ()) -> list[str]:
    lines = [_line("Image", spec.image), "Entrypoint=", _line("Exec", shlex.join(spec.command))]
    # The image's environment comes first in the spec: the image gives it again.
    own = spec.env[len(image_env) :] if spec.env[: len(image_env)] == tuple(image_env) else spec.env
    lines += [_line("Env", item) for item in own]
    if spec.workdir != "/":
        lines.append(_line("Workdir", spec.workdir))
    if (spec.uid, spec.gid) != (0, 0):
        lines.append(_line("User", f"{spec.uid}:{spec.gid}"))
    if spec.hostname and spec.hostname != spec.id[:12]:
        lines.append(_line("Hostname", spec.hostname))
    for v in spec.volumes:
        lines.append(_line("Volume", _volume(v)))
    for t in spec.tmpfs:
        lines.append(_line("Tmpfs", t.destination + (f":{','.join(t.options)}" if t.options else "")))
    if spec.read_only:
        lines.append("ReadOnly=yes")
    lines += [_line("StopSignal", signal_name(spec.stop_signal)), _line("StopTimeout", spec.stop_timeout)]
    lines += [_line("Label", f"{k}={v}") for k, v in sorted(spec.labels.items())]
    lines.append(_line("Network", spec.networks[0] if spec.bridged else spec.network))
    lines += [_line("NetworkAlias", alias) for alias in spec.network_aliases]
    for key, value in (("Ip", spec.ip), ("MacAddress", spec.mac_address)):
        if value:
            lines.append(_line(key, value))
    lines += [_line("Publish", _publish(p)) for p in spec.ports]
    for key, values in (("Dns", spec.dns), ("DnsSearch", spec.dns_search), ("DnsOption", spec.dns_options),
                        ("AddHost", spec.add_hosts)):  # fmt: skip
        lines += [_line(key, value) for value in values]
    restart = f"{spec.restart}:{spec.restart_max}" if spec.restart_max else spec.restart
    lines.append(_line("Restart", restart))
    for name, (soft, hard) in sorted(spec.ulimits.items()):
        lines.append(_line("Ulimit", f"{name}={soft}:{hard}"))
    lines.append(_line("Runtime", spec.runtime))
    lines.append(_line("LogRateLimit", spec.log_rate_limit))
    if spec.sdnotify != "conman":
        lines.append(_line("Sdnotify", spec.sdnotify))
    if spec.watchdog:
        lines.append(_line("Watchdog", f"{spec.watchdog:g}"))
    lines += _health_lines(spec)
    lines += _resource_lines(spec)
    return lines


def _resource_lines(spec: ContainerSpec) -> list[str]:
    lines = [_line(key, value) for key, value in (
        ("Memory", spec.memory), ("MemoryReservation", spec.memory_reservation),
        ("MemorySwap", spec.memory_swap), ("Cpus", spec.cpus), ("CpuWeight", spec.cpu_weight),
        ("CpusetCpus", spec.cpuset_cpus), ("BlkioWeight", spec.blkio_weight)) if value]  # fmt: skip
    lines.append(_line("PidsLimit", spec.pids_limit or -1))
    for key, rates in (("DeviceReadBps", spec.device_read_bps), ("DeviceWriteBps", spec.device_write_bps)):
        lines += [_line(key, f"{path}:{rate}") for path, rate in sorted(rates.items())]
    lines += [_line("CapAdd", c) for c in spec.cap_add] + [_line("CapDrop", c) for c in spec.cap_drop]
    lines += [_line("Device", d) for d in spec.devices]
    if spec.privileged:
        lines.append("Privileged=yes")
    if spec.init:
        lines.append("Init=yes")
    if spec.no_new_privileges:
        lines.append("SecurityOpt=no-new-privileges")
    if spec.seccomp:
        lines.append(_line("SecurityOpt", f"seccomp={spec.seccomp}"))
    return lines


def definition_text(spec: ContainerSpec, image_env: Sequence[str] = ()) -> str:
    return "\n".join([
        f"# conman generate {spec.name}: save as /etc/conman/containers/{spec.name}.container,",
        "# then `systemctl daemon-reload` and `systemctl start " + f"{spec.name}.service`.",
        "[Container]",
        *container_lines(spec, image_env),
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])  # fmt: skip


def _volume(v: Volume) -> str:
    """-v's spelling: an anonymous volume is its destination alone (the next one is a new one)."""
    if v.anonymous:
        return v.destination
    flags = [*(["ro"] if v.read_only else []), *(["nocopy"] if v.name and not v.copy_up else [])]
    return f"{v.name or v.source}:{v.destination}" + (f":{','.join(flags)}" if flags else "")


def _health_lines(spec: ContainerSpec) -> list[str]:
    """The check as flags give it; one of the image's in its exec form (CMD) is the image's again."""
    check = spec.health
    if check is None or check.test[:2] != ("/bin/sh", "-c"):
        return []
    return [_line("HealthCmd", check.test[2]), _line("HealthInterval", f"{check.interval:g}s"),
            _line("HealthTimeout", f"{check.timeout:g}s"),
            _line("HealthStartPeriod", f"{check.start_period:g}s"), _line("HealthRetries", check.retries),
            _line("HealthOnFailure", check.on_failure)]  # fmt: skip


def _publish(port: Port) -> str:
    """-p's text of a published port, its host port as it was picked."""
    host = f"{port.host_ip}:" if port.host_ip else ""
    return f"{host}{port.span(port.host_port)}:{port.span(port.container_port)}/{port.protocol}"

"""A bridged container's network, checked and completed before it is created: its networks exist
(the default one is made), --ip fits, and every published port has its host port.

A host port is the container's from its create to its removal, running or not (podman picks them
at create too): `conman port` names it at once, and a second container cannot be given it.
"""

from __future__ import annotations

import os
import socket

from conman_systemd.container.filelock import FileLock
from conman_systemd.container.ipam import in_subnet
from conman_systemd.core.networks import Networks, check_bridges_allowed
from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from conman_systemd.container.paths import Paths
    from conman_systemd.container.spec import ContainerSpec, Port

EPHEMERAL = "/proc/sys/net/ipv4/ip_local_port_range"


def locked(paths: Paths) -> FileLock:
    """Held while a bridged container's ports are picked and its spec written: of two creates of one
    port, exactly one wins. Bridges are checked allowed first: a refusal leaves nothing behind."""
    check_bridges_allowed()
    return FileLock(os.path.join(paths.networks, ".ports.lock"))


def prepare(paths: Paths, spec: ContainerSpec, others: Iterable[ContainerSpec]) -> ContainerSpec:
    """Its networks made or found, --ip checked, host ports picked (under locked())."""
    networks = [Networks(paths).get(name) for name in spec.networks]
    others = [o for o in others if o.id != spec.id]
    if spec.ip:
        subnet = networks[0]["subnets"][0]
        if not in_subnet(spec.ip, subnet["subnet"]) or spec.ip == subnet.get("gateway"):
            raise ConmanError(f"--ip {spec.ip} is not a free address of network {spec.networks[0]} "
                              f"({subnet['subnet']}, gateway {subnet.get('gateway')})")  # fmt: skip
        holder = next(
            (o.name for o in others if o.ip == spec.ip and o.networks[:1] == spec.networks[:1]), None
        )
        if holder:
            raise ConmanError(f"--ip {spec.ip} is taken on network {spec.networks[0]} by container {holder}")
    return spec.replace(ports=assign_ports(spec.ports, others))


def _span(port: Port) -> range:
    return range(port.host_port, port.host_port + port.count)


def _clash(a: Port, b: Port) -> bool:
    same_address = not a.host_ip or not b.host_ip or a.host_ip == b.host_ip
    return a.protocol == b.protocol and same_address and bool(set(_span(a)) & set(_span(b)))


def _free_on_host(port: Port) -> bool:
    """Whether the host's own services leave the port free (a published port answers through
    the firewall's rules: a host process listening there would never see its connections)."""
    kind = socket.SOCK_DGRAM if port.protocol == "udp" else socket.SOCK_STREAM
    for number in _span(port):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((port.host_ip or "0.0.0.0", number))
            except OSError:
                return False
    return True


def assign_ports(ports: tuple[Port, ...], others: list[ContainerSpec]) -> tuple[Port, ...]:
    """The ports with their host ports: those given, checked; the others picked from the
    ephemeral range, free of other containers' ports and the host's listeners."""
    taken = [(o.name, p) for o in others for p in o.ports]
    done: list[Port] = []
    for port in ports:
        if port.host_port:
            for owner, other in [*taken, *(("this container", d) for d in done)]:
                if _clash(port, other):
                    where = f"{port.host_ip or '0.0.0.0'}:{port.span(port.host_port)}/{port.protocol}"
                    raise ConmanError(f"port {where} is already published by {owner}")
            if port.protocol != "sctp" and not _free_on_host(port):
                raise ConmanError(f"host port {port.host_port}/{port.protocol} is in use on this host",
                                  hint="choose another, or leave it out to get a free one")  # fmt: skip
            done.append(port)
        else:
            done.append(_pick(port, [p for _, p in taken] + done))
    return tuple(done)


def _pick(port: Port, taken: list[Port]) -> Port:
    try:
        with open(EPHEMERAL) as f:
            low, high = (int(v) for v in f.read().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    size = high - low + 2 - port.count
    start = int.from_bytes(os.urandom(2), "big") % size
    for offset in range(size):
        candidate = port.replace(host_port=low + (start + offset) % size)
        if not any(_clash(candidate, t) for t in taken) and (
            port.protocol == "sctp" or _free_on_host(candidate)
        ):
            return candidate
    raise ConmanError(f"no free host port left for {port.container_port}/{port.protocol}")

"""docker's NetworkSettings of inspect, and the published ports as `port` and ps show them."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.container.spec import ContainerSpec
    from conman_systemd.core.containers import ContainerInfo


def each_port(spec: ContainerSpec) -> list[tuple[str, str, str]]:
    """(CONTAINERPORT/PROTO, host IP, host port) of every published port, ranges unrolled."""
    return [
        (f"{p.container_port + i}/{p.protocol}", p.host_ip or "0.0.0.0", str(p.host_port + i))
        for p in spec.ports
        for i in range(p.count)
    ]


def port_lines(spec: ContainerSpec, private_port: str | None = None) -> list[str]:
    """`conman port`'s lines: 80/tcp -> 0.0.0.0:8080, of one container port or all."""
    if private_port is not None and "/" not in private_port:
        private_port += "/tcp"
    return [
        f"{inside} -> {address}:{port}" if private_port is None else f"{address}:{port}"
        for inside, address, port in each_port(spec)
        if private_port in (None, inside)
    ]


def settings(info: ContainerInfo) -> dict[str, Any]:
    """Addresses while it runs (from its last set-up); ports, fixed at create, always."""
    spec = info.spec
    ports: dict[str, list[dict[str, str]]] = {}
    for inside, address, port in each_port(spec):
        ports.setdefault(inside, []).append({"HostIp": address, "HostPort": port})
    up = info.records.network.get("networks", {}) if info.running else {}
    networks = {
        name: {"Aliases": list(spec.network_aliases), **_addresses(up.get(name, {}))}
        for name in (spec.networks if spec.bridged else (spec.network,))
    }
    first = next(iter(networks.values()), {})
    return {"Ports": ports, "Networks": networks, **_addresses(first)}


def _addresses(settings: dict[str, Any]) -> dict[str, Any]:
    return {key: settings.get(key, empty) for key, empty in
            (("IPAddress", ""), ("IPPrefixLen", 0), ("Gateway", ""), ("MacAddress", ""))}  # fmt: skip

"""Bridge networks: their definitions, and what a container on them needs before it is created.

A network is <root>/networks/NAME.json in netavark's own format (as podman keeps them), so the
shim hands it to netavark unchanged. `conman` is the default network (10.90.0.0/24 on bridge
conman0), made when a container first needs it; `conman network create` picks the next free
10.90.N.0/24 (none that a route of the host's covers) and bridge conmanN unless told otherwise.
"""

from __future__ import annotations

import os
import time

from conman_systemd import fastjson
from conman_systemd.container.filelock import FileLock
from conman_systemd.container.ipam import hosts, in_subnet, parse_subnet, to_int, to_text
from conman_systemd.container.paths import is_name, read_json, write_atomic
from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from conman_systemd.container.paths import Paths
    from conman_systemd.container.spec import ContainerSpec

DEFAULT_NETWORK = "conman"


def check_bridges_allowed() -> None:
    """A sandbox that shares the host's network must not change it (bridges, sysctls, rules);
    and bridges need netavark and aardvark-dns."""
    from conman_systemd.config import shares_host_network_in_sandbox
    from conman_systemd.container.network import AARDVARK, INSTALL_HINT, NETAVARK, installed

    if not (installed(NETAVARK) and installed(AARDVARK)):
        raise ConmanError("bridge networks need netavark and aardvark-dns", hint=INSTALL_HINT)
    if shares_host_network_in_sandbox():
        raise ConmanError("this sandbox shares the host's network: bridge networks would change the host's",
                          hint="use `conman sandbox --network private`, or --network host")  # fmt: skip


def _host_routes() -> list[tuple[int, int]]:
    """(destination, mask) of the IPv4 routes of this network namespace, the default route aside."""
    routes = []
    try:
        with open("/proc/net/route") as f:
            for line in f.read().splitlines()[1:]:
                fields = line.split()
                destination, mask = (
                    int.from_bytes(bytes.fromhex(v), "little") for v in (fields[1], fields[7])
                )
                if mask:
                    routes.append((destination, mask))
    except (OSError, IndexError, ValueError):
        pass
    return routes


class Networks:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    def _lock(self) -> FileLock:
        return FileLock(os.path.join(self.paths.networks, ".lock"))

    def find(self, name: str) -> dict[str, Any] | None:
        return read_json(self.paths.network(name)) if is_name(name) else None

    def get(self, name: str) -> dict[str, Any]:
        found = self.find(name)
        if found is None:
            if name == DEFAULT_NETWORK:
                return self.create(DEFAULT_NETWORK, exist_ok=True)
            raise ConmanError(f"no such network: {name}", hint="list networks with `conman network ls`")
        return found

    def all(self) -> list[dict[str, Any]]:
        try:
            names = sorted(n[:-5] for n in os.listdir(self.paths.networks) if n.endswith(".json"))
        except FileNotFoundError:
            names = []
        return [n for n in map(self.find, names) if n is not None]

    def create(self, name: str, subnet: str = "", gateway: str = "", internal: bool = False,
               labels: dict[str, str] | None = None, exist_ok: bool = False) -> dict[str, Any]:  # fmt: skip
        if not is_name(name) or name in ("host", "none", "bridge"):
            raise ConmanError(f'invalid network name "{name}": use letters, digits, ".", "_" and "-" '
                              "(not host, none or bridge)")  # fmt: skip
        with self._lock():
            existing = self.all()
            for network in existing:
                if network["name"] == name:
                    if exist_ok:
                        return network
                    raise ConmanError(f"network {name} already exists")
            used = [n["subnets"][0]["subnet"] for n in existing]
            subnet = self._subnet(subnet, used, default=name == DEFAULT_NETWORK)
            first, _ = parse_subnet(subnet)
            gateway = self._gateway(gateway or to_text(first + 1), subnet)
            network = {
                "name": name, "id": os.urandom(32).hex(), "driver": "bridge",
                "network_interface": self._interface([n.get("network_interface") for n in existing]),
                "subnets": [{"subnet": subnet, "gateway": gateway}], "ipv6_enabled": False,
                "internal": internal, "dns_enabled": True, "ipam_options": {"driver": "host-local"},
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "labels": labels or {},
            }  # fmt: skip
            write_atomic(self.paths.network(name), fastjson.dumps(network), 0o644)
            return network

    @staticmethod
    def _subnet(wanted: str, used: list[str], default: bool) -> str:
        if wanted:
            try:
                parse_subnet(wanted)
            except ValueError as e:
                raise ConmanError(f"invalid --subnet: {e}") from None
            clash = [u for u in used if _overlap(u, wanted)]
            if clash:
                raise ConmanError(f"subnet {wanted} overlaps subnet {clash[0]} of another network")
            return wanted
        routes = _host_routes()
        for third in range(0 if default else 1, 256):
            candidate = f"10.90.{third}.0/24"
            first = to_int(candidate[:-3])
            if any(_overlap(u, candidate) for u in used) or any(
                (first & mask) == (dest & mask) or (dest & 0xFFFFFF00) == first for dest, mask in routes
            ):
                continue
            return candidate
        raise ConmanError("no free subnet left in 10.90.0.0/16", hint="give one with --subnet")

    @staticmethod
    def _gateway(gateway: str, subnet: str) -> str:
        try:
            inside = in_subnet(gateway, subnet) and to_int(gateway) in hosts(subnet)
        except ValueError:
            inside = False
        if not inside:
            raise ConmanError(f"invalid --gateway {gateway}: not a host address of subnet {subnet}")
        return gateway

    @staticmethod
    def _interface(taken: list[str | None]) -> str:
        return next(f"conman{i}" for i in range(len(taken) + 1) if f"conman{i}" not in taken)

    def remove(self, name: str, containers: Iterable[ContainerSpec]) -> None:
        network = self.find(name)
        if network is None:
            raise ConmanError(f"no such network: {name}", hint="list networks with `conman network ls`")
        if name == DEFAULT_NETWORK:
            raise ConmanError(f"the default network {name} cannot be removed")
        users = sorted(s.name for s in containers if name in s.networks)
        if users:
            raise ConmanError(f"network {name} is in use by container {users[0]}",
                              hint="remove its containers first (conman rm -f NAME)")  # fmt: skip
        os.unlink(self.paths.network(name))


def _overlap(a: str, b: str) -> bool:
    (fa, ba), (fb, bb) = parse_subnet(a), parse_subnet(b)
    bits = min(ba, bb)
    return fa >> (32 - bits) == fb >> (32 - bits)

"""Addresses of containers on bridge networks: one lease per container and network.

netavark configures the addresses it is given and keeps none itself (podman does its own address
management too). The leases of a network are one small JSON file, {address: container ID}, under
the run root, changed under one lock: a reboot frees them all, as it ends every container. IPv4
only. Stdlib only (the shim leases at each start).
"""

from __future__ import annotations

import os

from conman_systemd import fastjson
from conman_systemd.container.filelock import FileLock
from conman_systemd.container.paths import read_json, write_atomic
from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from conman_systemd.container.paths import Paths


def to_int(address: str) -> int:
    parts = address.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise ValueError(f"{address!r} is not an IPv4 address")
    return int.from_bytes(bytes(int(p) for p in parts), "big")


def to_text(number: int) -> str:
    return ".".join(str(b) for b in number.to_bytes(4, "big"))


def parse_subnet(cidr: str) -> tuple[int, int]:
    """(first address, prefix length) of a.b.c.d/N; the address must be the subnet's first."""
    address, _, prefix = cidr.partition("/")
    if not prefix.isdigit() or not 8 <= int(prefix) <= 30:
        raise ValueError(f"{cidr!r} is not an IPv4 subnet with a prefix of 8 to 30 bits")
    first, bits = to_int(address), int(prefix)
    if first & ((1 << (32 - bits)) - 1):
        start = to_text(first >> (32 - bits) << (32 - bits))
        raise ValueError(f"{cidr!r} is not a subnet's first address: {start}/{bits}")
    return first, bits


def in_subnet(address: str, cidr: str) -> bool:
    first, bits = parse_subnet(cidr)
    return to_int(address) >> (32 - bits) == first >> (32 - bits)


def hosts(cidr: str) -> range:
    """The subnet's addresses for hosts: all but its first and its broadcast address."""
    first, bits = parse_subnet(cidr)
    return range(first + 1, first + (1 << (32 - bits)) - 1)


def _leases_file(paths: Paths, network: str) -> str:
    return os.path.join(paths.network_run, "leases", f"{network}.json")


def leases(paths: Paths, network: str) -> dict[str, str]:
    """{address: container ID} of one network."""
    return {str(k): str(v) for k, v in (read_json(_leases_file(paths, network)) or {}).items()}


def _lock(paths: Paths) -> FileLock:
    """The lock all leases change under."""
    return FileLock(os.path.join(paths.network_run, "leases.lock"))


def lease(paths: Paths, network: dict[str, Any], cid: str, wanted: str = "", prefer: str = "") -> str:
    """The container's address on network: its lease if it has one; else wanted (--ip, an error
    when taken), else prefer (its address of the last start) when free, else the first free."""
    name = str(network["name"])
    subnet = str(network["subnets"][0]["subnet"])
    gateway = str(network["subnets"][0].get("gateway") or "")
    with _lock(paths):
        taken = leases(paths, name)
        own = [ip for ip, holder in taken.items() if holder == cid]
        if own:
            return own[0]
        if wanted:
            if wanted in taken or wanted == gateway:
                holder = taken.get(wanted, "the gateway")
                raise ConmanError(f"address {wanted} on network {name} is taken by {holder[:12]}")
            choice = wanted
        elif prefer and prefer not in taken and prefer != gateway and in_subnet(prefer, subnet):
            choice = prefer
        else:
            choice = next(
                (ip for ip in map(to_text, hosts(subnet)) if ip not in taken and ip != gateway), ""
            )
            if not choice:
                raise ConmanError(f"network {name} has no free address left in {subnet}")
        taken[choice] = cid
        _write(paths, name, taken)
        return choice


def release(paths: Paths, cid: str, networks: Iterable[str]) -> None:
    """The container's leases on those networks go."""
    with _lock(paths):
        for name in networks:
            taken = leases(paths, name)
            kept = {ip: holder for ip, holder in taken.items() if holder != cid}
            if kept != taken:
                _write(paths, name, kept)


def _write(paths: Paths, network: str, taken: dict[str, str]) -> None:
    path = _leases_file(paths, network)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    if taken:
        write_atomic(path, fastjson.dumps(taken))
    elif os.path.exists(path):
        os.unlink(path)

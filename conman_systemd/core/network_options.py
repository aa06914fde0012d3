"""Parsers of the network flags: -p/--publish, --ip, --mac-address, --network-alias, --network."""

from __future__ import annotations

from conman_systemd.container.ipam import to_int
from conman_systemd.container.paths import is_name
from conman_systemd.container.spec import Port
from conman_systemd.errors import ConmanError

PROTOCOLS = ("tcp", "udp", "sctp")
PUBLISH_FORM = "[IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp|sctp], each port a number or a range FIRST-LAST"


def parse_network(text: str) -> str:
    """bridge (the default network), host, none, container:NAME, or a network's name."""
    if text in ("host", "none", "bridge") or (text.startswith("container:") and is_name(text[10:])):
        return text
    if not is_name(text):
        raise ConmanError(
            f'invalid network "{text}": use bridge, host, none, container:NAME or a network name'
        )
    return text


def _ports(text: str, spec: str) -> tuple[int, int]:
    """(first port, how many) of 80 or 8080-8081."""
    first, dash, last = text.partition("-")
    if not (first.isdigit() and (last.isdigit() or not dash)):
        raise ConmanError(f'invalid port "{text}" in --publish {spec}: use {PUBLISH_FORM}')
    low, high = int(first), int(last or first)
    if not 1 <= low <= high <= 65535:
        raise ConmanError(
            f'invalid port "{text}" in --publish {spec}: ports are 1 to 65535, the first the lowest'
        )
    return low, high - low + 1


def parse_publish(spec: str) -> Port:
    """-p [IP:][HOSTPORT:]CONTAINERPORT[/PROTO]; no HOSTPORT (or an empty one): one is picked
    (host_port 0 here) when the container is created."""
    ports, _, protocol = spec.partition("/")
    protocol = protocol or "tcp"
    if protocol not in PROTOCOLS:
        raise ConmanError(f'invalid protocol "{protocol}" in --publish {spec}: use tcp, udp or sctp')
    parts = ports.split(":")
    if len(parts) > 3 or ports.startswith("["):
        raise ConmanError(f'invalid --publish "{spec}": use {PUBLISH_FORM} (IPv4 addresses only)')
    host_ip = parts[0] if len(parts) == 3 else ""
    if host_ip:
        parse_ip(host_ip, f"--publish {spec}")
    container_port, count = _ports(parts[-1], spec)
    host_port = 0
    if len(parts) >= 2 and parts[-2]:
        host_port, host_count = _ports(parts[-2], spec)
        if host_count != count:
            raise ConmanError(f'invalid --publish "{spec}": the host and container ranges differ in length')
    return Port(host_ip=host_ip, host_port=host_port, container_port=container_port, protocol=protocol,
                count=count)  # fmt: skip


def parse_ip(text: str, what: str = "--ip") -> str:
    try:
        to_int(text)
    except ValueError:
        raise ConmanError(
            f'invalid address "{text}" in {what}: give an IPv4 address, e.g. 10.90.0.10'
        ) from None
    return text


def parse_mac(text: str) -> str:
    parts = text.split(":")
    if len(parts) != 6 or not all(
        len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts
    ):
        raise ConmanError(f'invalid --mac-address "{text}": give six hex bytes, e.g. 92:d0:c6:0a:29:33')
    if int(parts[0], 16) & 1:
        raise ConmanError(
            f'invalid --mac-address "{text}": a multicast address (odd first byte) cannot be one host\'s'
        )
    return text.lower()


def parse_alias(text: str) -> str:
    if not is_name(text):
        raise ConmanError(f'invalid --network-alias "{text}": use letters, digits, ".", "_" and "-"')
    return text

"""docker's --dns, --dns-search, --dns-option and --add-host: what a container's /etc/resolv.conf
and /etc/hosts say (container/etc_files.py writes them). Loaded only when one is given."""

from __future__ import annotations

from conman_systemd.container.etc_files import HOST_GATEWAY
from conman_systemd.core.options import parse_hostname
from conman_systemd.errors import ConmanError, quoted


def parse_ip(text: str, flag: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ConmanError(f"invalid {flag} {quoted(text)}: use an IPv4 or IPv6 address") from None


def parse_dns(text: str) -> str:
    return parse_ip(text, "--dns")


def parse_dns_search(text: str) -> str:
    """A search domain; "." (docker's) for none."""
    if text == ".":
        return text
    try:
        return parse_hostname(text.rstrip("."))
    except ConmanError:
        raise ConmanError(f"invalid --dns-search {quoted(text)}: use a domain name, or . for none") from None


def parse_dns_option(text: str) -> str:
    if not text or any(c.isspace() for c in text) or len(text) > 256:
        raise ConmanError(f"invalid --dns-option {quoted(text)}: use one resolv.conf option, e.g. ndots:2")
    return text


def parse_add_host(text: str) -> str:
    """HOST:IP (or docker's HOST=IP), as HOST:IP; the address may be IPv6 (its colons are kept)."""
    separator = "=" if "=" in text else ":"
    host, sep, address = text.partition(separator)
    if not sep or not host or not address:
        raise ConmanError(f"invalid --add-host {quoted(text)}: use HOST:IP")
    try:
        parse_hostname(host)
    except ConmanError:
        raise ConmanError(f"invalid --add-host {quoted(text)}: {quoted(host)} is not a host name") from None
    if address == HOST_GATEWAY:  # the gateway of the container's network: known at each start
        return f"{host}:{address}"
    return f"{host}:{parse_ip(address.strip('[]'), '--add-host address')}"

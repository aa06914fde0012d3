"""`ps --filter KEY=VALUE`, docker's keys: name, id, label, status, ancestor, exited, network,
publish.

Filters of one key widen (any may match), of different keys narrow (all must), as in docker.
A name is a regular expression searched in the name, as docker has it.
"""

from __future__ import annotations

from conman_systemd.errors import ConmanError, quoted
from conman_systemd.image.reference import familiar

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from conman_systemd.core.containers import ContainerInfo

STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")


def _name(c: ContainerInfo, value: str) -> bool:
    import re

    try:
        return re.search(value, c.spec.name) is not None
    except re.error as e:
        raise ConmanError(f"invalid filter name={quoted(value)}: {e}") from None


def _label(c: ContainerInfo, value: str) -> bool:
    key, eq, wanted = value.partition("=")
    return key in c.spec.labels and (not eq or c.spec.labels[key] == wanted)


def _status(c: ContainerInfo, value: str) -> bool:
    if value not in STATUSES:
        raise ConmanError(f"invalid filter status={quoted(value)}: use one of {', '.join(STATUSES)}")
    return str(c.state) == value


def _ancestor(c: ContainerInfo, value: str) -> bool:
    image = c.spec.image
    names = {image, familiar(image), familiar(image).removesuffix(":latest")}
    return value in names or (len(value) >= 4 and c.spec.image_id.startswith(value.removeprefix("sha256:")))


def _exited(c: ContainerInfo, value: str) -> bool:
    if not value.lstrip("-").isdigit():
        raise ConmanError(f"invalid filter exited={quoted(value)}: use an exit code")
    return str(c.state) == "exited" and c.records.exit_code == int(value)


def _network(c: ContainerInfo, value: str) -> bool:
    return value in c.spec.networks if c.spec.bridged else value == c.spec.network


def _publish(c: ContainerInfo, value: str) -> bool:
    """docker's: a host port, PORT or PORT/PROTO (tcp when not given)."""
    port, _, protocol = value.partition("/")
    if not port.isdigit():
        raise ConmanError(f"invalid filter publish={quoted(value)}: use PORT[/PROTO]")
    return any(p.protocol == (protocol or "tcp") and p.host_port <= int(port) < p.host_port + p.count
               for p in c.spec.ports)  # fmt: skip


MATCHERS: dict[str, Callable[[ContainerInfo, str], bool]] = {
    "name": _name,
    "id": lambda c, value: c.spec.id.startswith(value),
    "label": _label,
    "status": _status,
    "ancestor": _ancestor,
    "exited": _exited,
    "network": _network,
    "publish": _publish,
}


def matching(containers: Sequence[ContainerInfo], filters: Sequence[str]) -> list[ContainerInfo]:
    by_key: dict[str, list[str]] = {}
    for text in filters:
        key, eq, value = text.partition("=")
        if not eq or key not in MATCHERS:
            raise ConmanError(
                f"invalid filter {quoted(text)}", hint=f"use KEY=VALUE, KEY one of {', '.join(MATCHERS)}"
            )
        by_key.setdefault(key, []).append(value)
    return [
        c
        for c in containers
        if all(any(MATCHERS[key](c, v) for v in values) for key, values in by_key.items())
    ]

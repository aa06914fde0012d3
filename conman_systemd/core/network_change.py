"""`conman network connect|disconnect`: a container's networks changed, at once when it runs."""

from __future__ import annotations

from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.core.lifecycle import Lifecycle


def connect(lc: Lifecycle, network: dict[str, Any], ref: str, aliases: tuple[str, ...]) -> None:
    spec = lc.store.resolve(ref)
    name = network["name"]
    if not spec.bridged:
        raise ConmanError(
            f"container {spec.name} has --network {spec.network}: it cannot join network {name}"
        )
    if name in spec.networks:
        raise ConmanError(f"container {spec.name} is already on network {name}")
    with lc.store.locked(spec):
        if lc.running(spec):
            from conman_systemd.container.network import join

            join(lc.store.paths, spec, network, aliases)
        all_aliases = tuple(dict.fromkeys((*spec.network_aliases, *aliases)))
        lc.store.save(spec.replace(networks=(*spec.networks, name), network_aliases=all_aliases))


def disconnect(lc: Lifecycle, network: dict[str, Any], ref: str) -> None:
    spec = lc.store.resolve(ref)
    name = network["name"]
    if name not in spec.networks:
        raise ConmanError(f"container {spec.name} is not on network {name}")
    if spec.networks == (name,):
        raise ConmanError(f"network {name} is the last of container {spec.name}",
                          hint="connect it to another network first")  # fmt: skip
    with lc.store.locked(spec):
        if lc.running(spec):
            from conman_systemd.container.network import leave

            leave(lc.store.paths, spec, name)
        lc.store.save(spec.replace(networks=tuple(n for n in spec.networks if n != name)))

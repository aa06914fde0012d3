"""`conman network create|ls|inspect|rm|prune|connect|disconnect`: bridge networks (core/networks.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from conman_systemd.cli import App
from conman_systemd.cli.app import DockerGroup
from conman_systemd.cli.common import require_root
from conman_systemd.errors import ConmanError

if TYPE_CHECKING:
    from conman_systemd.container.spec import ContainerSpec
    from conman_systemd.core.networks import Networks

HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Subnet": "SUBNET", "Gateway": "GATEWAY",
           "Internal": "INTERNAL", "Interface": "INTERFACE", "Labels": "LABELS"}  # fmt: skip


def _networks(app: App) -> Networks:
    from conman_systemd.container.paths import secure
    from conman_systemd.core.networks import DEFAULT_NETWORK, Networks

    require_root()
    secure(app.paths)
    networks = Networks(app.paths)
    networks.get(DEFAULT_NETWORK)  # listed as docker lists its bridge: always there
    return networks


def _containers(app: App) -> list[ContainerSpec]:
    from conman_systemd.core.containers import Store

    return Store(app.paths).all()


@click.group(cls=DockerGroup)
def network() -> None:
    """Manage bridge networks: containers on one reach each other by name."""


@network.command("create")
@click.argument("name")
@click.option(
    "--subnet", default="", help="IPv4 subnet, e.g. 10.91.0.0/24 (default: the next free 10.90.N.0/24)."
)
@click.option("--gateway", default="", help="The bridge's address (default: the subnet's first).")
@click.option("--internal", is_flag=True, help="No route out: containers reach only each other.")
@click.option("-l", "--label", "labels", multiple=True, metavar="KEY=VALUE", help="Set a label.")
@click.option("-d", "--driver", default="bridge", show_default=True, help="Only bridge.")
@click.pass_obj
def create(app: App, name: str, subnet: str, gateway: str, internal: bool, labels: tuple[str, ...],
           driver: str) -> None:  # fmt: skip
    """Create a network."""
    from conman_systemd.core.options import parse_labels

    if driver != "bridge":
        raise ConmanError(f'unknown network driver "{driver}": the only driver is bridge')
    if gateway and not subnet:
        raise ConmanError("--gateway needs --subnet")
    made = _networks(app).create(name, subnet, gateway, internal, parse_labels(labels))
    click.echo(made["name"])


def _row(n: dict[str, Any]) -> dict[str, str]:
    subnet = n["subnets"][0]
    return {"ID": n["id"][:12], "Name": n["name"], "Driver": n["driver"], "Subnet": subnet["subnet"],
            "Gateway": subnet.get("gateway", ""), "Internal": str(n.get("internal", False)).lower(),
            "Interface": n.get("network_interface", ""),
            "Labels": ",".join(f"{k}={v}" for k, v in sorted((n.get("labels") or {}).items()))}  # fmt: skip


@network.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only print names.")
@click.option("--format", "fmt", help="Output format: a Go template ('{{.Name}}', 'table ...') or json.")
@click.pass_obj
def ls(app: App, quiet: bool, fmt: str | None) -> None:
    """List networks."""
    from conman_systemd.cli.columns import listing

    found = _networks(app).all()
    if quiet:
        for n in found:
            click.echo(n["name"])
        return
    rows = [_row(n) for n in found]
    if text := listing(rows, fmt, "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Subnet}}", HEADERS):
        click.echo(text)


def _inspected(app: App, n: dict[str, Any]) -> dict[str, Any]:
    """docker's fields (IPAM, Containers...) with netavark's (network_interface, dns_enabled)."""
    from conman_systemd.core.containers import Store

    store, members = Store(app.paths), {}
    for spec in store.all():
        if n["name"] in spec.networks:
            up = store.records(spec.id).network.get("networks", {}).get(n["name"], {})
            address = f"{up['IPAddress']}/{up['IPPrefixLen']}" if up else ""
            members[spec.id] = {
                "Name": spec.name,
                "IPv4Address": address,
                "MacAddress": up.get("MacAddress", ""),
            }
    subnet = n["subnets"][0]
    return {"Name": n["name"], "Id": n["id"], "Created": n.get("created", ""), "Driver": n["driver"],
            "Scope": "local", "Internal": n.get("internal", False), "EnableIPv6": False,
            "IPAM": {"Driver": "default",
                     "Config": [{"Subnet": subnet["subnet"], "Gateway": subnet.get("gateway")}]},
            "Containers": members, "Labels": n.get("labels") or {}, "Options": {},
            "NetworkInterface": n.get("network_interface", ""),
            "DNSEnabled": n.get("dns_enabled", True)}  # fmt: skip


@network.command("inspect")
@click.argument("names", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", help="A Go template, e.g. '{{.IPAM.Config}}'.")
@click.pass_obj
def inspect(app: App, names: tuple[str, ...], fmt: str | None) -> None:
    """Show networks in detail (JSON)."""
    from conman_systemd.cli.columns import show_inspected

    networks = _networks(app)
    click.echo(show_inspected([_inspected(app, networks.get(name)) for name in names], fmt))


@network.command("rm")
@click.argument("names", nargs=-1, required=True)
@click.pass_obj
def rm(app: App, names: tuple[str, ...]) -> None:
    """Remove networks no container is on."""
    networks, containers = _networks(app), _containers(app)
    for name in names:
        networks.remove(name, containers)
        click.echo(name)


@network.command("prune")
@click.option("-f", "--force", is_flag=True, help="Do not ask (conman never asks).")
@click.pass_obj
def prune(app: App, force: bool) -> None:
    """Remove every network no container is on (the default network stays)."""
    from conman_systemd.core.networks import DEFAULT_NETWORK

    networks, containers = _networks(app), _containers(app)
    used = {name for spec in containers for name in spec.networks}
    gone = [n["name"] for n in networks.all() if n["name"] not in used and n["name"] != DEFAULT_NETWORK]
    for name in gone:
        networks.remove(name, containers)
    if gone:
        click.echo("Deleted Networks:\n" + "\n".join(gone))


@network.command("connect")
@click.argument("network_name", metavar="NETWORK")
@click.argument("container")
@click.option("--alias", "aliases", multiple=True, help="Another name of the container on this network.")
@click.pass_obj
def connect(app: App, network_name: str, container: str, aliases: tuple[str, ...]) -> None:
    """Put a container on one more network (at once when it runs)."""
    from conman_systemd.cli.common import session
    from conman_systemd.core.network_change import connect as join

    with session(app) as lc:
        join(lc, _networks(app).get(network_name), container, aliases)


@network.command("disconnect")
@click.argument("network_name", metavar="NETWORK")
@click.argument("container")
@click.option("-f", "--force", is_flag=True, help="Accepted for docker's sake.")
@click.pass_obj
def disconnect(app: App, network_name: str, container: str, force: bool) -> None:
    """Take a container off a network (at once when it runs)."""
    from conman_systemd.cli.common import session
    from conman_systemd.core.network_change import disconnect as leave

    with session(app) as lc:
        leave(lc, _networks(app).get(network_name), container)

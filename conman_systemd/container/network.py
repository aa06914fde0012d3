"""A bridged container's network: set up by the shim before each start, torn down with the run.

netavark (podman's network stack) does the work: the bridge, the veth pair, the address and
routes in the container's namespace, the firewall rules of published ports and masquerading, and
aardvark-dns, which answers the names of the containers on a network. conman gives it each
container's addresses (ipam.py) and keeps its options in the run directory, so the unit's stop
path (`conman-shim cleanup`, `conman rm`, crash recovery: all through removal.release) tears
down exactly what was set up, however the container ended. Stdlib only.
"""

from __future__ import annotations

import os
import sys

from conman_systemd import fastjson, runner
from conman_systemd.container import etc_files, ipam, mounts
from conman_systemd.container.filelock import FileLock
from conman_systemd.container.paths import read_json, read_record, write_atomic, write_record
from conman_systemd.errors import EXIT_ENGINE, ConmanError
from conman_systemd.log import debug

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.container.paths import Paths
    from conman_systemd.container.spec import ContainerSpec

# Where Debian and Fedora install them (netavark finds aardvark-dns by the path it is given).
NETAVARK = ("/usr/lib/podman/netavark", "/usr/libexec/podman/netavark")
AARDVARK = ("/usr/lib/podman/aardvark-dns", "/usr/libexec/podman/aardvark-dns")
INSTALL_HINT = "apt-get install netavark aardvark-dns (or use --network host)"


def installed(candidates: tuple[str, ...]) -> str:
    return next((path for path in candidates if os.access(path, os.X_OK)), "")


def _options_file(paths: Paths, cid: str) -> str:
    return os.path.join(paths.run_dir(cid), "network.json")


def definitions(paths: Paths, spec: ContainerSpec) -> list[dict[str, Any]]:
    found = []
    for name in spec.networks:
        definition = read_json(paths.network(name))
        if definition is None:
            raise ConmanError(f"network {name} of container {spec.name} does not exist",
                              hint=f"create it with `conman network create {name}`",
                              exit_code=EXIT_ENGINE)  # fmt: skip
        found.append(definition)
    return found


def netavark_options(spec: ContainerSpec, networks: list[dict[str, Any]], addresses: dict[str, str],
                     macs: dict[str, str]) -> dict[str, Any]:  # fmt: skip
    """netavark's NetworkOptions: the container on each network (eth0, eth1...), its ports."""
    aliases = sorted({spec.hostname, *spec.network_aliases, spec.short_id} - {spec.name, ""})
    per_network = {}
    for index, network in enumerate(networks):
        name = network["name"]
        per_network[name] = {
            "interface_name": f"eth{index}",
            "static_ips": [addresses[name]],
            "aliases": aliases,
            **({"static_mac": macs[name]} if macs.get(name) else {}),
        }
    ports = [
        {"host_ip": p.host_ip, "host_port": p.host_port, "container_port": p.container_port,
         "protocol": p.protocol, "range": p.count}
        for p in spec.ports
    ]  # fmt: skip
    return {
        "container_id": spec.id,
        "container_name": spec.name,
        "networks": per_network,
        "network_info": {n["name"]: n for n in networks},
        # None, not []: netavark turns route_localnet on for the bridge whenever it gets a list
        # (127.0.0.1:PORT needs it), which lets crafted frames reach the host's loopback.
        "port_mappings": ports or None,
        # --dns: the servers aardvark-dns asks for this container's other names (podman's way),
        # so the names of its network still resolve.
        "dns_servers": list(spec.dns) or None,
    }


def _netavark(paths: Paths, verb: str, options_file: str, netns: str) -> str:
    netavark, aardvark = installed(NETAVARK), installed(AARDVARK)
    if not (netavark and aardvark):
        raise ConmanError("bridge networks need netavark and aardvark-dns", hint=INSTALL_HINT,
                          exit_code=EXIT_ENGINE)  # fmt: skip
    argv = [netavark, "--config", paths.network_run, "--aardvark-binary", aardvark, "--file", options_file,
            verb, netns]  # fmt: skip
    # One netavark at a time, as podman runs it: two at once race on the bridge and the firewall
    # chains of a network ("Chain already exists"), and a teardown could remove what a setup made.
    with FileLock(os.path.join(paths.network_run, "netavark.lock")):
        result = runner.run(argv, check=False, timeout=60)
    if result.returncode != 0:
        text = (result.stdout or result.stderr).strip()
        try:
            text = str(fastjson.loads(text).get("error", text))
        except ValueError:
            pass
        raise ConmanError(f"netavark {verb}: {text}", exit_code=EXIT_ENGINE)
    return result.stdout


def _make_netns(path: str) -> None:
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
    runner.run(["unshare", f"--net={path}", "true"])


def set_up(paths: Paths, spec: ContainerSpec) -> None:
    """The container's namespace with its addresses, ports and names; its /etc/hosts and
    /etc/resolv.conf to match. An address of the last start is kept when it is still free."""
    tear_down(paths, spec)  # what a crashed start or a killed clean-up left
    networks = definitions(paths, spec)
    last = (read_record(paths, spec.id, "network") or {}).get("networks", {})
    os.makedirs(paths.run_dir(spec.id), mode=0o700, exist_ok=True)
    try:
        addresses = {}
        for index, network in enumerate(networks):
            name, before = network["name"], last.get(network["name"], {})
            wanted = spec.ip if index == 0 else ""
            addresses[name] = ipam.lease(paths, network, spec.id, wanted, prefer=before.get("IPAddress", ""))
        macs = {
            n["name"]: (spec.mac_address if i == 0 else "") or last.get(n["name"], {}).get("MacAddress", "")
            for i, n in enumerate(networks)
        }
        options = netavark_options(spec, networks, addresses, macs)
        write_atomic(_options_file(paths, spec.id), fastjson.dumps(options))
        _make_netns(paths.netns(spec.id))
        status = fastjson.loads(
            _netavark(paths, "setup", _options_file(paths, spec.id), paths.netns(spec.id))
        )
    except BaseException:
        tear_down(paths, spec)
        raise
    settings = settings_of(status)
    write_record(paths, spec.id, "network", networks=settings)  # the addresses the next start prefers
    nameservers = sorted({ip for s in status.values() for ip in s.get("dns_server_ips") or ()})
    gateway = settings.get(spec.networks[0], {}).get("Gateway", "")
    addresses_now = [s["IPAddress"] for s in settings.values()]
    etc_files.write(paths, spec, addresses=addresses_now, nameservers=nameservers, gateway=gateway)
    debug(f"network: {spec.short_id} on {', '.join(f'{n} as {a}' for n, a in addresses.items())}")


def settings_of(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """docker's per-network settings from netavark's status of a setup."""
    settings = {}
    for name, block in status.items():
        for interface in (block.get("interfaces") or {}).values():
            for subnet in interface.get("subnets") or ():
                address, _, prefix = subnet["ipnet"].partition("/")
                settings[name] = {"IPAddress": address, "IPPrefixLen": int(prefix),
                                  "Gateway": subnet.get("gateway") or "",
                                  "MacAddress": interface["mac_address"]}  # fmt: skip
    return settings


def tear_down(paths: Paths, spec: ContainerSpec) -> None:
    """Undo set_up, whatever part of it happened: netavark's teardown (veth, rules, aardvark's
    names), the leases, the namespace. A failed teardown is said on stderr (the unit's journal
    for its clean-up): the clean-up must go on."""
    options_file, netns = _options_file(paths, spec.id), paths.netns(spec.id)
    options = read_json(options_file) or {}
    if options and os.path.exists(netns):
        try:
            _netavark(paths, "teardown", options_file, netns)
        except ConmanError as e:
            print(f"conman: container {spec.name}: {e.message}", file=sys.stderr)
    ipam.release(paths, spec.id, (*spec.networks, *options.get("networks", {})))
    mounts.umount(netns)
    for path in (netns, options_file):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def join(paths: Paths, spec: ContainerSpec, network: dict[str, Any], aliases: tuple[str, ...]) -> None:
    """A running container onto one more network (spec: as it is before, set up)."""
    options_file = _options_file(paths, spec.id)
    options = read_json(options_file) or {}
    name = network["name"]
    address = ipam.lease(paths, network, spec.id)
    one = netavark_options(spec.replace(network_aliases=(*spec.network_aliases, *aliases), ports=()),
                           [network], {name: address}, {})  # fmt: skip
    taken = {n["interface_name"] for n in options.get("networks", {}).values()}
    one["networks"][name]["interface_name"] = next(
        f"eth{i}" for i in range(len(taken) + 1) if f"eth{i}" not in taken
    )
    single = f"{options_file}.{name}"
    write_atomic(single, fastjson.dumps(one))
    try:
        status = fastjson.loads(_netavark(paths, "setup", single, paths.netns(spec.id)))
    except BaseException:
        ipam.release(paths, spec.id, (name,))
        raise
    finally:
        os.unlink(single)
    options["networks"][name] = one["networks"][name]
    options["network_info"][name] = network
    write_atomic(options_file, fastjson.dumps(options))
    _record(paths, spec.id, settings_of(status), ())


def leave(paths: Paths, spec: ContainerSpec, name: str) -> None:
    """A running container off one of its networks."""
    options_file = _options_file(paths, spec.id)
    options = read_json(options_file) or {}
    if name in options.get("networks", {}):
        one = {**options, "networks": {name: options["networks"][name]},
               "network_info": {name: options["network_info"][name]}, "port_mappings": None}  # fmt: skip
        single = f"{options_file}.{name}"
        write_atomic(single, fastjson.dumps(one))
        try:
            _netavark(paths, "teardown", single, paths.netns(spec.id))
        finally:
            os.unlink(single)
        del options["networks"][name], options["network_info"][name]
        write_atomic(options_file, fastjson.dumps(options))
    ipam.release(paths, spec.id, (name,))
    _record(paths, spec.id, {}, (name,))


def _record(paths: Paths, cid: str, added: dict[str, Any], removed: tuple[str, ...]) -> None:
    networks = {**(read_record(paths, cid, "network") or {}).get("networks", {}), **added}
    write_record(paths, cid, "network", networks={k: v for k, v in networks.items() if k not in removed})

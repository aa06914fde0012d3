"""/etc/hosts and /etc/resolv.conf of a container, written by conman into its state directory and
bound over the image's: the container's own host name resolves (as docker writes it), and a host
without either file (a minimal Debian root has no /etc/hosts) still runs containers.

With --network host the host's files are the base, as docker copies them; with --network none
only the loopback names remain. Written when the container is created; on a bridge network again
at each start, when its address and the network's name server (aardvark-dns) are known: the
container's names point at its address, and the network's name server replaces the host's (which
aardvark-dns asks for every other name). Stdlib only.
"""

from __future__ import annotations

import os

from conman_systemd.container.paths import write_atomic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conman_systemd.container.paths import Paths
    from conman_systemd.container.spec import ContainerSpec

HOST_HOSTS = "/etc/hosts"
HOST_RESOLV = "/etc/resolv.conf"
HOST_GATEWAY = "host-gateway"  # --add-host HOST:host-gateway: the container's network's gateway
FILES = ("hosts", "resolv.conf")  # in the container's state directory, bound to /etc/NAME
LOOPBACK = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
MAX_READ = 1 << 20  # a host file that large is not one to copy


def _read(path: str) -> str | None:
    try:
        with open(path, errors="replace") as f:
            return f.read(MAX_READ)
    except OSError:
        return None


def _names(text: str) -> set[str]:
    return {name for line in text.splitlines() for name in line.split("#", 1)[0].split()[1:]}


def hosts_text(spec: ContainerSpec, host_hosts: str | None, addresses: list[str] | None = None,
               gateway: str = "") -> str:  # fmt: skip
    base = host_hosts if spec.network == "host" and host_hosts else LOOPBACK
    if base and not base.endswith("\n"):
        base += "\n"
    if addresses:  # docker's: the host name; podman's: the name and the aliases too
        names = " ".join(dict.fromkeys(n for n in (spec.hostname, spec.name, *spec.network_aliases) if n))
        base += "".join(f"{address}\t{names}\n" for address in addresses)
    elif spec.hostname and spec.hostname not in _names(base):
        base += f"127.0.1.1\t{spec.hostname}\n"  # as Debian names a host without a fixed address
    for entry in spec.add_hosts:  # --add-host HOST:IP, last, as docker adds them
        host, _, address = entry.partition(":")
        if address == HOST_GATEWAY:  # the host's address on the container's network
            address = gateway
        if address:
            base += f"{address}\t{host}\n"
    return base


def resolv_text(spec: ContainerSpec, host_resolv: str | None, nameservers: list[str] | None = None) -> str:
    """The host's file; --dns, --dns-search and --dns-option replace its lines of their kind. On a
    bridge the network's name server (nameservers) is the container's: --dns's are its upstream."""
    servers = nameservers or spec.dns  # a network's name server asks --dns's for other names
    if host_resolv is None and not (servers or spec.dns_search or spec.dns_options):
        return "# The host has no /etc/resolv.conf.\n"
    search = " ".join(d for d in spec.dns_search if d != ".")  # `--dns-search .`: none
    replaced = {
        "nameserver": [f"nameserver {ip}" for ip in servers],
        "search": ([f"search {search}"] if search else [""]) if spec.dns_search else [],
        "options": [f"options {' '.join(spec.dns_options)}"] if spec.dns_options else [],
    }
    lines = (host_resolv or "").splitlines()
    for key, given in replaced.items():
        if given:
            lines = [line for line in lines if line.split()[:1] != [key]] + [g for g in given if g]
    return "".join(f"{line}\n" for line in lines)


def write(paths: Paths, spec: ContainerSpec, addresses: list[str] | None = None,
          nameservers: list[str] | None = None, gateway: str = "") -> None:  # fmt: skip
    directory = paths.container(spec.id)
    hosts = hosts_text(spec, _read(HOST_HOSTS), addresses, gateway)
    write_atomic(os.path.join(directory, "hosts"), hosts, 0o644)
    resolv = resolv_text(spec, _read(HOST_RESOLV), nameservers)
    write_atomic(os.path.join(directory, "resolv.conf"), resolv, 0o644)


def mounts(paths: Paths, spec: ContainerSpec) -> list[dict[str, object]]:
    """Bind mounts of the written files: read-only with --read-only, else the container's own."""
    mode = "ro" if spec.read_only else "rw"
    # --network container:ID: that container's files, as it shares its network (docker's).
    directory = paths.container(spec.network_of or spec.id)
    return [
        {"destination": f"/etc/{name}", "type": "bind", "source": os.path.join(directory, name),
         "options": ["rbind", mode]}
        for name in FILES
    ]  # fmt: skip

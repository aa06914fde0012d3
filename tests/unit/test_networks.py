"""Network flags, address leases, network definitions and host ports: pure logic, no systemd."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from conman_systemd.container import ipam
from conman_systemd.container.paths import Paths
from conman_systemd.container.spec import ContainerSpec, Port
from conman_systemd.core import network_options as parse
from conman_systemd.core.network_plan import assign_ports
from conman_systemd.core.network_view import port_lines
from conman_systemd.core.networks import Networks
from conman_systemd.errors import ConmanError
from tests.unit.test_cli import conman, store_busybox_image


def _paths(tmp_path: Path) -> Paths:
    return Paths(root=os.fspath(tmp_path / "lib"), runroot=os.fspath(tmp_path / "run"))


@pytest.mark.parametrize(
    ("text", "port"),
    [
        ("80", Port(host_port=0, container_port=80)),
        ("8080:80", Port(host_port=8080, container_port=80)),
        (
            "127.0.0.1:8080:80/udp",
            Port(host_ip="127.0.0.1", host_port=8080, container_port=80, protocol="udp"),
        ),
        ("127.0.0.1::80", Port(host_ip="127.0.0.1", host_port=0, container_port=80)),
        ("8080-8082:80-82", Port(host_port=8080, container_port=80, count=3)),
        ("5000-5001", Port(host_port=0, container_port=5000, count=2)),
    ],
)
def test_publish_forms(text: str, port: Port) -> None:
    assert parse.parse_publish(text) == port


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("80/icmp", 'invalid protocol "icmp" in --publish 80/icmp: use tcp, udp or sctp'),
        ("1:2:3:4", 'invalid --publish "1:2:3:4": use [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp|sctp], each port a '
                    "number or a range FIRST-LAST (IPv4 addresses only)"),
        ("http", 'invalid port "http" in --publish http: use [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp|sctp], each '
                 "port a number or a range FIRST-LAST"),
        ("70000", 'invalid port "70000" in --publish 70000: ports are 1 to 65535, the first the lowest'),
        ("90-80", 'invalid port "90-80" in --publish 90-80: ports are 1 to 65535, the first the lowest'),
        ("8080-8081:80", 'invalid --publish "8080-8081:80": the host and container ranges differ in length'),
        ("1.2.3:80:80", 'invalid address "1.2.3" in --publish 1.2.3:80:80: give an IPv4 address, e.g. 10.90.0.10'),
    ],
)  # fmt: skip
def test_bad_publish_is_one_clear_error(text: str, error: str) -> None:
    with pytest.raises(ConmanError) as e:
        parse.parse_publish(text)
    assert e.value.message == error


def test_other_network_flags() -> None:
    assert parse.parse_mac("92:D0:C6:0A:29:33") == "92:d0:c6:0a:29:33"
    for bad, error in (
        ("92:d0:c6", 'invalid --mac-address "92:d0:c6": give six hex bytes, e.g. 92:d0:c6:0a:29:33'),
        ("01:00:5e:00:00:01", 'invalid --mac-address "01:00:5e:00:00:01": a multicast address (odd first byte) '
                              "cannot be one host's"),
    ):  # fmt: skip
        with pytest.raises(ConmanError) as e:
            parse.parse_mac(bad)
        assert e.value.message == error
    with pytest.raises(ConmanError, match='^invalid address "10.0.0.300" in --ip: give an IPv4 address'):
        parse.parse_ip("10.0.0.300")
    with pytest.raises(ConmanError, match='^invalid --network-alias "a b": use letters, digits'):
        parse.parse_alias("a b")
    assert [parse.parse_network(n) for n in ("bridge", "host", "none", "container:web", "blue")] == [
        "bridge", "host", "none", "container:web", "blue"]  # fmt: skip
    with pytest.raises(
        ConmanError, match='^invalid network "a/b": use bridge, host, none, container:NAME or a'
    ):
        parse.parse_network("a/b")


def test_leases_are_the_first_free_addresses_and_stay_with_their_container(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    net = {"name": "n", "subnets": [{"subnet": "10.1.0.0/29", "gateway": "10.1.0.1"}]}
    assert ipam.lease(paths, net, "a") == "10.1.0.2"
    assert ipam.lease(paths, net, "a") == "10.1.0.2"  # its own, again
    assert ipam.lease(paths, net, "b", prefer="10.1.0.6") == "10.1.0.6"
    assert ipam.lease(paths, net, "c", prefer="10.1.0.6") == "10.1.0.3"  # taken: the first free
    with pytest.raises(ConmanError, match="^address 10.1.0.3 on network n is taken by c$"):
        ipam.lease(paths, net, "d", wanted="10.1.0.3")
    assert ipam.lease(paths, net, "d", wanted="10.1.0.5") == "10.1.0.5"
    assert ipam.lease(paths, net, "e") == "10.1.0.4"
    with pytest.raises(ConmanError, match="^network n has no free address left in 10.1.0.0/29$"):
        ipam.lease(paths, net, "f")
    ipam.release(paths, "c", ("n",))
    assert ipam.lease(paths, net, "f") == "10.1.0.3"
    for cid in "abdef":
        ipam.release(paths, cid, ("n",))
    assert not os.path.exists(os.path.join(paths.network_run, "leases", "n.json"))  # none: no file


def test_networks_get_free_subnets_and_bridges(tmp_path: Path) -> None:
    networks = Networks(_paths(tmp_path))
    default = networks.get("conman")  # made when first needed
    assert (default["subnets"], default["network_interface"]) == (
        [{"subnet": "10.90.0.0/24", "gateway": "10.90.0.1"}], "conman0")  # fmt: skip
    blue = networks.create("blue")
    assert (blue["subnets"][0]["subnet"], blue["network_interface"]) == ("10.90.1.0/24", "conman1")
    own = networks.create("own", subnet="192.168.77.0/24", gateway="192.168.77.254", internal=True)
    assert own["subnets"] == [{"subnet": "192.168.77.0/24", "gateway": "192.168.77.254"}] and own["internal"]
    assert [n["name"] for n in networks.all()] == ["blue", "conman", "own"]
    for name, options, error in (
        ("blue", {}, "network blue already exists"),
        ("x", {"subnet": "10.90.1.128/25"}, "subnet 10.90.1.128/25 overlaps subnet 10.90.1.0/24 of another network"),
        ("x", {"subnet": "10.5.0.1/24"}, "invalid --subnet: '10.5.0.1/24' is not a subnet's first address: 10.5.0.0/24"),
        ("x", {"subnet": "10.5.0.0/24", "gateway": "10.6.0.1"}, "invalid --gateway 10.6.0.1: not a host address of subnet 10.5.0.0/24"),
        ("bridge", {}, 'invalid network name "bridge": use letters, digits, ".", "_" and "-" (not host, none or bridge)'),
    ):  # fmt: skip
        with pytest.raises(ConmanError) as e:
            networks.create(name, **options)  # type: ignore[arg-type]
        assert e.value.message == error


def test_a_network_in_use_or_the_default_stays(tmp_path: Path) -> None:
    networks = Networks(_paths(tmp_path))
    networks.create("blue")
    user = ContainerSpec(id="a" * 64, name="web", image="", image_id="", rootfs="", command=("true",),
                         network="bridge", networks=("blue",))  # fmt: skip
    with pytest.raises(ConmanError, match="^network blue is in use by container web$"):
        networks.remove("blue", [user])
    networks.get("conman")
    with pytest.raises(ConmanError, match="^the default network conman cannot be removed$"):
        networks.remove("conman", [])
    with pytest.raises(ConmanError, match="^no such network: red$"):
        networks.remove("red", [])
    networks.remove("blue", [])
    assert networks.find("blue") is None


def _with_ports(*ports: Port) -> ContainerSpec:
    return ContainerSpec(id="b" * 64, name="web", image="", image_id="", rootfs="", command=("true",),
                         network="bridge", networks=("conman",), ports=ports)  # fmt: skip


def test_host_ports_are_checked_and_picked(tmp_path: Path) -> None:
    web = _with_ports(Port(host_ip="127.0.0.1", host_port=8080, container_port=80))
    with pytest.raises(ConmanError, match=r"^port 127.0.0.1:8079-8080/tcp is already published by web$"):
        assign_ports((Port(host_ip="127.0.0.1", host_port=8079, container_port=80, count=2),), [web])
    # another protocol, or another address, is another port
    assign_ports((Port(host_ip="127.0.0.1", host_port=8080, container_port=80, protocol="udp"),), [web])
    with socket.socket() as listener:  # a host's service on it
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        busy = listener.getsockname()[1]
        with pytest.raises(ConmanError, match=f"^host port {busy}/tcp is in use on this host$"):
            assign_ports((Port(host_ip="127.0.0.1", host_port=busy, container_port=80),), [])
    picked = assign_ports((Port(host_ip="127.0.0.1", host_port=0, container_port=80, count=3),), [web])[0]
    low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert low <= picked.host_port and picked.host_port + 2 <= high and picked.count == 3
    spec = _with_ports(picked, Port(host_port=9000, container_port=53, protocol="udp"))
    assert port_lines(spec) == [
        f"80/tcp -> 127.0.0.1:{picked.host_port}", f"81/tcp -> 127.0.0.1:{picked.host_port + 1}",
        f"82/tcp -> 127.0.0.1:{picked.host_port + 2}", "53/udp -> 0.0.0.0:9000"]  # fmt: skip
    assert port_lines(spec, "53/udp") == ["0.0.0.0:9000"] and port_lines(spec, "53") == []
    assert str(picked) == f"127.0.0.1:{picked.host_port}-{picked.host_port + 2}->80-82/tcp"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--network", "host", "-p", "80"], "Error: --publish needs a bridge network, not --network host\n"
                                            "Hint: give --network bridge or a network's name\n"),
        (["--network", "none", "--ip", "10.90.0.5"], "Error: --ip needs a bridge network, not --network none\n"
                                                     "Hint: give --network bridge or a network's name\n"),
        (["-p", "x"], 'Error: invalid port "x" in --publish x: use [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp|sctp], '
                      "each port a number or a range FIRST-LAST\n"),
    ],
)  # fmt: skip
def test_bridge_flags_need_a_bridge(tmp_path: Path, args: list[str], error: str) -> None:
    store_busybox_image(tmp_path)
    proc = conman("--root", os.fspath(tmp_path), "create", *args, "busybox", "true")
    assert (proc.returncode, proc.stderr) == (125, error)
    assert not os.path.exists(tmp_path / "containers") or os.listdir(tmp_path / "containers") == []


def test_network_commands(tmp_path: Path) -> None:
    root = ["--root", os.fspath(tmp_path)]
    assert conman(*root, "network", "create", "blue").stdout == "blue\n"
    proc = conman(*root, "network", "create", "blue")
    assert (proc.returncode, proc.stderr) == (125, "Error: network blue already exists\n")
    proc = conman(*root, "network", "create", "--driver", "macvlan", "x")
    assert (proc.returncode, proc.stderr) == (
        125,
        'Error: unknown network driver "macvlan": the only driver is bridge\n',
    )
    assert conman(*root, "network", "ls", "-q").stdout == "blue\nconman\n"
    table = conman(*root, "network", "ls").stdout.splitlines()
    assert table[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SUBNET"] and table[1].split()[1:] == [
        "blue", "bridge", "10.90.1.0/24"]  # fmt: skip
    shown = json.loads(conman(*root, "network", "inspect", "blue").stdout)[0]
    assert shown["IPAM"]["Config"] == [{"Subnet": "10.90.1.0/24", "Gateway": "10.90.1.1"}]
    assert conman(*root, "network", "inspect", "-f", "{{.NetworkInterface}}", "blue").stdout == "conman1\n"
    proc = conman(*root, "network", "inspect", "red")
    assert (proc.returncode, proc.stderr) == (125, "Error: no such network: red\nHint: list networks with "
                                                   "`conman network ls`\n")  # fmt: skip
    assert conman(*root, "network", "prune").stdout == "Deleted Networks:\nblue\n"
    assert conman(*root, "network", "ls", "-q").stdout == "conman\n"


def test_system_check_names_what_bridges_lack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conman_systemd import syscheck
    from conman_systemd.container import network

    conf = tmp_path / "conman.conf"
    monkeypatch.setenv("CONMAN_CONFIG", os.fspath(conf))
    monkeypatch.setattr(network, "NETAVARK", (os.fspath(tmp_path / "netavark"),))
    report = syscheck.Report()
    syscheck.check_networks(report)
    assert report.facts == [("network", "bridge (the default)")]
    assert report.problems == [
        "bridge networks, the default, need netavark: apt-get install netavark (or set `network = host` in "
        "/etc/conman/conman.conf)"]  # fmt: skip
    conf.write_text("network = host\n")
    report = syscheck.Report()
    syscheck.check_networks(report)
    assert (report.facts, report.problems) == ([("network", "host (the default)")], [])


def test_bridges_need_netavark_and_aardvark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conman_systemd.container import network
    from conman_systemd.core.networks import check_bridges_allowed

    monkeypatch.setattr(network, "AARDVARK", (os.fspath(tmp_path / "aardvark-dns"),))
    with pytest.raises(ConmanError) as e:
        check_bridges_allowed()
    assert (e.value.message, e.value.hint) == (
        "bridge networks need netavark and aardvark-dns", "apt-get install netavark aardvark-dns (or use --network host)")  # fmt: skip


def test_publish_all_adds_the_image_s_ports_that_no_publish_covers() -> None:
    from conman_systemd.core.create import network_fields, run_options

    opts = run_options("run", {"image": "busybox", "command": (), "publish": ("8080:80",), "publish_all": True,
                               "network": "bridge"})  # fmt: skip
    fields = network_fields(opts, ["80/tcp", "53/udp", "443/tcp"])
    assert fields["ports"] == (Port(host_port=8080, container_port=80),
                               Port(host_port=0, container_port=53, protocol="udp"),
                               Port(host_port=0, container_port=443))  # fmt: skip
    assert (fields["network"], fields["networks"]) == ("bridge", ("conman",))


def test_a_new_network_avoids_the_host_s_routes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conman_systemd.core import networks as module

    route = (ipam.to_int("10.90.0.0"), ipam.to_int("255.255.254.0"))  # the host reaches 10.90.0.0/23
    monkeypatch.setattr(module, "_host_routes", lambda: [route])
    made = Networks(_paths(tmp_path)).create("conman")
    assert made["subnets"][0]["subnet"] == "10.90.2.0/24"
    monkeypatch.setattr(
        module, "_host_routes", lambda: [(ipam.to_int("10.0.0.0"), ipam.to_int("255.0.0.0"))]
    )
    with pytest.raises(ConmanError) as e:
        Networks(_paths(tmp_path)).create("blue")
    assert (e.value.message, e.value.hint) == (
        "no free subnet left in 10.90.0.0/16",
        "give one with --subnet",
    )


def test_of_creates_of_one_port_at_once_exactly_one_wins(tmp_path: Path) -> None:
    import subprocess
    import sys

    store_busybox_image(tmp_path)
    with socket.socket() as probe:  # a port free on the loopback now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [sys.executable, "-m", "conman_systemd", "--root", os.fspath(tmp_path), "create", "-p",
            f"127.0.0.1:{port}:80", "busybox", "true"]  # fmt: skip
    creates = [
        subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    errors = [p.communicate(timeout=60)[1] for p in creates]
    results = [(p.returncode, err) for p, err in zip(creates, errors, strict=True)]
    assert sorted(code for code, _ in results) == [0, 125, 125, 125, 125, 125], results
    assert all("is already published by" in err for code, err in results if code)
    assert len(os.listdir(tmp_path / "containers")) == 1

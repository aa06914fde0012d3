"""Bridge networks, published ports and names, in a sandbox with a network namespace of its own:
bridges, veths and firewall rules exist only in there, and all traffic goes to its addresses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conman_systemd.sandbox.launcher import Sandbox
from tests.conftest import System, booted
from tests.integration.conftest import RUNTIMES, Conman, until

pytestmark = pytest.mark.systemd

WWW = "mkdir -p /tmp/www && echo hello > /tmp/www/index.html"
HTTPD = ["-v", "/tmp/www:/www:ro", "busybox", "httpd", "-f", "-p", "80", "-h", "/www"]


@pytest.fixture(scope="module", params=RUNTIMES)
def netbox(request: pytest.FixtureRequest) -> Iterator[Conman]:
    with Sandbox(private_network=True) as sandbox:
        c = Conman(booted(sandbox, "a private-network sandbox"), request.param)
        c.ok("image", "import", "busybox")
        assert c.sh(WWW).returncode == 0
        yield c


@pytest.fixture
def net(netbox: Conman, monkeypatch: pytest.MonkeyPatch) -> Iterator[Conman]:
    """Like `clean`: starts from nothing, leaves nothing (no lease, veth or rule either)."""
    monkeypatch.setenv("CONMAN_RUNTIME", netbox.runtime)
    assert netbox.leftovers() == ""
    yield netbox
    ids = netbox.ok("ps", "-aq").split()
    if ids:
        netbox.ok("rm", "-f", *ids)
    extra = [n for n in netbox.ok("network", "ls", "-q").split() if n != "conman"]
    if extra:
        netbox.ok("network", "rm", *extra)
    assert netbox.leftovers() == ""


def fetch(c: Conman, url: str, *, inside: str | None = None) -> str:
    wget = ["timeout", "5", "wget", "-qO-", url]  # (busybox wget -T crashes resolving a name)
    argv = ["conman", "exec", inside, *wget] if inside else ["busybox", *wget]
    proc = c.system.run(argv)
    return proc.stdout if proc.returncode == 0 else f"rc={proc.returncode} {proc.stderr.strip()}"


def test_containers_on_one_network_reach_each_other_by_name_and_one_on_another_cannot(net: Conman) -> None:
    net.ok("network", "create", "blue")
    net.ok("network", "create", "red")
    net.ok("run", "-d", "--name", "a", "--network", "blue", "--network-alias", "www", *HTTPD)
    net.ok(
        "run",
        "-d",
        "--name",
        "b",
        "--network",
        "blue",
        "--add-host",
        "gw:host-gateway",
        "busybox",
        "sleep",
        "1000",
    )
    net.ok("run", "-d", "--name", "c", "--network", "red", "busybox", "sleep", "1000")
    assert fetch(net, "http://a/", inside="b") == "hello\n"
    assert fetch(net, "http://www/", inside="b") == "hello\n"  # its alias
    lookup = net("exec", "c", "nslookup", "a")
    assert lookup.returncode != 0 and "can't find a: NXDOMAIN" in lookup.stdout, lookup.stdout
    assert fetch(net, "http://a/", inside="c").startswith("rc=")
    hosts = net.ok("exec", "a", "cat", "/etc/hosts")
    address = net.ok("inspect", "-f", "{{.NetworkSettings.Networks.blue.IPAddress}}", "a").strip()
    assert f"{address}\t" in hosts and hosts.split(f"{address}\t")[1].split("\n")[0].split() == [
        net.ok("inspect", "-f", "{{.Config.Hostname}}", "a").strip(), "a", "www"]  # fmt: skip
    gateway = json.loads(net.ok("network", "inspect", "blue"))[0]["IPAM"]["Config"][0]["Gateway"]
    assert net.ok("exec", "b", "cat", "/etc/resolv.conf").splitlines()[0] == f"nameserver {gateway}"
    assert f"{gateway}\tgw\n" in net.ok("exec", "b", "cat", "/etc/hosts")


def test_dns_servers_given_are_the_network_name_server_s_upstream(net: Conman) -> None:
    # podman's way: the names of the network still resolve; aardvark-dns asks --dns for the rest
    net.ok("run", "-d", "--name", "a", "busybox", "sleep", "1000")
    net.ok("run", "-d", "--name", "b", "--dns", "192.0.2.53", "busybox", "sleep", "1000")
    assert net.ok("exec", "b", "cat", "/etc/resolv.conf").splitlines()[0] == "nameserver 10.90.0.1"
    address = net.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "a").strip()
    assert f"Address: {address}" in net.ok("exec", "b", "nslookup", "a")
    assert " 192.0.2.53" in net.sh("cat /run/conman/networks/aardvark-dns/conman").stdout


def test_published_ports_answer_on_the_sandbox_s_addresses(net: Conman) -> None:
    net.ok("run", "-d", "--name", "one", "-p", "127.0.0.1:8080:80", *HTTPD)
    net.ok("run", "-d", "--name", "two", "-p", "8081:80", *HTTPD)
    net.ok("run", "-d", "--name", "any", "-p", "80", *HTTPD)
    assert fetch(net, "http://127.0.0.1:8080/") == "hello\n"
    assert fetch(net, "http://127.0.0.1:8081/") == "hello\n"
    address = net.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "one").strip()
    assert address.startswith("10.90.0.") and fetch(net, f"http://{address}/") == "hello\n"  # on the bridge
    picked = net.ok("port", "any").strip()
    assert picked.startswith("80/tcp -> 0.0.0.0:"), picked
    port = picked.rsplit(":", 1)[1]
    assert net.ok("port", "any", "80") == f"0.0.0.0:{port}\n"
    assert fetch(net, f"http://127.0.0.1:{port}/") == "hello\n"
    table = net.ok("ps", "--format", "{{.Names}} {{.Ports}}").splitlines()
    assert sorted(table) == sorted(["one 127.0.0.1:8080->80/tcp", "two 0.0.0.0:8081->80/tcp",
                                    f"any 0.0.0.0:{port}->80/tcp"])  # fmt: skip
    assert net.ok("ps", "--filter", "publish=8081", "--format", "{{.Names}}") == "two\n"
    assert net.ok("ps", "--filter", "publish=8080/udp", "--format", "{{.Names}}") == ""
    assert net.ok("ps", "--filter", "network=conman", "-q").count("\n") == 3
    ports = json.loads(net.ok("inspect", "-f", "{{json .NetworkSettings.Ports}}", "one"))
    assert ports == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}
    received, sent = net.ok("stats", "--no-stream", "--format", "{{.NetIO}}", "one").strip().split(" / ")
    assert received not in ("0B", "--") and sent not in ("0B", "--"), (received, sent)  # its own interface


def test_container_none_and_host_networks(net: Conman) -> None:
    net.ok("run", "-d", "--name", "a", "--ip", "10.90.0.77", "--mac-address", "92:d0:c6:0a:29:33", *HTTPD)
    address = net.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "a").strip()
    assert address == "10.90.0.77"
    assert net.ok("inspect", "-f", "{{.NetworkSettings.MacAddress}}", "a") == "92:d0:c6:0a:29:33\n"
    assert "link/ether 92:d0:c6:0a:29:33 " in net.ok("exec", "a", "ip", "-o", "link", "show", "eth0")
    shared = net.ok("run", "--rm", "--network", "container:a", "busybox", "sh", "-c",
                    "ip -o -4 addr show eth0; wget -qO- http://127.0.0.1/")  # fmt: skip
    assert f"inet {address}/24" in shared and shared.endswith("hello\n")
    links = net.ok("run", "--rm", "--network", "none", "busybox", "ip", "-o", "link").splitlines()
    assert [line.split(":")[1].strip() for line in links] == ["lo"]
    interactive = net(
        "run", "--rm", "-i", "busybox", "sh", "-c", "cat; ip -o -4 addr show eth0", input="typed\n"
    )
    assert (
        interactive.returncode == 0
        and interactive.stdout.startswith("typed\n")
        and " inet 10.90.0." in interactive.stdout
    )
    host = net.ok("run", "--rm", "--network", "host", "busybox", "ip", "-o", "link").splitlines()
    assert "conman0" in {line.split(":")[1].strip() for line in host}  # the sandbox's own bridge


def test_the_host_s_loopback_stays_the_host_s(net: Conman) -> None:
    """The issue's finding: with the host's network a container reached a service on the host's
    127.0.0.1. On a bridge, 127.0.0.1 is the container's own, and the bridge does not route the
    loopback (route_localnet stays 0 while no port is published on it)."""
    serve = [
        "systemd-run",
        "--unit",
        "loopback-httpd",
        "busybox",
        "httpd",
        "-f",
        "-p",
        "127.0.0.1:9999",
        "-h",
        "/tmp/www",
    ]
    assert net.system.run(serve).returncode == 0
    try:
        assert until(lambda: fetch(net, "http://127.0.0.1:9999/") == "hello\n")  # (it serves)
        net.ok("run", "-d", "--name", "a", "busybox", "sleep", "1000")
        assert fetch(net, "http://127.0.0.1:9999/", inside="a").startswith("rc=")
        assert fetch(net, "http://10.90.0.1:9999/", inside="a").startswith("rc=")
        localnet = "/proc/sys/net/ipv4/conf/conman0/route_localnet"
        assert net.ok("exec", "a", "true") == "" and net.sh(f"cat {localnet}").stdout == "0\n"
    finally:
        net.system.run(["systemctl", "stop", "loopback-httpd"])


def _traces(net: Conman, cid: str, address: str) -> list[str]:
    """What of one container its network left: a veth on a bridge, a lease, a firewall rule."""
    script = f"""
ip -o link show type veth | sed 's/^/veth /'
cat /run/conman/networks/leases/*.json 2>/dev/null | grep -o {cid} | sed 's/^/lease /'
iptables-save | grep -e '{address}[/ :]' -e 'id: {cid[:12]}' | sed 's/^/rule /'
grep -c /run/conman/{cid}/netns /proc/mounts | grep -v '^0$' | sed 's/^/netns /'
"""
    return net.sh(script).stdout.splitlines()


@pytest.mark.parametrize(
    "end", ["rm -f", "kill -9 init", "systemctl stop", "kill -9 shim", "daemon-reexec, rm -f"]
)
def test_nothing_of_its_network_is_left_after_the_container_ends(net: Conman, end: str) -> None:
    # a health check keeps the shim as the unit's main process: the shim that a SIGKILL may hit
    shim = ["--health-cmd", "true", "--health-interval", "1h"] if end == "kill -9 shim" else []
    cid = net.ok("run", "-d", "--name", "a", "-p", "8080:80", *shim, *HTTPD).strip()
    address = net.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "a").strip()
    assert len(_traces(net, cid, address)) >= 3  # (the check sees them while it runs)
    unit = net.ok("unit", "a").strip()
    if end == "rm -f":
        net.ok("rm", "-f", "a")
    elif end == "daemon-reexec, rm -f":
        assert net.system.run(["systemctl", "daemon-reexec"]).returncode == 0
        assert fetch(net, "http://127.0.0.1:8080/") == "hello\n"  # (it ran on through the re-exec)
        net.ok("rm", "-f", "a")
    elif end == "kill -9 shim":
        main_pid = net.system.run(["systemctl", "show", unit, "-pMainPID", "--value"]).stdout.strip()
        assert main_pid != net.ok("inspect", "-f", "{{.State.Pid}}", "a").strip()
        assert net.system.run(["kill", "-9", main_pid]).returncode == 0
    elif end == "kill -9 init":
        pid = net.ok("inspect", "-f", "{{.State.Pid}}", "a").strip()
        assert net.system.run(["kill", "-9", pid]).returncode == 0
    else:
        assert net.system.run(["systemctl", "stop", unit]).returncode == 0
    if not end.endswith("rm -f"):
        assert until(lambda: net.ok("inspect", "-f", "{{.State.Status}}", "a").strip() == "exited")
    assert until(lambda: _traces(net, cid, address) == [], 10), _traces(net, cid, address)


def test_containers_started_at_once_on_a_new_network_all_run_and_leave_nothing(net: Conman) -> None:
    # netavark runs one at a time: two setups at once race on the bridge and its firewall chains
    net.ok("network", "create", "blue")
    script = "for i in 1 2 3 4 5 6; do conman run -d --name c$i --network blue busybox sleep 1000 >/dev/null & done; wait"
    assert net.sh(script).returncode == 0
    assert sorted(net.ok("ps", "--format", "{{.Names}}").split()) == [f"c{i}" for i in range(1, 7)]
    addresses = {
        net.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", f"c{i}").strip() for i in range(1, 7)
    }
    assert len(addresses) == 6
    assert net.sh("for i in 1 2 3 4 5 6; do conman rm -f c$i >/dev/null & done; wait").returncode == 0
    assert (
        net.sh("for i in 1 2 3 4; do conman run --rm --network blue busybox true & done; wait").returncode
        == 0
    )
    assert net.ok("ps", "-aq") == ""  # (the fixture checks that no veth, rule or lease is left)


def test_a_restarted_container_keeps_its_address(net: Conman) -> None:
    net.ok("run", "-d", "--name", "a", "--restart", "always", "busybox", "sh", "-c", "sleep 0.3; exit 1")
    first = net.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "a").strip()
    unit = net.ok("unit", "a").strip()
    assert until(
        lambda: int(net.system.run(["systemctl", "show", unit, "-pNRestarts", "--value"]).stdout) >= 2
    )
    assert until(lambda: net.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "a").strip() == first)


def test_a_reboot_leaves_nothing_and_the_container_starts_again(tmp_path: Path) -> None:
    root = str(tmp_path / "lib")
    conman = ["conman", "--root", root]
    with Sandbox(keep=[str(tmp_path)], private_network=True) as sandbox:
        first = System(sandbox)
        assert first.run([*conman, "image", "import", "busybox"]).returncode == 0
        proc = first.run([*conman, "run", "-d", "--name", "a", "-p", "8080:80", "busybox", "sleep", "1000"])
        assert proc.returncode == 0, proc.stderr
        address = first.run([*conman, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "a"]).stdout.strip()
    with Sandbox(keep=[str(tmp_path)], private_network=True) as sandbox:
        second = System(sandbox)
        assert second.run(["ip", "-o", "link", "show", "type", "veth"]).stdout == ""
        assert second.run(["sh", "-c", "ls /run/conman/networks/leases 2>/dev/null"]).stdout == ""
        assert second.run([*conman, "start", "a"]).returncode == 0
        again = second.run([*conman, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", "a"]).stdout.strip()
        assert again == address
        assert second.run([*conman, "rm", "-f", "a"]).returncode == 0
        assert second.run(["ip", "-o", "link", "show", "type", "veth"]).stdout == ""


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--network", "nosuch"], "Error: no such network: nosuch\n"),
        (["-p", "8080:80"], "Error: port 0.0.0.0:8080/tcp is already published by web\n"),
        (["-p", "80:80:80:80"], 'Error: invalid --publish "80:80:80:80": use [IP:][HOSTPORT:]CONTAINERPORT'),
        (["--ip", "10.99.0.5"], "Error: --ip 10.99.0.5 is not a free address of network conman (10.90.0.0/24, gateway 10.90.0.1)\n"),
        (["--network", "container:stopped"], "Error: container stopped is not running: --network container:stopped joins its network\n"),
    ],
)  # fmt: skip
def test_bad_network_input_is_one_line_and_sets_nothing_up(net: Conman, args: list[str], error: str) -> None:
    net.ok("run", "-d", "--name", "web", "-p", "8080:80", "busybox", "sleep", "1000")
    net.ok("create", "--name", "stopped", "busybox", "true")
    before = net.leftovers()
    proc = net("run", "-d", *args, "busybox", "sleep", "1000")
    assert proc.returncode == 125
    assert proc.stderr.startswith(error), proc.stderr
    assert "Traceback" not in proc.stderr
    assert net.leftovers() == before
    assert sorted(net.ok("ps", "-a", "--format", "{{.Names}}").split()) == ["stopped", "web"]


def test_an_internal_network_has_no_way_out(net: Conman) -> None:
    net.ok("network", "create", "--internal", "--subnet", "10.99.5.0/24", "inner")
    routes = net.ok("run", "--rm", "--network", "inner", "busybox", "ip", "route")
    assert "default" not in routes and "10.99.5.0/24 dev eth0" in routes
    assert "default via 10.90.0.1" in net.ok("run", "--rm", "busybox", "ip", "route")


def test_a_network_in_use_is_not_removed(net: Conman) -> None:
    net.ok("network", "create", "blue")
    net.ok("create", "--name", "a", "--network", "blue", "busybox", "true")
    proc = net("network", "rm", "blue")
    assert (proc.returncode, proc.stderr) == (
        125, "Error: network blue is in use by container a\nHint: remove its containers first (conman rm -f NAME)\n")  # fmt: skip
    net.ok("rm", "a")
    assert net.ok("network", "rm", "blue") == "blue\n"


def test_connect_and_disconnect_a_running_container(net: Conman) -> None:
    net.ok("network", "create", "blue")
    net.ok("run", "-d", "--name", "a", "--network", "blue", *HTTPD)
    net.ok("run", "-d", "--name", "b", "busybox", "sleep", "1000")
    a = net.ok("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "a").strip()
    assert "can't find a: NXDOMAIN" in net("exec", "b", "nslookup", "a").stdout
    net.ok("network", "connect", "--alias", "bee", "blue", "b")
    eth1 = net.ok("exec", "b", "ip", "-o", "-4", "addr", "show", "eth1")
    assert " inet 10.90.1." in eth1, eth1
    assert net.ok("exec", "b", "ip", "route", "get", a).split()[2] == "eth1"  # a's bridge, directly
    assert fetch(net, f"http://{a}/", inside="b") == "hello\n"
    assert fetch(net, "http://a/", inside="b") == "hello\n"  # a's name, from b's first name server
    b_blue = net.ok("inspect", "-f", "{{.NetworkSettings.Networks.blue.IPAddress}}", "b").strip()
    assert f"Address: {b_blue}" in net.ok("exec", "a", "nslookup", "bee")  # and b's alias, from a
    assert net.ok("inspect", "-f", "{{len .NetworkSettings.Networks}}", "b") == "2\n"
    net.ok("network", "disconnect", "blue", "b")
    assert "eth1" not in net.ok("exec", "b", "ip", "-o", "link")
    assert "can't find a: NXDOMAIN" in net("exec", "b", "nslookup", "a").stdout
    assert net.ok("inspect", "-f", "{{len .NetworkSettings.Networks}}", "b") == "1\n"
    # interfaces are reused: eth0 and eth2 left, the next one is eth1
    net.ok("network", "create", "red")
    for step in (("connect", "blue"), ("connect", "red"), ("disconnect", "blue"), ("connect", "blue")):
        net.ok("network", *step, "b")
    links = [
        line.split(":")[1].strip().split("@")[0]
        for line in net.ok("exec", "b", "ip", "-o", "link").splitlines()
    ]
    assert sorted(links) == ["eth0", "eth1", "eth2", "lo"]
    net.ok("stop", "-t", "0", "b")  # its next start sets its three networks up anew
    net.ok("start", "b")
    assert net.ok("inspect", "-f", "{{len .NetworkSettings.Networks}}", "b") == "3\n"
    assert fetch(net, "http://a/", inside="b") == "hello\n"

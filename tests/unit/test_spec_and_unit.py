"""The container spec's JSON round trip and its mapping to unit properties (no systemd needed)."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from conman_systemd.container import oci
from conman_systemd.container.paths import Paths
from conman_systemd.container.spec import ContainerSpec, Volume
from conman_systemd.core import unit

PATHS = Paths(root="/var/lib/conman", runroot="/run/conman")
SHIM = ["/usr/bin/python3", "-I", "-S", "/usr/lib/python3/dist-packages/conman_systemd/shim/__main__.py"]


def make(**kw: Any) -> ContainerSpec:
    base: dict[str, Any] = {"id": "a" * 64, "name": "web", "image": "busybox:latest", "image_id": "b" * 64,
                            "rootfs": "/img/rootfs", "command": ("sleep", "1000")}  # fmt: skip
    return ContainerSpec(**{**base, **kw})


def test_spec_round_trips_through_json() -> None:
    spec = make(env=("A=1",), volumes=(Volume(source="/src", destination="/dst", read_only=True),),
                network="none", restart="on-failure", restart_max=3, labels={"k": "v"}, uid=1000, gid=1001,
                created=1.5, runtime="crun")  # fmt: skip
    assert ContainerSpec.from_json(spec.to_json()) == spec


def props(spec: ContainerSpec) -> dict[str, object]:
    return dict(unit.properties(spec, PATHS, shim=SHIM))


def test_forced_defaults() -> None:
    p = props(make())
    assert p["Type"] == "notify" and p["NotifyAccess"] == "exec" and p["Delegate"] is True
    assert p["KillMode"] == "mixed" and p["KillSignal"] == signal.SIGTERM
    assert p["SyslogIdentifier"] == "web"
    assert p["Description"] == "conman container web (busybox:latest)"
    assert p["SuccessExitStatus"] == ([143, 137], [signal.SIGKILL, signal.SIGTERM])
    assert p["TimeoutStopUSec"] == (10 + unit.STOP_MARGIN) * 1_000_000
    assert p["Restart"] == "no" and "CollectMode" not in p
    argv = [*SHIM, "start", "--root", "/var/lib/conman", "--runroot", "/run/conman", "a" * 64]
    assert p["ExecStart"] == [("/usr/bin/python3", argv, False)]


@pytest.mark.parametrize(
    ("policy", "restart"),
    [
        ("on-failure", "on-failure"),
        ("always", "always"),
        ("unless-stopped", "always"),
    ],
)
def test_restart_policies(policy: str, restart: str) -> None:
    p = props(make(restart=policy))
    assert p["Restart"] == restart and p["StartLimitIntervalUSec"] == 0
    assert p["RestartForceExitStatus"] == ([], [signal.SIGKILL])


def test_custom_stop_signal_and_auto_remove() -> None:
    p = props(make(stop_signal=signal.SIGINT, stop_timeout=3, remove_on_exit=True))
    assert p["KillSignal"] == signal.SIGINT
    assert p["SuccessExitStatus"] == ([130, 137], [signal.SIGINT, signal.SIGKILL])
    assert p["CollectMode"] == "inactive-or-failed"


def test_every_property_has_a_signature() -> None:
    spec = make(restart="on-failure", remove_on_exit=True)
    encoded = unit.encode(unit.properties(spec, PATHS, shim=["/x"]))
    assert all(sig == unit.SIGNATURES[name] for name, (sig, _) in encoded)


def test_render_is_unit_file_syntax() -> None:
    text = unit.render(unit.properties(make(), PATHS, shim=SHIM))
    assert "Delegate=yes" in text.splitlines()
    assert "SuccessExitStatus=143 137 SIGKILL SIGTERM" in text.splitlines()
    shim = " ".join(SHIM)
    when = os.path.join(os.path.dirname(SHIM[-1]), "when.sh")  # next to the shim
    cleanup = f"{shim} cleanup --root /var/lib/conman --runroot /run/conman {'a' * 64}"
    assert f"ExecStopPost=-/bin/sh {when} dir /run/conman/{'a' * 64} {cleanup}" in text.splitlines()
    stop = f"{shim} stop --root /var/lib/conman --runroot /run/conman {'a' * 64}"
    assert f"ExecStop=/bin/sh {when} mainpid {stop}" in text.splitlines()
    # systemd 252 cannot read `$` or `;` back from a transient unit file after a daemon-reload.
    assert "$" not in text and ";" not in text


def test_oci_config_places_the_container_in_the_units_cgroup() -> None:
    config = oci.config(make(network="none", read_only=True,
                             volumes=(Volume(source="/s", destination="/d", read_only=True),)),
                        PATHS)  # fmt: skip
    assert config["linux"]["cgroupsPath"] == f"/conman.slice/conman-{'a' * 64}.service/container"
    assert {"type": "network"} in config["linux"]["namespaces"]
    assert config["root"] == {"path": f"/run/conman/{'a' * 64}/rootfs", "readonly": True}
    assert {
        "destination": "/d",
        "type": "bind",
        "source": "/s",
        "options": ["rbind", "ro", "rro"],
    } in config["mounts"]
    assert config["process"]["args"] == ["sleep", "1000"]


def test_a_volume_that_shows_the_host_s_notify_socket_masks_it() -> None:
    from conman_systemd.container.oci import exposed_notify_sockets

    volumes = (Volume(source="/", destination="/host"), Volume(source="/run", destination="/r"),
               Volume(source="/run/systemd/notify", destination="/n"), Volume(source="/var", destination="/v"))  # fmt: skip
    spec = ContainerSpec(
        id="a" * 64, name="w", image="i", image_id="b" * 64, rootfs="/r", command=("x",), volumes=volumes
    )
    assert exposed_notify_sockets(spec) == ["/host/run/systemd/notify", "/r/systemd/notify", "/n"]


def test_hosts_and_resolv_conf_are_conman_s_files_never_the_host_s() -> None:
    spec = ContainerSpec(id="a" * 64, name="w", image="i", image_id="b" * 64, rootfs="/r", command=("x",),
                         read_only=True)  # fmt: skip
    etc = [m for m in oci.config(spec, PATHS)["mounts"] if m["destination"].startswith("/etc/")]
    assert etc == [
        {"destination": f"/etc/{name}", "type": "bind", "source": f"/var/lib/conman/containers/{'a' * 64}/{name}",
         "options": ["rbind", "ro"]}
        for name in ("hosts", "resolv.conf")
    ]  # fmt: skip


HOST_HOSTS = "127.0.0.1 localhost\n10.0.0.5 db.example.org db  # the database\n"


@pytest.mark.parametrize(
    ("network", "hostname", "host", "expected"),
    [
        ("host", "web", HOST_HOSTS, HOST_HOSTS + "127.0.1.1\tweb\n"),
        ("host", "db", HOST_HOSTS, HOST_HOSTS),  # the host's file names it already
        ("host", "web", None,  # a minimal root has no /etc/hosts
         "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tweb\n"),
        ("none", "web", HOST_HOSTS,
         "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tweb\n"),
    ],
)  # fmt: skip
def test_hosts_names_the_container(network: str, hostname: str, host: str | None, expected: str) -> None:
    from conman_systemd.container.etc_files import hosts_text

    spec = ContainerSpec(id="a" * 64, name="w", image="i", image_id="b" * 64, rootfs="/r", command=("x",),
                         network=network, hostname=hostname)  # fmt: skip
    assert hosts_text(spec, host) == expected


def test_resolv_conf_is_the_host_s_or_says_there_is_none() -> None:
    from conman_systemd.container.etc_files import hosts_text, resolv_text

    spec = ContainerSpec(id="a" * 64, name="w", image="i", image_id="b" * 64, rootfs="/r", command=("x",))
    assert resolv_text(spec, "nameserver 10.0.0.1") == "nameserver 10.0.0.1\n"
    assert resolv_text(spec, None) == "# The host has no /etc/resolv.conf.\n"
    host = "nameserver 10.0.0.1\nsearch corp.example\noptions edns0\n"
    mine = spec.replace(dns=("9.9.9.9", "2620:fe::fe"), dns_options=("ndots:2",))
    assert resolv_text(mine, host) == (
        "search corp.example\nnameserver 9.9.9.9\nnameserver 2620:fe::fe\noptions ndots:2\n"
    )
    assert resolv_text(spec.replace(dns_search=(".",)), host) == "nameserver 10.0.0.1\noptions edns0\n"
    assert (
        resolv_text(spec.replace(dns_search=("a.example", "b.example")), None)
        == "search a.example b.example\n"
    )
    with_hosts = spec.replace(add_hosts=("db:10.1.2.3", "v6:fd00::1"))
    assert hosts_text(with_hosts, None).endswith("10.1.2.3\tdb\nfd00::1\tv6\n")


def test_hosts_and_resolv_conf_on_a_bridge() -> None:
    from conman_systemd.container.etc_files import hosts_text, resolv_text

    spec = ContainerSpec(id="c" * 64, name="web", image="busybox", image_id="", rootfs="", command=("sh",),
                         hostname="box", network="bridge", networks=("conman",), network_aliases=("www",),
                         add_hosts=("host:host-gateway", "db:10.1.2.3"))  # fmt: skip
    host_hosts = "127.0.0.1 localhost\n10.0.0.5 buildhost\n"
    assert hosts_text(spec, host_hosts, ["10.90.0.7"], "10.90.0.1") == (
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"  # never the host's lines
        "10.90.0.7\tbox web www\n10.90.0.1\thost\n10.1.2.3\tdb\n"
    )
    # Before its first start (no address yet): no line for the gateway
    assert hosts_text(spec, host_hosts).endswith("127.0.1.1\tbox\n10.1.2.3\tdb\n")
    host_resolv = "nameserver 10.0.0.1\nsearch corp.example\n"
    assert resolv_text(spec, host_resolv, ["10.90.0.1"]) == "search corp.example\nnameserver 10.90.0.1\n"
    assert resolv_text(spec.replace(dns=("9.9.9.9",)), host_resolv, ["10.90.0.1"]) == (
        "search corp.example\nnameserver 10.90.0.1\n"  # aardvark-dns asks 9.9.9.9 for other names
    )

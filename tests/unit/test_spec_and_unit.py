"""The container spec's JSON round trip and its mapping to unit properties (no systemd needed)."""

from __future__ import annotations

import signal

import pytest

from conman_systemd.core import oci, unit
from conman_systemd.core.spec import ContainerSpec, Network, RestartPolicy, Volume
from conman_systemd.core.store import Paths

PATHS = Paths("/var/lib/conman", "/run/conman")


def make(**kw: object) -> ContainerSpec:
    base: dict[str, object] = {"id": "a" * 64, "name": "web", "image": "busybox:latest", "image_id": "b" * 64,
                               "rootfs": "/img/rootfs", "command": ("sleep", "1000")}  # fmt: skip
    return ContainerSpec(**{**base, **kw})  # type: ignore[arg-type]


def test_spec_round_trips_through_json() -> None:
    spec = make(env=("A=1",), volumes=(Volume("/src", "/dst", True),), network=Network.NONE,
                restart=RestartPolicy.ON_FAILURE, restart_max=3, labels={"k": "v"}, uid=1000, gid=1001,
                created=1.5)  # fmt: skip
    assert ContainerSpec.from_json(spec.to_json()) == spec


def props(spec: ContainerSpec) -> dict[str, object]:
    return dict(unit.properties(spec, PATHS, shim="/usr/bin/conman-shim"))


def test_forced_defaults() -> None:
    p = props(make())
    assert p["Type"] == "notify" and p["NotifyAccess"] == "all" and p["Delegate"] is True
    assert p["KillMode"] == "mixed" and p["KillSignal"] == signal.SIGTERM
    assert p["SyslogIdentifier"] == "web"
    assert p["Description"] == "conman container web (busybox:latest)"
    assert p["SuccessExitStatus"] == ([143, 137], [signal.SIGKILL, signal.SIGTERM])
    assert p["TimeoutStopUSec"] == (10 + unit.STOP_MARGIN) * 1_000_000
    assert p["Restart"] == "no" and "CollectMode" not in p
    argv = [
        "/usr/bin/conman-shim",
        "start",
        "--root",
        "/var/lib/conman",
        "--runroot",
        "/run/conman",
        "a" * 64,
    ]
    assert p["ExecStart"] == [("/usr/bin/conman-shim", argv, False)]


@pytest.mark.parametrize(
    ("policy", "restart"),
    [
        (RestartPolicy.ON_FAILURE, "on-failure"),
        (RestartPolicy.ALWAYS, "always"),
        (RestartPolicy.UNLESS_STOPPED, "always"),
    ],
)
def test_restart_policies(policy: RestartPolicy, restart: str) -> None:
    p = props(make(restart=policy))
    assert p["Restart"] == restart and p["StartLimitIntervalUSec"] == 0
    assert p["RestartForceExitStatus"] == ([], [signal.SIGKILL])


def test_custom_stop_signal_and_auto_remove() -> None:
    p = props(make(stop_signal=signal.SIGINT, stop_timeout=3, remove_on_exit=True))
    assert p["KillSignal"] == signal.SIGINT
    assert p["SuccessExitStatus"] == ([130, 137], [signal.SIGINT, signal.SIGKILL])
    assert p["CollectMode"] == "inactive-or-failed"


def test_every_property_has_a_signature() -> None:
    spec = make(restart=RestartPolicy.ON_FAILURE, remove_on_exit=True)
    encoded = unit.encode(unit.properties(spec, PATHS, shim="/x"))
    assert all(sig == unit.SIGNATURES[name] for name, (sig, _) in encoded)


def test_render_is_unit_file_syntax() -> None:
    text = unit.render(unit.properties(make(), PATHS, shim="/usr/bin/conman-shim"))
    assert "Delegate=yes" in text.splitlines()
    assert "SuccessExitStatus=143 137 SIGKILL SIGTERM" in text.splitlines()
    cleanup = f"/usr/bin/conman-shim cleanup --root /var/lib/conman --runroot /run/conman {'a' * 64}"
    assert f"ExecStopPost=-/bin/sh {unit.WHEN} dir /run/conman/{'a' * 64} {cleanup}" in text.splitlines()
    stop = f"/usr/bin/conman-shim stop --root /var/lib/conman --runroot /run/conman {'a' * 64}"
    assert f"ExecStop=/bin/sh {unit.WHEN} mainpid {stop}" in text.splitlines()
    # systemd 252 cannot read `$` or `;` back from a transient unit file after a daemon-reload.
    assert "$" not in text and ";" not in text


def test_oci_config_places_the_container_in_the_units_cgroup() -> None:
    config = oci.config(make(network=Network.NONE, read_only=True, volumes=(Volume("/s", "/d", True),)),
                        "/run/conman/x/rootfs", "/conman.slice/u.service/container")  # fmt: skip
    assert config["linux"]["cgroupsPath"] == "/conman.slice/u.service/container"
    assert {"type": "network"} in config["linux"]["namespaces"]
    assert config["root"] == {"path": "/run/conman/x/rootfs", "readonly": True}
    assert {"destination": "/d", "type": "bind", "source": "/s", "options": ["rbind", "ro"]} in config[
        "mounts"
    ]
    assert config["process"]["args"] == ["sleep", "1000"]

"""Declared containers without systemd: definition files in, unit files out (golden files in
tests/unit/declared/: NAME.container -> NAME.service), and every bad definition's message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conman_systemd.container.paths import Paths
from conman_systemd.container.spec import ContainerSpec
from conman_systemd.core import unit
from conman_systemd.core.create import build_spec
from conman_systemd.core.unit_file import exec_line
from conman_systemd.declared import definition, generator
from conman_systemd.declared.export import definition_text
from conman_systemd.errors import ConmanError
from conman_systemd.image.store import ImageStore
from tests.unit.test_cli import conman, store_busybox_image

GOLDEN = Path(__file__).parent / "declared"
SHIM = ["/usr/bin/python3", "-I", "-S", "/usr/lib/python3/dist-packages/conman_systemd/shim/__main__.py"]


def _as_installed(path: Path) -> definition.Definition:
    """The definition as if it were in /etc/conman/containers (the unit names its file)."""
    return definition.parse(os.fspath(path)).replace(path=f"/etc/conman/containers/{path.name}")


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.container")))
def test_a_definition_becomes_its_golden_unit(name: str) -> None:
    """To update after a deliberate change: write service_text()'s output over the .service file
    and read the diff."""
    text = generator.service_text(_as_installed(GOLDEN / f"{name}.container"), python="/usr/bin/python3",
                                  shim=SHIM)  # fmt: skip
    assert text == (GOLDEN / f"{name}.service").read_text()


def test_the_unit_has_the_properties_a_transient_container_gets(tmp_path: Path) -> None:
    """One mapping: the container prepare-declared creates has the unit properties of the
    generated file (what a transient unit of that spec would get)."""
    store_busybox_image(tmp_path)
    paths = Paths(root=os.fspath(tmp_path), runroot=os.fspath(tmp_path / "run"))
    d = definition.parse(os.fspath(GOLDEN / "worker.container"))
    opts = generator.options(d)
    created = build_spec(opts, ImageStore(paths), cid=definition.declared_id(d.name), declared=True)
    made, declared = (dict(unit.properties(s, paths, SHIM)) for s in (created, generator.unit_spec(d, opts)))
    # but the image's name: the unit names it as the definition does (the image is not at hand then)
    assert made.pop("Description") == f"conman container worker ({created.image})"
    assert declared.pop("Description") == "conman container worker (busybox)"
    assert made.pop("LogExtraFields")[-1] == f"IMAGE_NAME={created.image}".encode()
    assert declared.pop("LogExtraFields")[-1] == b"IMAGE_NAME=busybox"
    assert made == declared
    assert created.command == ("sh", "-c", "echo $HOME; exit 3")
    assert (created.uid, created.gid, created.network, created.runtime) == (1000, 1000, "none", "runc")
    assert created.unit == "worker.service"


def test_install_lines_become_links() -> None:
    d = definition.parse(os.fspath(GOLDEN / "worker.container"))
    assert generator.install_links(d) == [
        "multi-user.target.wants/worker.service", "default.target.wants/worker.service",
        "app.target.requires/worker.service",
    ]  # fmt: skip


def test_systemd_exec_quoting() -> None:
    assert exec_line(["/bin/x", "a b", "", "100%", "$HOME", 'say "hi"\\n', ";"], True) == (
        '-/bin/x "a b" "" 100%% $$HOME "say \\"hi\\"\\\\n" ";"'
    )


def _definition(tmp_path: Path, text: str, name: str = "app") -> str:
    path = tmp_path / f"{name}.container"
    path.write_text(text)
    return os.fspath(path)


BAD = [
    ("[Container]\nImage=busybox\nPorts=80\n", "line 3: unknown key Ports in [Container]"),
    ("[Container]\nImage=busybox\nName=x\n",
     "line 3: unknown key Name in [Container]: the file's name is the container's name"),
    ("[Container]\nImage=busybox\nRm=yes\n",
     "line 3: unknown key Rm in [Container]: a declared container is removed when its unit stops"),
    ("[Container]\nImage=busybox\nReadOnly=maybe\n", "line 3: ReadOnly=maybe: use yes or no"),
    ("[Container]\nImage=busybox\nStopTimeout=soon\n", "line 3: StopTimeout=soon: a whole number is needed"),
    ("[Container]\nImage=busybox\nPull=sometimes\n", "line 3: Pull=sometimes: use missing, always, never"),
    ("[Container]\nImage=busybox\nExec=sh -c 'x\n", "line 3: Exec=sh -c 'x: No closing quotation"),
    ("[Containers]\nImage=busybox\n",
     "line 1: unknown section [Containers]: use [Container], [Unit], [Service] or [Install]"),
    ("Image=busybox\n", "line 1: Image= comes before any section: start with [Container]"),
    ("[Container]\nImage busybox\n", "line 2: not KEY=VALUE: Image busybox"),
    ("[Container]\nImage=busybox\n[Install]\nAlias=x.service\n",
     "line 4: unknown key Alias in [Install]: use WantedBy or RequiredBy"),
    ("[Container]\nExec=true\n", ": no Image= in [Container]"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_definition_is_one_error_naming_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = _definition(tmp_path, text)
    with pytest.raises(ConmanError) as e:
        definition.parse(path)
    assert e.value.message == f"{path}{' ' if message.startswith('line') else ''}{message}"


def test_a_bad_value_is_refused_by_the_command_line_s_own_parser(tmp_path: Path) -> None:
    path = _definition(tmp_path, "[Container]\nImage=busybox\nRestart=sometimes\n")
    with pytest.raises(ConmanError) as e:
        generator.options(definition.parse(path))
    assert e.value.message == (
        f'{path}: invalid restart policy "sometimes": use no, on-failure[:N], always or unless-stopped'
    )


def test_a_file_name_that_is_no_container_name(tmp_path: Path) -> None:
    path = _definition(tmp_path, "[Container]\nImage=busybox\n", name="-bad")
    with pytest.raises(ConmanError) as e:
        definition.parse(path)
    assert e.value.message == f"{path}: '-bad' is not a container name: use [a-zA-Z0-9][a-zA-Z0-9_.-]*"


def test_lists_accumulate_and_an_empty_value_resets_them(tmp_path: Path) -> None:
    path = _definition(tmp_path, "[Container]\nImage=busybox\nEnv=A=1\nEnv=\nEnv=B=2\nEnv=C=3\n")
    assert definition.parse(path).values["env"] == ("B=2", "C=3")


def test_the_generator_writes_good_units_and_skips_bad_ones(tmp_path: Path) -> None:
    etc, run, out = tmp_path / "etc", tmp_path / "run", tmp_path / "out"
    for d in (etc, run, out):
        d.mkdir()
    (etc / "web.container").write_text((GOLDEN / "web.container").read_text())
    (run / "web.container").write_text("[Container]\nImage=other\n")  # /etc's wins the name
    (run / "bad.container").write_text("[Container]\nImage=busybox\nPorts=80\n")
    (run / "notes.txt").write_text("not a definition")
    logged: list[str] = []  # where systemd runs it, the journal (tests/integration/test_declared.py)
    assert generator.generate(os.fspath(out), (os.fspath(etc), os.fspath(run)), log=logged.append) == 1
    assert sorted(os.listdir(out)) == ["multi-user.target.wants", "web.service"]
    assert "Description=The team's web server" in (out / "web.service").read_text()
    assert os.readlink(out / "multi-user.target.wants" / "web.service") == "../web.service"
    assert logged == [f"{run}/bad.container line 3: unknown key Ports in [Container] (skipped bad)"]


def test_generate_writes_a_definition_that_declares_the_same_container(tmp_path: Path) -> None:
    store_busybox_image(tmp_path)
    paths = Paths(root=os.fspath(tmp_path), runroot=os.fspath(tmp_path / "run"))
    d = definition.parse(os.fspath(GOLDEN / "web.container"))
    spec = build_spec(generator.options(d).replace(image="busybox"), ImageStore(paths))
    text = definition_text(spec, ImageStore(paths).get("busybox").env)
    assert text.startswith("# conman generate web: save as /etc/conman/containers/web.container,\n")
    again = definition.parse(_definition(tmp_path, text, name="web"))
    copy = build_spec(generator.options(again), ImageStore(paths))
    for field in ("command", "env", "volumes", "tmpfs", "read_only", "restart", "stop_signal", "stop_timeout",
                  "labels", "ulimits", "network", "runtime", "uid", "gid", "workdir"):  # fmt: skip
        assert getattr(copy, field) == getattr(spec, field), field
    assert again.install == {"WantedBy": ("multi-user.target",)}


def test_prepare_refuses_a_definition_changed_since_the_unit_was_made(tmp_path: Path) -> None:
    path = _definition(tmp_path, "[Container]\nImage=busybox\n")
    proc = conman("--root", os.fspath(tmp_path / "root"), "prepare-declared", path, "0" * 16)
    assert (proc.returncode, proc.stdout) == (125, "")
    assert proc.stderr == (
        f"Error: {path} changed since systemd read it: its unit is out of date\n"
        "Hint: run `systemctl daemon-reload`, then start the unit again\n"
    )
    assert not (tmp_path / "root").exists()


def _declared_spec(tmp_path: Path, text: str, name: str) -> ContainerSpec:
    """The spec of a definition (text), with the busybox image stored under tmp_path."""
    if not (tmp_path / "images").exists():
        store_busybox_image(tmp_path)
    images = ImageStore(Paths(root=os.fspath(tmp_path), runroot=os.fspath(tmp_path / "run")))
    return build_spec(generator.options(definition.parse(_definition(tmp_path, text, name=name))), images)


def test_generate_keeps_volumes_readiness_health_and_the_log_limit(tmp_path: Path) -> None:
    spec = _declared_spec(tmp_path, (
        "[Container]\nImage=busybox\nExec=sleep 1000\nVolume=data:/var/lib/app:ro,nocopy\nVolume=/cache\n"
        "Sdnotify=container\nWatchdog=2.5\nHealthCmd=test -d /\nHealthInterval=5s\nHealthRetries=2\n"
        "HealthOnFailure=restart\nLogRateLimit=500/1m\n"
    ), "app")  # fmt: skip
    copy = _declared_spec(tmp_path, definition_text(spec, ()), "app")
    for field in ("volumes", "sdnotify", "watchdog", "health", "log_burst", "log_interval"):
        assert getattr(copy, field) == getattr(spec, field), field
    assert spec.health is not None and spec.health.on_failure == "restart" and spec.log_burst == 500


def test_generate_keeps_the_network_its_ports_and_names(tmp_path: Path) -> None:
    spec = _declared_spec(tmp_path, (
        "[Container]\nImage=busybox\nExec=httpd -f\nNetwork=blue\nNetworkAlias=www\nIp=10.90.1.9\n"
        "MacAddress=92:d0:c6:0a:29:33\nPublish=127.0.0.1:8080-8081:80-81\nPublish=53/udp\nAddHost=gw:host-gateway\n"
    ), "web")  # fmt: skip
    assert (spec.network, spec.networks, spec.network_aliases, spec.ip) == ("bridge", ("blue",), ("www",),
                                                                           "10.90.1.9")  # fmt: skip
    text = definition_text(spec.replace(ports=(spec.ports[0], spec.ports[1].replace(host_port=40000))), ())
    assert "Publish=127.0.0.1:8080-8081:80-81/tcp\nPublish=40000:53/udp\n" in text  # a picked port as picked
    copy = _declared_spec(tmp_path, text, "web")
    for field in ("network", "networks", "network_aliases", "ip", "mac_address", "add_hosts"):
        assert getattr(copy, field) == getattr(spec, field), field

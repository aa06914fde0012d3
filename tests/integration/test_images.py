"""Real images run: pulled from a registry on 127.0.0.1 (the reference distribution registry),
loaded from docker and OCI archives, with their config (entrypoint, command, environment, working
directory, user) and their layers (whiteouts, opaque directories, hard links, symlinks) as the
container sees them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.imagekit import ImageConfig, skopeo_copy, two_layers, write_oci_layout
from tests.integration.conftest import Conman
from tests.registry import Registry, start_registry

pytestmark = pytest.mark.systemd

APP = ImageConfig(entrypoint=["/bin/sh", "-c"], cmd=['echo "$GREETING $(pwd) $(id -u):$(id -g)"'],
                  env=["PATH=/bin", "GREETING=hi"], workdir="/srv", user="app")  # fmt: skip
BASE, TOP = two_layers()
LAYERS_SEEN = "ls /opt; test -e /etc/motd || echo motd-gone; stat -c %i /srv/keep /srv/link | uniq | wc -l; readlink /srv/sym; cat /srv/sym"


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("images") / "layout"
    write_oci_layout(directory, "app:1", [BASE, TOP], APP)
    return directory


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, layout: Path) -> Iterator[Registry]:
    with start_registry(tmp_path_factory.mktemp("registry")) as r:
        skopeo_copy(f"oci:{layout}:app:1", f"docker://{r.host}/team/app:1", "--dest-tls-verify=false")
        yield r


def test_an_image_in_a_registry_is_pulled_and_run_with_its_config(clean: Conman, registry: Registry) -> None:
    ref = f"{registry.host}/team/app:1"
    proc = clean("run", "--rm", ref)
    assert (proc.returncode, proc.stdout) == (0, "hi /srv 1000:1000\n"), proc.stderr
    assert proc.stderr.startswith(f"Unable to find image '{ref}' locally\n")
    seen = clean("run", "--rm", "-u", "0", ref, LAYERS_SEEN)
    assert seen.stdout == "new\nmotd-gone\n1\nkeep\nkept\n", seen.stderr
    again = clean("run", "--rm", "--pull", "always", "-e", "GREETING=bye", ref)
    assert (again.stdout, again.stderr) == ("bye /srv 1000:1000\n", "")
    clean.ok("rmi", ref)


@pytest.mark.parametrize("transport", ["docker-archive", "oci-archive"])
def test_archives_load_and_run(clean: Conman, layout: Path, transport: str) -> None:
    inside = f"/var/tmp/app-{transport}.tar"
    host = clean.system.host_path(inside)
    made = layout.parent / f"app-{transport}.tar"
    made.unlink(missing_ok=True)  # from the other runtime's run
    skopeo_copy(f"oci:{layout}:app:1", f"{transport}:{made}:example/app:1")
    shutil.copyfile(made, host)  # written here: skopeo cannot write an oci-archive through /proc/PID/root
    try:
        name = "docker.io/example/app:1" if transport == "docker-archive" else "localhost/example/app:1"
        assert clean.ok("load", "-i", inside) == f"Loaded image: {name}\n"
        assert clean.ok("run", "--rm", name) == "hi /srv 1000:1000\n"
        assert (
            clean.ok("run", "--rm", "--user", "root", name, LAYERS_SEEN) == "new\nmotd-gone\n1\nkeep\nkept\n"
        )
        clean.ok("rmi", name)
    finally:
        os.unlink(host)


def test_an_image_a_container_uses_stays_until_the_container_goes(clean: Conman, layout: Path) -> None:
    host = clean.system.host_path("/var/tmp/app-layout")
    shutil.copytree(layout, host)
    try:
        clean.ok("load", "-i", "/var/tmp/app-layout")
    finally:
        shutil.rmtree(host)
    clean.ok("create", "--name", "user", "app:1")
    assert clean.ok("rmi", "-f", "app:1") == "Untagged: localhost/app:1\n"
    assert clean.ok("start", "-a", "user") == "hi /srv 1000:1000\n"
    clean.ok("rm", "user")
    assert clean.ok("image", "prune").startswith("deleted: sha256:")

"""The image-test toolkit works: layouts it writes are valid to skopeo, convert to docker and OCI
archives, and push to (and read back from) a real registry. skopeo, docker-registry and zstd
are required (README "Set-up"); without them these tests fail rather than skip."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import socket
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.imagekit import (
    Entry,
    ImageConfig,
    busybox_layer,
    layer_tar,
    skopeo,
    skopeo_copy,
    write_oci_layout,
)
from tests.registry import REGISTRY_BIN, Registry, start_registry

INSTALL = "apt-get install -y --no-install-recommends skopeo docker-registry zstd"


def need(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: these tests require it ({INSTALL})")


CONFIG = ImageConfig(
    entrypoint=["/bin/sh", "-c"],
    cmd=["echo hello"],
    env=["PATH=/bin", "GREETING=hi there"],
    workdir="/home/app",
    user="app",
    stop_signal="SIGINT",
    labels={"org.example.x": "1"},
    exposed_ports=["80/tcp"],
    volumes=["/data"],
)
UPPER = [
    Entry("etc/hello", data=b"hello\n", uid=1000, gid=1000, pax={"SCHILY.xattr.user.x": "1"}),
    Entry("etc/group", kind="whiteout"),
    Entry("home", kind="opaque"),
    Entry("home/app", kind="dir", uid=1000, gid=1000),
    Entry("run", kind="dir"),
    Entry("run/fifo", kind="fifo"),
    Entry("bin/sh2", kind="hardlink", target="bin/busybox"),
    Entry("dev/null", kind="chardev", devmajor=1, devminor=3),
]


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, str]:
    directory = tmp_path / "layout"
    digest = write_oci_layout(directory, "v1", [busybox_layer(), UPPER], CONFIG)
    return directory, digest


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    need(REGISTRY_BIN)
    with start_registry(tmp_path / "registry") as running:
        yield running


def members(tar: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        return {m.name: m for m in archive.getmembers()}


def test_layer_tar_members() -> None:
    got = members(layer_tar(UPPER))
    assert list(got) == [
        "etc/hello", "etc/.wh.group", "home/.wh..wh..opq", "home/app", "run", "run/fifo", "bin/sh2", "dev/null",
    ]  # fmt: skip
    assert got["etc/hello"].uid == 1000 and got["etc/hello"].mode == 0o644
    assert got["etc/hello"].pax_headers["SCHILY.xattr.user.x"] == "1"
    assert got["etc/.wh.group"].isreg() and got["etc/.wh.group"].size == 0
    assert got["home/.wh..wh..opq"].isreg()
    assert got["home/app"].isdir() and got["home/app"].mode == 0o755
    assert got["run/fifo"].isfifo()
    assert got["bin/sh2"].islnk() and got["bin/sh2"].linkname == "bin/busybox"
    assert got["dev/null"].ischr() and (got["dev/null"].devmajor, got["dev/null"].devminor) == (1, 3)
    assert Entry(".", kind="opaque").member_name() == ".wh..wh..opq"
    assert Entry("x", kind="whiteout").member_name() == ".wh.x"
    assert layer_tar(UPPER) == layer_tar(UPPER)  # deterministic


def test_busybox_layer() -> None:
    got = members(layer_tar(busybox_layer()))
    assert (
        got["bin/busybox"].mode == 0o755 and got["bin/busybox"].size == Path("/bin/busybox").stat().st_size
    )
    assert got["bin/sh"].issym() and got["bin/sh"].linkname == "busybox"
    assert got["tmp"].mode == 0o1777
    for name in ("etc", "proc", "sys", "dev", "root", "etc/passwd", "etc/group", "bin/du", "bin/readlink"):
        assert name in got


def test_layout_is_valid_to_skopeo(layout: tuple[Path, str]) -> None:
    need("skopeo")
    directory, digest = layout
    assert json.loads((directory / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    raw = skopeo("inspect", "--raw", f"oci:{directory}:v1")
    assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == digest
    manifest = json.loads(raw)
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert [layer["mediaType"] for layer in manifest["layers"]] == [
        "application/vnd.oci.image.layer.v1.tar+gzip"
    ] * 2

    config = json.loads(skopeo("inspect", "--config", f"oci:{directory}:v1"))
    assert config["architecture"] == "amd64" and config["os"] == "linux"
    assert config["config"] == {
        "Entrypoint": ["/bin/sh", "-c"],
        "Cmd": ["echo hello"],
        "Env": ["PATH=/bin", "GREETING=hi there"],
        "WorkingDir": "/home/app",
        "User": "app",
        "StopSignal": "SIGINT",
        "Labels": {"org.example.x": "1"},
        "ExposedPorts": {"80/tcp": {}},
        "Volumes": {"/data": {}},
    }
    diff_ids = [
        "sha256:" + hashlib.sha256(tar).hexdigest() for tar in (layer_tar(busybox_layer()), layer_tar(UPPER))
    ]
    assert config["rootfs"] == {"type": "layers", "diff_ids": diff_ids}
    assert [h["created_by"] for h in config["history"]] == ["imagekit layer 1", "imagekit layer 2"]
    # The blob holds the gzip of exactly the layer's tar.
    blob = directory / "blobs" / "sha256" / manifest["layers"][1]["digest"].removeprefix("sha256:")
    assert gzip.decompress(blob.read_bytes()) == layer_tar(UPPER)


def test_refs_share_a_layout_and_replace(tmp_path: Path) -> None:
    need("skopeo", "zstd")
    directory = tmp_path / "layout"
    raw_tar = layer_tar([Entry("x", data=b"x")])
    first = write_oci_layout(directory, "a", [busybox_layer()], ImageConfig(cmd=["true"]))
    write_oci_layout(directory, "b", [raw_tar], ImageConfig(), compression="zstd")
    plain = write_oci_layout(directory, "c", [raw_tar], ImageConfig(), compression="none")
    second = write_oci_layout(directory, "a", [busybox_layer()], ImageConfig(cmd=["false"]))
    assert first != second
    index = json.loads((directory / "index.json").read_text())
    refs = [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]]
    assert sorted(refs) == ["a", "b", "c"]
    assert json.loads(skopeo("inspect", "--config", f"oci:{directory}:a"))["config"]["Cmd"] == ["false"]
    zstd_manifest = json.loads(skopeo("inspect", "--raw", f"oci:{directory}:b"))
    assert zstd_manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd"
    assert json.loads(skopeo("inspect", "--raw", f"oci:{directory}:c"))["layers"][0]["size"] == len(raw_tar)
    assert plain.startswith("sha256:")


def test_copy_to_archives(layout: tuple[Path, str], tmp_path: Path) -> None:
    need("skopeo")
    directory, _ = layout
    skopeo_copy(f"oci:{directory}:v1", f"docker-archive:{tmp_path}/docker.tar:example/app:1")
    skopeo_copy(f"oci:{directory}:v1", f"oci-archive:{tmp_path}/oci.tar:example/app:1")
    with tarfile.open(tmp_path / "docker.tar") as archive:
        names = archive.getnames()
        assert "manifest.json" in names
        manifest_file = archive.extractfile("manifest.json")
        assert manifest_file is not None
        # skopeo 1.9 writes the name normalised, unlike `docker save` (which writes "example/app:1").
        assert json.load(manifest_file)[0]["RepoTags"] == ["docker.io/example/app:1"]
    with tarfile.open(tmp_path / "oci.tar") as archive:
        assert {"oci-layout", "index.json"} <= set(archive.getnames())
        index_file = archive.extractfile("index.json")
        assert index_file is not None
        # ... while an oci-archive keeps the reference as written.
        [entry] = json.load(index_file)["manifests"]
        assert entry["annotations"]["org.opencontainers.image.ref.name"] == "example/app:1"


def test_skopeo_copy_failure_is_an_assertion(tmp_path: Path) -> None:
    need("skopeo")
    with pytest.raises(AssertionError, match="skopeo copy"):
        skopeo_copy(f"oci:{tmp_path}/nothing:x", f"oci:{tmp_path}/out:x")


def test_registry_push_and_read_back(layout: tuple[Path, str], registry: Registry) -> None:
    need("skopeo")
    directory, digest = layout
    skopeo_copy(f"oci:{directory}:v1", f"docker://{registry.host}/example/app:1", "--dest-tls-verify=false")
    ref = f"docker://{registry.host}/example/app:1"
    raw = skopeo("inspect", "--tls-verify=false", "--raw", ref)
    assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == digest  # pushed as is
    info = json.loads(skopeo("inspect", "--tls-verify=false", ref))
    assert info["Digest"] == digest and info["Name"] == f"{registry.host}/example/app"
    config = json.loads(skopeo("inspect", "--tls-verify=false", "--config", ref))
    assert config["config"]["Entrypoint"] == ["/bin/sh", "-c"]


def test_registry_stops_and_frees_its_port(tmp_path: Path) -> None:
    need(REGISTRY_BIN)
    registry = start_registry(tmp_path / "registry")
    pid, port = registry.proc.pid, registry.port
    assert registry.host == f"127.0.0.1:{port}"
    registry.stop()
    assert registry.proc.returncode is not None
    assert not Path(f"/proc/{pid}").exists()
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))

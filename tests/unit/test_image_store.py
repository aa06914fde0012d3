"""The image store through the CLI, without systemd: load, pull, save, tag, rm, prune; layers
unpacked once and shared; whiteouts as overlayfs reads them; hostile archives refused whole.
Images are built by hand (tests/imagekit.py) and moved by the real skopeo and registry."""

from __future__ import annotations

import base64
import gzip
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.imagekit import (
    Entry,
    ImageConfig,
    busybox_layer,
    layer_tar,
    skopeo_copy,
    two_layers,
    write_oci_layout,
)
from tests.registry import Registry, start_registry

APP = ImageConfig(entrypoint=["/bin/echo"], cmd=["hello"], env=["PATH=/bin", "GREETING=hi"],
                  workdir="/srv", user="app", stop_signal="SIGINT", labels={"org.x": "1"},
                  exposed_ports=["80/tcp"], volumes=["/data"])  # fmt: skip
BASE, TOP = two_layers()


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.images = root / "images"

    def __call__(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "conman_systemd", "--root", os.fspath(self.root), *args]
        proc = subprocess.run(argv, capture_output=True, timeout=120, input=stdin)
        return subprocess.CompletedProcess(argv, proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    def ok(self, *args: str) -> str:
        proc = self(*args)
        assert proc.returncode == 0, f"conman {' '.join(args)}: {proc.stdout}{proc.stderr}"
        return proc.stdout

    def inspect(self, ref: str) -> dict[str, object]:
        data: list[dict[str, object]] = json.loads(self.ok("image", "inspect", ref))
        return data[0]

    def lowers(self, ref: str) -> list[Path]:
        return [Path(p) for p in self.inspect(ref)["LowerDirs"]]  # type: ignore[attr-defined]

    def layer_dirs(self) -> list[str]:
        return sorted(p.name for p in (self.images / "layers").iterdir() if p.is_dir())

    def blobs(self) -> set[str]:
        return {p.name for p in (self.images / "blobs/sha256").iterdir()}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "root")


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    directory = tmp_path / "layout"
    write_oci_layout(directory, "app:1", [BASE, TOP], APP)
    return directory


def test_a_docker_archive_loads_with_its_config_and_layers(
    store: Store, layout: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "app.tar"
    skopeo_copy(f"oci:{layout}:app:1", f"docker-archive:{archive}:example/app:1")
    assert store.ok("image", "load", "-i", os.fspath(archive)) == "Loaded image: docker.io/example/app:1\n"
    info = store.inspect("example/app:1")
    assert info["RepoTags"] == ["docker.io/example/app:1"]
    assert info["Config"] == {
        "User": "app", "ExposedPorts": {"80/tcp": {}}, "Env": ["PATH=/bin", "GREETING=hi"],
        "Entrypoint": ["/bin/echo"], "Cmd": ["hello"], "Volumes": {"/data": {}}, "WorkingDir": "/srv",
        "Labels": {"org.x": "1"}, "StopSignal": "SIGINT",
    }  # fmt: skip
    top, base = store.lowers("example/app:1")
    # what overlayfs reads: a whiteout is a 0:0 character device, an opaque directory an xattr
    motd = os.lstat(top / "etc/motd")
    assert stat.S_ISCHR(motd.st_mode) and motd.st_rdev == 0
    assert os.getxattr(top / "opt", "trusted.overlay.opaque") == b"y"
    assert (base / "opt/old").read_text() == "old\n" and not (top / "opt/old").exists()
    assert os.lstat(top / "srv/keep").st_ino == os.lstat(top / "srv/link").st_ino
    assert os.readlink(top / "srv/sym") == "keep"
    assert not (top / "srv/.wh.motd").exists() and not (top / "opt/.wh..wh..opq").exists()


def test_an_oci_archive_and_a_layout_load(store: Store, layout: Path, tmp_path: Path) -> None:
    archive = tmp_path / "app-oci.tar"
    skopeo_copy(f"oci:{layout}:app:1", f"oci-archive:{archive}:app:1")
    assert store.ok("load", "-i", os.fspath(archive)) == "Loaded image: localhost/app:1\n"
    assert store.ok("image", "load", "-i", os.fspath(layout)) == "Loaded image: localhost/app:1\n"
    assert len(store.ok("images", "-q").split()) == 1  # the same image twice: one image


def test_images_that_share_a_base_store_it_once(store: Store, tmp_path: Path) -> None:
    layout = tmp_path / "two"
    write_oci_layout(layout, "one", [BASE, [Entry("one", data=b"1")]], APP)
    write_oci_layout(layout, "two", [BASE, [Entry("two", data=b"2")]], APP)
    store.ok("load", "-i", os.fspath(layout))
    assert len(store.layer_dirs()) == 3
    one, two = store.lowers("localhost/one"), store.lowers("localhost/two")
    assert one[1] == two[1] and one[0] != two[0]
    du = subprocess.run(["du", "-sb", os.fspath(store.images / "layers")], capture_output=True, text=True)
    assert int(du.stdout.split()[0]) < 2 * os.path.getsize("/bin/busybox")


def test_rm_and_prune_remove_only_what_no_image_needs(store: Store, tmp_path: Path) -> None:
    layout = tmp_path / "two"
    write_oci_layout(layout, "one", [BASE, [Entry("one", data=b"1")]], APP)
    write_oci_layout(layout, "two", [BASE, [Entry("two", data=b"2")]], APP)
    store.ok("load", "-i", os.fspath(layout))
    shared = store.lowers("localhost/two")[1]
    store.ok("tag", "localhost/one", "one:extra")
    assert store.ok("rmi", "one:extra") == "Untagged: localhost/one:extra\n"
    out = store.ok("image", "rm", "one")
    assert out.startswith("Untagged: localhost/one:latest\nDeleted: sha256:")
    assert len(store.layer_dirs()) == 2 and shared.is_dir()
    two = store.inspect("two")
    store.ok("tag", "two", "three")
    store.ok("rmi", "two")  # three still names it
    assert store.ok("image", "prune") == "Total reclaimed space: 0B\n"
    assert store.ok("image", "prune", "-a").startswith(f"deleted: {two['Id']}\n")
    assert store.layer_dirs() == [] and store.blobs() == set()


def test_save_writes_an_archive_that_loads_back(store: Store, layout: Path, tmp_path: Path) -> None:
    store.ok("load", "-i", os.fspath(layout))
    saved = store.inspect("app:1")
    for fmt in ("docker-archive", "oci-archive"):
        out = tmp_path / f"{fmt}.tar"
        store.ok("save", "--format", fmt, "-o", os.fspath(out), "app:1")
        again = Store(tmp_path / f"root-{fmt}")
        assert again.ok("load", "-i", os.fspath(out)) == "Loaded image: localhost/app:1\n"
        loaded = again.inspect("app:1")
        assert (loaded["Config"], loaded["RootFS"]) == (saved["Config"], saved["RootFS"])
        if fmt == "oci-archive":  # a docker-archive's config comes back re-encoded as OCI's: a new ID
            assert loaded["Id"] == saved["Id"]
    docker_default = tmp_path / "default.tar"
    store.ok("save", "-o", os.fspath(docker_default), "app:1")
    assert (
        subprocess.run(["tar", "-tf", docker_default], capture_output=True, text=True).stdout.count(
            "manifest.json"
        )
        == 1
    )


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with start_registry(tmp_path_factory.mktemp("registry")) as r:
        yield r


def test_pull_from_a_registry_and_by_digest(store: Store, layout: Path, registry: Registry) -> None:
    skopeo_copy(f"oci:{layout}:app:1", f"docker://{registry.host}/team/app:1", "--dest-tls-verify=false")
    image_id = store.ok("pull", "-q", f"{registry.host}/team/app:1").strip()  # loopback: HTTP is fine
    info = store.inspect(f"{registry.host}/team/app:1")
    assert info["Id"] == f"sha256:{image_id}"
    digests = info["RepoDigests"]
    assert isinstance(digests, list) and len(digests) == 1
    digest = str(digests[0])
    assert digest.startswith(f"{registry.host}/team/app@sha256:")
    assert store.inspect(digest)["Id"] == info["Id"]
    store.ok("pull", "-q", "--tls-verify=false", digest)
    assert store.ok("images", "-q") == f"{image_id[:12]}\n"


def test_pull_failures_are_one_line(store: Store, registry: Registry) -> None:
    proc = store("pull", "--tls-verify=false", f"{registry.host}/nothing:here")
    assert proc.returncode == 125
    assert proc.stderr.startswith(f"Error: cannot pull {registry.host}/nothing:here: ")
    assert "manifest unknown" in proc.stderr and len(proc.stderr.splitlines()) == 1
    proc = store("pull", "--tls-verify=true", f"{registry.host}/nothing:here")
    assert (proc.returncode, proc.stderr.count("\n")) == (125, 1)
    assert "server gave HTTP response to HTTPS client" in proc.stderr
    proc = store("pull", "127.0.0.1:1/x")
    assert proc.returncode == 125 and "connection refused" in proc.stderr
    assert not any(p.name.startswith(".stage") for p in store.images.iterdir())


HOSTILE = {
    "dotdot": (layer_tar([Entry("../evil", data=b"x")]), 'member "../evil" leaves the layer'),
    "symlink": (layer_tar([Entry("a", kind="symlink", target="/etc"), Entry("a/conman-test", data=b"x")]),
                'member "a/conman-test" goes through the symlink "a"'),
    "hardlink": (layer_tar([Entry("x", kind="hardlink", target="../../etc/shadow")]),
                 'member "x" links to "../../etc/shadow" outside the layer'),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_are_refused_and_nothing_is_stored(store: Store, tmp_path: Path, case: str) -> None:
    tar, message = HOSTILE[case]
    layout = tmp_path / "bad"
    write_oci_layout(layout, "bad", [BASE, tar], APP)
    proc = store("load", "-i", os.fspath(layout))
    assert proc.returncode == 125, proc.stderr
    assert proc.stderr.startswith("Error: layer sha256:") and proc.stderr.endswith(f": {message}\n"), (
        proc.stderr
    )
    assert store.ok("images", "-q") == ""
    store.ok("image", "prune")  # nothing half-stored: no layer, no staging, and the blobs go
    assert store.layer_dirs() == [] and store.blobs() == set()
    assert not (tmp_path / "evil").exists()


def test_import_refuses_image_archives_and_load_refuses_rootfs_tarballs(
    store: Store, layout: Path, tmp_path: Path
) -> None:
    proc = store("image", "import", "x", os.fspath(layout))
    assert (proc.returncode, proc.stderr) == (
        125,
        f'Error: cannot import "{layout}": it is an image archive, not a root file system\nHint: load it with `conman image load -i {layout}`\n',
    )
    rootfs = tmp_path / "rootfs.tar"
    rootfs.write_bytes(layer_tar(busybox_layer()))
    proc = store("load", "-i", os.fspath(rootfs))
    assert (proc.returncode, proc.stderr) == (
        125,
        f'Error: cannot load "{rootfs}": not a docker-archive, oci-archive or OCI layout\nHint: a root file system tarball or directory is imported with `conman image import`\n',
    )
    assert store.ok("import", "web", os.fspath(rootfs))
    assert store.inspect("web")["RepoTags"] == ["localhost/web:latest"]


def test_missing_images_and_tools_are_one_line(store: Store, tmp_path: Path) -> None:
    proc = store("image", "inspect", "nothing")
    assert (proc.returncode, proc.stderr) == (
        125,
        "Error: no such image: nothing\nHint: pull it with `conman pull`, load it with `conman image load`, or see `conman images`\n",
    )
    proc = subprocess.run([sys.executable, "-m", "conman_systemd", "--root", os.fspath(store.root), "pull", "x"],
                          capture_output=True, text=True, env={**os.environ, "PATH": "/nonexistent"})  # fmt: skip
    assert (proc.returncode, proc.stderr) == (
        125,
        "Error: cannot pull x: skopeo is not installed\nHint: install it: apt-get install skopeo\n",
    )


def test_run_takes_the_image_config(store: Store, layout: Path) -> None:
    store.ok("load", "-i", os.fspath(layout))
    proc = store("run", "--dry-run", "app:1")
    assert proc.returncode == 0, proc.stderr
    units, _, config = proc.stdout.partition("# OCI config\n")
    assert "KillSignal=2" in units.splitlines()  # the image's StopSignal
    oci = json.loads(config)
    assert oci["process"]["args"] == ["/bin/echo", "hello"]
    assert oci["process"]["cwd"] == "/srv"
    assert (oci["process"]["user"]["uid"], oci["process"]["user"]["gid"]) == (1000, 1000)
    assert "GREETING=hi" in oci["process"]["env"]
    proc = store(
        "run", "--dry-run", "-u", "0", "--stop-signal", "TERM", "-w", "/", "--entrypoint", "", "app:1", "id"
    )
    units, _, config = proc.stdout.partition("# OCI config\n")
    oci = json.loads(config)
    assert "KillSignal=15" in units.splitlines()
    assert (oci["process"]["args"], oci["process"]["cwd"], oci["process"]["user"]["uid"]) == (["id"], "/", 0)


def test_pull_with_credentials(store: Store, layout: Path, tmp_path: Path) -> None:
    with start_registry(tmp_path / "private", users={"ann": "s3cret"}) as private:
        ref = f"{private.host}/team/app:1"
        skopeo_copy(
            f"oci:{layout}:app:1", f"docker://{ref}", "--dest-tls-verify=false", "--dest-creds", "ann:s3cret"
        )
        proc = store("pull", ref)
        assert (proc.returncode, proc.stderr.count("\n")) == (125, 1)
        assert (
            proc.stderr.startswith(f"Error: cannot pull {ref}: ")
            and "authentication required" in proc.stderr
        )
        store.ok("pull", "-q", "--creds", "ann:s3cret", ref)
        store.ok("rmi", ref)
        auth = tmp_path / "auth.json"
        token = base64.b64encode(b"ann:s3cret").decode()
        auth.write_text(json.dumps({"auths": {private.host: {"auth": token}}}))
        store.ok("pull", "-q", "--authfile", os.fspath(auth), ref)


def test_import_from_stdin_and_a_file_that_is_no_tarball(store: Store, tmp_path: Path) -> None:
    rootfs = layer_tar(busybox_layer())
    assert len(store("import", "web", "-", stdin=rootfs).stdout.strip()) == 64
    assert store.inspect("web")["Source"] == "standard input"
    proc = store("image", "import", "foo", "/etc/hostname")
    assert proc.returncode == 125
    assert proc.stderr.startswith("Error: cannot import /etc/hostname: layer sha256:")
    assert proc.stderr.endswith(": not a valid tar stream (truncated header)\n")
    assert len(store.blobs()) == 3 and len(store.layer_dirs()) == 1  # web's alone


def test_gzipped_docker_archives_zstd_layers_and_stdin_load(store: Store, tmp_path: Path) -> None:
    layout = tmp_path / "zstd"
    write_oci_layout(layout, "z:1", [BASE, TOP], APP, compression="zstd")
    assert store.ok("load", "-i", os.fspath(layout)) == "Loaded image: localhost/z:1\n"
    archive = tmp_path / "app.tar"
    skopeo_copy(f"oci:{layout}:z:1", f"oci:{tmp_path / 'gz'}:z:1", "--dest-compress-format", "gzip")
    skopeo_copy(f"oci:{tmp_path / 'gz'}:z:1", f"docker-archive:{archive}:gz:1")
    gzipped = tmp_path / "app.tar.gz"
    gzipped.write_bytes(gzip.compress(archive.read_bytes()))  # as `docker save | gzip` makes it
    assert store.ok("load", "-i", os.fspath(gzipped)) == "Loaded image: docker.io/library/gz:1\n"
    assert store("load", stdin=archive.read_bytes()).stdout == "Loaded image: docker.io/library/gz:1\n"
    assert store.lowers("gz:1")[1] == store.lowers("z:1")[1]  # the same base, once


def test_an_image_s_account_files_are_read_inside_it_and_bounded(store: Store, tmp_path: Path) -> None:
    hostile = [
        Entry("bin/busybox", data=b"x", mode=0o755),
        Entry("etc", kind="dir"),
        Entry("etc/passwd", kind="symlink", target="/etc/passwd"),  # the host's, if followed
        Entry("etc/group", kind="symlink", target="/dev/zero"),
    ]
    huge = [Entry("etc/passwd", data=b"#" * (2 << 20) + b"\nfar:x:7:7::/:/bin/sh\n")]
    layout = tmp_path / "hostile"
    write_oci_layout(layout, "links", [hostile], APP)
    write_oci_layout(layout, "huge", [hostile, huge], APP)
    store.ok("load", "-i", os.fspath(layout))
    for ref, args, message in [
        ("links", ["-u", "root"], 'invalid user "root": no user root in the image\'s /etc/passwd'),
        ("links", ["-u", "0:root"], 'invalid user "0:root": no group root in the image\'s /etc/group'),
        ("huge", ["-u", "far"], 'invalid user "far": no user far in the image\'s /etc/passwd'),
    ]:
        proc = store("run", "--dry-run", *args, ref, "true")
        assert (proc.returncode, proc.stderr) == (125, f"Error: {message}\n")


def test_images_and_image_inspect_take_go_templates(store: Store, layout: Path) -> None:
    store.ok("load", "-i", os.fspath(layout))
    image_id = store.inspect("app:1")["Id"]
    assert store.ok("images", "--format", "{{.Repository}}:{{.Tag}}") == "localhost/app:1\n"
    table = store.ok("images", "--format", "table {{.Tag}}\\t{{.ID}}").splitlines()
    assert [line.split() for line in table] == [["TAG", "IMAGE", "ID"], ["1", str(image_id)[7:19]]]
    assert (
        store.ok("image", "inspect", "-f", "{{.Config.User}} {{json .Config.Cmd}}", "app:1")
        == 'app ["hello"]\n'
    )
    proc = store("images", "--format", "{{.Nope}}")
    assert (proc.returncode, proc.stderr) == (125, 'Error: invalid format "{{.Nope}}": no field .Nope\n')

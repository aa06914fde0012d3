"""Build OCI images by hand, with exact layer contents, for the image tests.

Layers are tar archives written member by member from `Entry` values (or handed in as raw tar
bytes, so a test can craft a hostile archive); `write_oci_layout` wraps them into an OCI image
layout that skopeo (and so conman) reads, and `skopeo_copy` turns a layout into a docker-archive,
an oci-archive or a push to a registry. Everything is deterministic: mtimes are 0, gzip headers
carry no time or name, and JSON is written in a fixed key order.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import posixpath
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Kind = Literal["file", "dir", "symlink", "hardlink", "whiteout", "opaque", "fifo", "chardev"]
Compression = Literal["none", "gzip", "zstd"]

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
REF_ANNOTATION = "org.opencontainers.image.ref.name"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_MEDIA_TYPES: dict[Compression, str] = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The mode an Entry gets when none is given, per kind.
DEFAULT_MODES: dict[Kind, int] = {
    "file": 0o644,
    "dir": 0o755,
    "symlink": 0o777,
    "hardlink": 0o644,
    "whiteout": 0o644,
    "opaque": 0o644,
    "fifo": 0o644,
    "chardev": 0o666,
}

_TAR_TYPES: dict[Kind, bytes] = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "whiteout": tarfile.REGTYPE,
    "opaque": tarfile.REGTYPE,
    "fifo": tarfile.FIFOTYPE,
    "chardev": tarfile.CHRTYPE,
}


@dataclass(frozen=True)
class Entry:
    """One tar member. `name` is written as given (no normalisation), so "../x" or "/abs" can
    be tested too. `mode` left at -1 takes the kind's default (DEFAULT_MODES: file 0o644,
    dir 0o755, symlink 0o777, chardev 0o666, ...). `data` is a file's content; `target` a
    symlink's or hardlink's target; `devmajor`/`devminor` a chardev's numbers; `pax` extra PAX
    records such as {"SCHILY.xattr.user.x": "1"}."""

    name: str
    kind: Kind = "file"
    data: bytes = b""
    target: str = ""
    mode: int = -1
    uid: int = 0
    gid: int = 0
    pax: dict[str, str] = field(default_factory=dict)
    devmajor: int = 0
    devminor: int = 0
    mtime: int = 0

    def __post_init__(self) -> None:
        if self.kind not in _TAR_TYPES:
            raise ValueError(f"unknown Entry kind {self.kind!r}")
        if self.mode == -1:
            object.__setattr__(self, "mode", DEFAULT_MODES[self.kind])

    def member_name(self) -> str:
        """The name in the tar: whiteouts and opaque markers get their .wh. names."""
        if self.kind == "whiteout":
            parent, base = posixpath.split(self.name.rstrip("/"))
            return posixpath.join(parent, WHITEOUT_PREFIX + base)
        if self.kind == "opaque":
            parent = self.name.rstrip("/")
            return posixpath.join(parent, OPAQUE_MARKER) if parent not in ("", ".") else OPAQUE_MARKER
        return self.name


def layer_tar(entries: Sequence[Entry]) -> bytes:
    """An uncompressed PAX tar of `entries`, in the order given."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.member_name())
            info.type = _TAR_TYPES[entry.kind]
            info.mode = entry.mode
            info.uid, info.gid = entry.uid, entry.gid
            info.uname = info.gname = ""
            info.mtime = entry.mtime
            info.pax_headers = dict(entry.pax)
            if entry.kind in ("symlink", "hardlink"):
                info.linkname = entry.target
            if entry.kind == "chardev":
                info.devmajor, info.devminor = entry.devmajor, entry.devminor
            if entry.kind == "file":
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
            else:
                tar.addfile(info)
    return buf.getvalue()


BUSYBOX_APPLETS = (
    "sh", "echo", "cat", "ls", "id", "pwd", "env", "sleep", "true", "false", "test", "stat", "readlink", "du",
)  # fmt: skip
PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
GROUP = "root:x:0:\napp:x:1000:\n"


@functools.cache
def _host_busybox() -> bytes:
    return Path("/bin/busybox").read_bytes()


def busybox_layer() -> list[Entry]:
    """A minimal root filesystem: the host's static busybox, a few applet symlinks, the usual
    top-level directories and an /etc/passwd and /etc/group with root and app (1000:1000)."""
    entries = [
        Entry("bin", "dir"),
        Entry("bin/busybox", data=_host_busybox(), mode=0o755),
        *(Entry(f"bin/{applet}", "symlink", target="busybox") for applet in BUSYBOX_APPLETS),
        Entry("etc", "dir"),
        Entry("etc/passwd", data=PASSWD.encode()),
        Entry("etc/group", data=GROUP.encode()),
        Entry("tmp", "dir", mode=0o1777),
        Entry("proc", "dir"),
        Entry("sys", "dir"),
        Entry("dev", "dir"),
        Entry("root", "dir", mode=0o700),
        Entry("home", "dir"),
        Entry("home/app", "dir", uid=1000, gid=1000),
    ]
    return entries


@dataclass(frozen=True)
class ImageConfig:
    """The runtime part of an image config. Entrypoint/Cmd of None are left out (an explicit []
    is written as []); the other fields are left out when empty."""

    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    env: list[str] = field(default_factory=lambda: [DEFAULT_PATH])
    workdir: str = ""
    user: str = ""
    stop_signal: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    exposed_ports: list[str] = field(default_factory=list)  # e.g. ["80/tcp"]
    volumes: list[str] = field(default_factory=list)  # e.g. ["/data"]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.entrypoint is not None:
            out["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            out["Cmd"] = list(self.cmd)
        if self.env:
            out["Env"] = list(self.env)
        if self.workdir:
            out["WorkingDir"] = self.workdir
        if self.user:
            out["User"] = self.user
        if self.stop_signal:
            out["StopSignal"] = self.stop_signal
        if self.labels:
            out["Labels"] = dict(self.labels)
        if self.exposed_ports:
            out["ExposedPorts"] = {port: {} for port in self.exposed_ports}
        if self.volumes:
            out["Volumes"] = {volume: {} for volume in self.volumes}
        return out


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def compress(tar: bytes, compression: Compression) -> bytes:
    if compression == "none":
        return tar
    if compression == "gzip":
        return gzip.compress(tar, mtime=0)
    try:
        proc = subprocess.run(["zstd", "-q", "-c"], input=tar, capture_output=True, check=False)
    except FileNotFoundError:
        raise AssertionError("zstd is not installed (apt-get install zstd)") from None
    assert proc.returncode == 0, f"zstd failed: {proc.stderr.decode(errors='replace')}"
    return proc.stdout


def _json_bytes(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _write_blob(directory: Path, data: bytes) -> dict[str, Any]:
    """Stores `data` under blobs/sha256 and returns its descriptor's digest and size."""
    digest = sha256_digest(data)
    path = directory / "blobs" / "sha256" / digest.removeprefix("sha256:")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {"digest": digest, "size": len(data)}


def write_oci_layout(
    directory: Path,
    ref: str,
    layers: Sequence[bytes | Sequence[Entry]],
    config: ImageConfig,
    *,
    compression: Compression = "gzip",
    created: str = "2024-01-01T00:00:00Z",
) -> str:
    """Writes (or adds to) an OCI image layout at `directory` holding the image as `ref`, and
    returns its manifest digest. A layer given as bytes is taken as an uncompressed tar as is.
    An existing index.json entry with the same ref is replaced; other refs are kept."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))

    layer_descriptors: list[dict[str, Any]] = []
    diff_ids: list[str] = []
    for layer in layers:
        tar = layer if isinstance(layer, bytes) else layer_tar(layer)
        diff_ids.append(sha256_digest(tar))
        layer_descriptors.append(
            {
                "mediaType": LAYER_MEDIA_TYPES[compression],
                **_write_blob(directory, compress(tar, compression)),
            }
        )

    image_config = {
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": config.to_json(),
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": created, "created_by": f"imagekit layer {n}"} for n in range(1, len(layers) + 1)
        ],
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, **_write_blob(directory, _json_bytes(image_config))},
        "layers": layer_descriptors,
    }
    manifest_descriptor = {"mediaType": MANIFEST_MEDIA_TYPE, **_write_blob(directory, _json_bytes(manifest))}

    index_path = directory / "index.json"
    index: dict[str, Any] = {"schemaVersion": 2, "mediaType": INDEX_MEDIA_TYPE, "manifests": []}
    if index_path.exists():
        index = json.loads(index_path.read_text())
    index["manifests"] = [
        m for m in index.get("manifests", []) if m.get("annotations", {}).get(REF_ANNOTATION) != ref
    ] + [{**manifest_descriptor, "annotations": {REF_ANNOTATION: ref}}]
    index_path.write_text(json.dumps(index, indent=2) + "\n")
    return str(manifest_descriptor["digest"])


def skopeo(*args: str) -> str:
    """Runs `skopeo ARGS` and returns its stdout; AssertionError with its stderr on failure."""
    try:
        proc = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120, check=False)
    except FileNotFoundError:
        raise AssertionError("skopeo is not installed (apt-get install skopeo)") from None
    assert proc.returncode == 0, f"skopeo {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}"
    return proc.stdout


def skopeo_copy(src: str, dest: str, *extra: str) -> None:
    """`skopeo copy --quiet EXTRA SRC DEST`, e.g. a layout to docker-archive:/x.tar:name:tag, to
    oci-archive:/x.tar:name:tag or (with --dest-tls-verify=false) to docker://HOST/name:tag."""
    skopeo("copy", "--quiet", *extra, src, dest)


def two_layers() -> tuple[list[Entry], list[Entry]]:
    """A busybox base with /etc/motd and /opt/old, and a layer over it that deletes the motd
    (whiteout), hides /opt's old content (opaque), and adds /srv/keep with a hard link and a
    symlink to it: what the store must unpack as overlayfs reads it."""
    base = [
        *busybox_layer(),
        Entry("etc/motd", data=b"motd\n"),
        Entry("opt", kind="dir"),
        Entry("opt/old", data=b"old\n"),
    ]
    top = [
        Entry("srv", kind="dir"),
        Entry("srv/keep", data=b"kept\n"),
        Entry("srv/link", kind="hardlink", target="srv/keep"),
        Entry("srv/sym", kind="symlink", target="keep"),
        Entry("etc/motd", kind="whiteout"),
        Entry("opt", kind="opaque"),
        Entry("opt/new", data=b"new\n"),
    ]
    return base, top

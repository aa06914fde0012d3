"""What conman keeps of an image: one record per image, made from its OCI config.

An image's ID is the digest of its config, as docker and podman have it. The record holds what
`run` needs without opening a blob (command, environment, user, layers) and what `image inspect`
shows; the manifest and config stay in the blob store as they came.
"""

from __future__ import annotations

from conman_systemd.frozen import Frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"


class Image(Frozen):
    id: str  # the config's sha256, hex
    names: list[str]  # REGISTRY/PATH:TAG, fully qualified
    created: float
    size: int  # bytes of its unpacked layers
    cmd: list[str] = ["sh"]  # copied per record, never shared
    entrypoint: list[str] = []
    env: list[str] = [DEFAULT_PATH_ENV]
    workdir: str = "/"
    user: str = ""
    stop_signal: str = ""
    healthcheck: dict[str, Any] = {}  # the config's Healthcheck, as it came
    labels: dict[str, str] = {}
    exposed_ports: list[str] = []
    volumes: list[str] = []
    layers: list[str] = []  # diff IDs, base first; none: a directory image of an older conman
    manifest: str = ""  # the manifest's digest
    digests: list[str] = []  # REPOSITORY@sha256:... where it was pulled from
    architecture: str = ""
    os: str = ""
    history: list[dict[str, Any]] = []
    source: str = ""  # where it came from: a registry reference, an archive, a directory
    rootfs: str = ""  # the overlay's lower directories, top layer first (not stored)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.as_dict().items() if k != "rootfs"}

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def display_name(self) -> str:
        return self.names[0] if self.names else self.short_id


FIELDS = frozenset(Image(id="", names=[], created=0, size=0).as_dict()) - {"rootfs"}


def parse_time(text: str) -> float:
    """An RFC 3339 time as OCI writes it ("2024-01-01T00:00:00.123456789Z"); 0 when unreadable."""
    from datetime import datetime

    main, dot, rest = text.partition(".")
    if dot:  # Python takes at most 6 fraction digits
        digits = "".join(c for c in rest if c.isdigit())
        main = f"{main}.{digits[:6]}{rest[len(digits) :]}"
    try:
        return datetime.fromisoformat(main.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def _strings(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def from_config(image_id: str, config: dict[str, Any], manifest: str, source: str) -> Image:
    """The record of an image whose OCI config is `config` (docker's image config reads alike)."""
    c = config.get("config") or {}
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    return Image(
        id=image_id,
        names=[],
        created=parse_time(str(config.get("created") or "")),
        size=0,
        cmd=_strings(c.get("Cmd")),
        entrypoint=_strings(c.get("Entrypoint")),
        env=_strings(c.get("Env")) or [DEFAULT_PATH_ENV],
        workdir=str(c.get("WorkingDir") or "/"),
        user=str(c.get("User") or ""),
        stop_signal=str(c.get("StopSignal") or ""),
        healthcheck=c["Healthcheck"] if isinstance(c.get("Healthcheck"), dict) else {},
        labels={str(k): str(v) for k, v in (c.get("Labels") or {}).items()},
        exposed_ports=sorted(c.get("ExposedPorts") or {}),
        volumes=sorted(c.get("Volumes") or {}),
        layers=[str(d) for d in diff_ids],
        manifest=manifest,
        architecture=str(config.get("architecture") or ""),
        os=str(config.get("os") or ""),
        history=[h for h in config.get("history") or [] if isinstance(h, dict)],
        source=source,
    )


def import_config(diff_id: str, created: str, source: str) -> dict[str, Any]:
    """The OCI config of an image imported from a root file system: one layer, `sh` to run."""
    return {
        "created": created,
        "architecture": _architecture(),
        "os": "linux",
        "config": {"Env": [DEFAULT_PATH_ENV], "Cmd": ["sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": f"conman image import {source}"}],
    }


def manifest_for(config: tuple[str, int], layer: tuple[str, int], compression: str) -> dict[str, Any]:
    """An OCI manifest of one config and one layer, each (digest, size); compression: "", "gzip"
    or "zstd"."""
    layer_type = f"{LAYER_TYPE}+{compression}" if compression else LAYER_TYPE
    return {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": config[0], "size": config[1]},
        "layers": [{"mediaType": layer_type, "digest": layer[0], "size": layer[1]}],
    }


def compression_of(path: str) -> str:
    """ "gzip", "zstd" or "" (a plain tar), from the file's first bytes."""
    with open(path, "rb") as f:
        magic = f.read(4)
    return "gzip" if magic[:2] == b"\x1f\x8b" else "zstd" if magic == b"\x28\xb5\x2f\xfd" else ""


def _architecture() -> str:
    import os

    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine, machine)

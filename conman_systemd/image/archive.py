"""What an image file is, and loading it: docker-archive (`docker save`), oci-archive, OCI layout.

The kind is read from the file, not its name: a docker-archive holds manifest.json, an OCI
archive or layout holds oci-layout and index.json. A root file system tarball is neither: that is
`image import`'s, and each command says so when given the other's file.
"""

from __future__ import annotations

import os

from conman_systemd import fastjson
from conman_systemd.errors import ConmanError, quoted
from conman_systemd.image import reference
from conman_systemd.image.store import ImageStore
from conman_systemd.image.transport import copy_in

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conman_systemd.image.record import Image

DOCKER_ARCHIVE, OCI_ARCHIVE, OCI_LAYOUT = "docker-archive", "oci-archive", "oci"
REF_NAME = "org.opencontainers.image.ref.name"


def _tar_json(path: str, wanted: tuple[str, ...]) -> tuple[str, dict[str, object] | list[object]] | None:
    """The first of `wanted` found at the top of the tar at path, parsed; None when the file is
    no tar or has none of them (a rootfs tarball). Member data is skipped, not read."""
    import tarfile

    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if name in wanted and member.isfile():
                    data = tar.extractfile(member)
                    return name, fastjson.loads(data.read().decode()) if data else {}
    except (tarfile.TarError, OSError, EOFError, ValueError):
        return None
    return None


def kind_of(path: str) -> tuple[str, dict[str, object] | list[object]] | None:
    """(kind, its index or manifest list) of an image file, or None for anything else."""
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "oci-layout")):
            return None
        try:
            return OCI_LAYOUT, fastjson.loads(open(os.path.join(path, "index.json")).read())
        except (OSError, ValueError):
            return None
    found = _tar_json(path, ("manifest.json", "index.json"))
    if found is None:
        return None
    return (DOCKER_ARCHIVE if found[0] == "manifest.json" else OCI_ARCHIVE), found[1]


def _sources(path: str, kind: str, listing: object) -> list[tuple[str, list[str]]]:
    """skopeo's source for each image in the file, with the names it carries."""
    if kind == DOCKER_ARCHIVE:
        entries = listing if isinstance(listing, list) else []
        return [
            (f"{DOCKER_ARCHIVE}:{path}" + (f":@{i}" if len(entries) > 1 else ""), _names(e, "RepoTags"))
            for i, e in enumerate(entries)
            if isinstance(e, dict)
        ]
    manifests = listing.get("manifests") if isinstance(listing, dict) else None
    entries = [m for m in manifests or [] if isinstance(m, dict)]
    sources = []
    for entry in entries:
        annotation = str((entry.get("annotations") or {}).get(REF_NAME) or "")
        if len(entries) > 1 and not annotation:
            continue  # skopeo cannot name it
        suffix = f":{annotation}" if len(entries) > 1 else ""
        sources.append((f"{kind}:{path}{suffix}", _local_name(annotation)))
    return sources


def _local_name(annotation: str) -> list[str]:
    """The name an OCI index gives an image, made local (podman's way); none when it is no
    image name at all."""
    try:
        return [reference.local(annotation).name] if annotation else []
    except ConmanError:
        return []


def _names(entry: dict[str, object], key: str) -> list[str]:
    tags = entry.get(key)
    return [reference.parse(str(t)).name for t in tags] if isinstance(tags, list) else []


def load(store: ImageStore, path: str, progress: int | None) -> list[Image]:
    """Load every image of the file at path; the images, named as the file names them."""
    found = kind_of(path)
    if found is None:
        if not os.path.exists(path):
            raise ConmanError(f"cannot load {path}: no such file or directory")
        raise ConmanError(
            f"cannot load {quoted(path)}: not a docker-archive, oci-archive or OCI layout",
            hint="a root file system tarball or directory is imported with `conman image import`",
        )
    kind, listing = found
    with store.locked():
        plain = _gunzipped(store, path) if kind == DOCKER_ARCHIVE else None
        try:
            sources = _sources(plain or os.path.abspath(path), kind, listing)
            if not sources:
                raise ConmanError(f"cannot load {quoted(path)}: the {kind} holds no image")
            return [
                copy_in(store, source, f"cannot load {path}", names=names, progress=progress)
                for source, names in sources
            ]
        finally:
            if plain is not None:
                os.unlink(plain)


def _gunzipped(store: ImageStore, path: str) -> str | None:
    """A plain copy of a gzip-compressed docker-archive (`docker save | gzip`), which skopeo
    1.9 cannot read; None for any other file."""
    import gzip
    import shutil

    from conman_systemd.image.record import compression_of

    if compression_of(path) != "gzip":
        return None
    plain = store.scratch(".tar")
    with gzip.open(path, "rb") as compressed, open(plain, "wb") as out:
        shutil.copyfileobj(compressed, out, 1 << 20)
    return plain

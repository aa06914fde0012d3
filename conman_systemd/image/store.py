"""The image store: one record per image and its names, over the content (content.py: blobs by
digest, each layer unpacked once).

Layout under <root>/images, besides blobs/ and layers/:
  <id>/image.json       an image's record (its ID is its config's digest)
  refs/<name>           REGISTRY/PATH:TAG, quoted, a symlink to the ID
Containers never write a layer: each gets an overlayfs upper directory of its own. Changes
(pull, load, import, tag, rm, prune) hold the store's lock; `run` only reads.
"""

from __future__ import annotations

import os

from conman_systemd import fastjson
from conman_systemd.container.paths import Paths, read_json, write_atomic
from conman_systemd.errors import ConmanError
from conman_systemd.image import reference
from conman_systemd.image.content import Content, hex_of, remove_tree
from conman_systemd.image.record import FIELDS, Image, from_config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager
    from typing import Any


def _quote(ref: str) -> str:
    """A reference as a file name: urllib.parse.quote(ref, safe="") without importing urllib."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-._~") else f"%{ord(c):02X}" for c in ref)


class ImageStore(Content):
    def __init__(self, paths: Paths) -> None:
        super().__init__(paths)
        self.refs = os.path.join(self.top, "refs")

    # --- reading -------------------------------------------------------------------------------

    def _load(self, image_id: str) -> Image | None:
        data = read_json(os.path.join(self.top, image_id, "image.json"))
        if data is None:
            return None
        known = {k: v for k, v in data.items() if k in FIELDS}
        layers = known.get("layers") or []
        if layers:
            rootfs = ":".join(self.layer_dir(d) for d in reversed(layers))
        else:  # an image an older conman imported as one directory
            rootfs = os.path.join(self.top, image_id, "rootfs")
        return Image(**known, rootfs=rootfs)

    def all(self) -> list[Image]:
        try:
            ids = [e for e in os.listdir(self.top) if len(e) == 64]
        except FileNotFoundError:
            return []
        images = [i for i in map(self._load, ids) if i is not None]
        return sorted(images, key=lambda i: i.created, reverse=True)

    def find(self, ref: str) -> tuple[Image, str] | None:
        """The image ref names (NAME[:TAG], NAME@DIGEST, full ID or unique ID prefix) and the name
        it was found by (its ID when found by ID)."""
        try:
            names = reference.candidates(ref)
        except ConmanError:
            if not reference.is_id_prefix(ref):
                raise
            names = []
        for name in names:
            found = self._by_name(name)
            if found is not None:
                return found, name.source if name.digest else name.name
        if names and not names[0].digest and (legacy := self._by_legacy_name(ref)) is not None:
            return legacy
        if reference.is_id_prefix(ref):
            prefix = ref.removeprefix("sha256:")
            matches = [i for i in self.all() if i.id.startswith(prefix)]
            if len(matches) == 1:
                return matches[0], matches[0].id
        return None

    def _by_name(self, name: reference.Reference) -> Image | None:
        if name.digest:
            pinned = f"{name.repository}@{name.digest}"
            return next((i for i in self.all() if pinned in i.digests), None)
        try:
            return self._load(os.readlink(os.path.join(self.refs, _quote(name.name))))
        except OSError:
            return None

    def lookup(self, ref: str) -> tuple[Image, str]:
        """As find(), but a missing image is an error."""
        found = self.find(ref)
        if found is None:
            raise ConmanError(
                f"no such image: {ref}",
                hint="pull it with `conman pull`, load it with `conman image load`, or see `conman images`",
            )
        return found

    def _by_legacy_name(self, ref: str) -> tuple[Image, str] | None:
        """An image an older conman named NAME:TAG, without a registry."""
        name = ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"
        try:
            found = self._load(os.readlink(os.path.join(self.refs, _quote(name))))
        except OSError:
            return None
        return (found, name) if found is not None else None

    def get(self, ref: str) -> Image:
        return self.lookup(ref)[0]

    # --- changing (under the lock) ----------------------------------------------------------------

    def locked(self) -> AbstractContextManager[None]:
        return _lock(os.path.join(self.top, ".lock"), self.top)

    def add(
        self, manifest_digest: str, names: list[str], source: str, digests: list[str] | None = None
    ) -> Image:
        """Record the image whose manifest is in the blob store: verify and unpack its layers
        (each once), then name it."""
        manifest = self.blob_json(manifest_digest)
        config_digest = str((manifest.get("config") or {}).get("digest") or "")
        config = self.blob_json(config_digest)
        image = from_config(hex_of(config_digest), config, manifest_digest, source)
        descriptors = manifest.get("layers") or []
        if len(descriptors) != len(image.layers):
            raise ConmanError(f"image {image.short_id}: its manifest and config list different layers")
        pairs = zip(descriptors, image.layers, strict=True)
        size = sum(self.unpack(str(d.get("digest")), diff)[1] for d, diff in pairs)
        previous = self._load(image.id)
        record = image.replace(
            size=size,
            names=list(previous.names) if previous else [],
            digests=sorted({*(previous.digests if previous else []), *(digests or [])}),
        )
        os.makedirs(os.path.join(self.top, image.id), mode=0o700, exist_ok=True)
        write_atomic(os.path.join(self.top, image.id, "image.json"), fastjson.dumps(record.to_dict()))
        for name in names:
            self.tag(record.id, name)
        return self.get(record.id)

    def tag(self, image_id: str, name: str) -> None:
        """Point name at image_id; the image that had it keeps its other names (or none)."""
        os.makedirs(self.refs, mode=0o700, exist_ok=True)
        link = os.path.join(self.refs, _quote(name))
        old = os.readlink(link) if os.path.islink(link) else None
        tmp = f"{link}.tmp{os.getpid()}"
        os.symlink(image_id, tmp)
        os.replace(tmp, link)
        if old and old != image_id:
            self._rename(old, lambda names: [n for n in names if n != name])
        self._rename(image_id, lambda names: [*dict.fromkeys([*names, name])])

    def untag(self, image: Image, name: str) -> None:
        try:
            os.unlink(os.path.join(self.refs, _quote(name)))
        except FileNotFoundError:
            pass
        self._rename(image.id, lambda names: [n for n in names if n != name])

    def _rename(self, image_id: str, change: Any) -> None:
        path = os.path.join(self.top, image_id, "image.json")
        data = read_json(path)
        if data is not None:
            data["names"] = change(data["names"])
            write_atomic(path, fastjson.dumps(data))

    def delete(self, image: Image) -> None:
        """Forget image (its names first); its blobs and layers go with the next collect()."""
        for name in image.names:
            self.untag(image, name)
        remove_tree(os.path.join(self.top, image.id))

    def collect(self) -> int:
        """Remove blobs and layers no image needs, and what interrupted changes left; the bytes freed."""
        from conman_systemd.image.gc import collect

        return collect(self)


def _lock(path: str, top: str) -> AbstractContextManager[None]:
    from contextlib import contextmanager

    @contextmanager
    def hold() -> Iterator[None]:
        import fcntl

        os.makedirs(top, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    return hold()

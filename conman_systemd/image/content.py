"""The store's content: blobs by digest and layers unpacked once, shared by every image.

blobs/sha256/<hex>    manifests, configs and layers as they came (skopeo's shared blob dir)
layers/<hex24>/       one layer unpacked: an overlayfs lower directory for every image that has
                      it, named by the first 96 bits of its diff ID (the overlay's mount options
                      must hold a whole image's layers in one 4 KiB page)
layers/<hex24>.json   its diff ID and size
"""

from __future__ import annotations

import os

from conman_systemd import fastjson
from conman_systemd.container.paths import Paths, read_json, write_atomic
from conman_systemd.errors import ConmanError, quoted
from conman_systemd.image import reference

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LAYER_NAME = 24  # hex digits of a diff ID that name its directory
STAGING = ".stage-"  # what Content.scratch() names; collect() removes what is left of it


def hex_of(digest: str) -> str:
    algorithm, _, hexpart = digest.partition(":")
    if algorithm != "sha256" or len(hexpart) != 64 or not reference.is_id_prefix(hexpart):
        raise ConmanError(f"unsupported digest {quoted(digest)}: conman reads sha256 digests")
    return hexpart


class Content:
    def __init__(self, paths: Paths) -> None:
        self.top = paths.images
        self.blobs = os.path.join(self.top, "blobs")
        self.layers = os.path.join(self.top, "layers")

    def scratch(self, suffix: str = "") -> str:
        """A fresh path for a command's staging (a layout, an archive, stdin) in the store: on
        its file system, and removed by the next collect() if the command is interrupted."""
        os.makedirs(self.top, mode=0o700, exist_ok=True)
        return os.path.join(self.top, f"{STAGING}{os.urandom(8).hex()}{suffix}")

    def blob(self, digest: str) -> str:
        return os.path.join(self.blobs, "sha256", hex_of(digest))

    def blob_json(self, digest: str) -> dict[str, Any]:
        data = read_json(self.blob(digest))
        if data is None:
            raise ConmanError(
                f"blob {digest[:19]} is missing or not JSON", hint="pull or load the image again"
            )
        return data

    def layer_dir(self, diff_id: str) -> str:
        return os.path.join(self.layers, hex_of(diff_id)[:LAYER_NAME])

    def unpack(self, blob_digest: str, diff_id: str | None) -> tuple[str, int]:
        """Unpack a layer blob unless the store has its layer (diff_id, when known, must match
        what the blob holds); the layer's (diff ID, size in bytes)."""
        from conman_systemd.image.layer import unpack

        if diff_id is not None and (size := self.layer_size(diff_id)) is not None:
            return diff_id, size
        os.makedirs(self.layers, mode=0o700, exist_ok=True)
        fresh = os.path.join(self.layers, f".new-{os.urandom(8).hex()}")
        try:
            unpacked = unpack(self.blob(blob_digest), fresh, digest=blob_digest)
            if diff_id is not None and unpacked.diff_id != diff_id:
                raise ConmanError(
                    f"layer {blob_digest[:19]} does not match the image's diff ID {diff_id[:19]}"
                )
            if (size := self.layer_size(unpacked.diff_id)) is not None:
                return unpacked.diff_id, size
            target = self.layer_dir(unpacked.diff_id)
            remove_tree(target)  # a directory without its record: from an interrupted run
            write_atomic(
                f"{target}.json", fastjson.dumps({"diff_id": unpacked.diff_id, "size": unpacked.size})
            )
            os.rename(fresh, target)
            return unpacked.diff_id, unpacked.size
        finally:
            remove_tree(fresh)

    def layer_size(self, diff_id: str) -> int | None:
        """The size of the layer when the store has it, else None."""
        target = self.layer_dir(diff_id)
        info = read_json(f"{target}.json")
        if info is not None and info.get("diff_id") == diff_id and os.path.isdir(target):
            return int(info.get("size", 0))
        return None

    def put_blob(self, data: bytes) -> tuple[str, int]:
        """Store data as a blob; its (digest, size)."""
        import hashlib

        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        path = self.blob(digest)
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            tmp = f"{path}.tmp{os.getpid()}"
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        return digest, len(data)

    def adopt_blob(self, path: str, keep_source: bool) -> tuple[str, int]:
        """Store the file at path as a blob (copied when keep_source, else moved); (digest, size)."""
        import hashlib
        import shutil

        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
        digest = f"sha256:{h.hexdigest()}"
        target = self.blob(digest)
        os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
        if not os.path.exists(target):
            tmp = f"{target}.tmp{os.getpid()}"
            if keep_source:
                shutil.copyfile(path, tmp)
            else:
                os.rename(path, tmp)
            os.replace(tmp, target)
        return digest, os.path.getsize(target)


def remove_tree(path: str) -> None:
    """rm -rf path, whatever it holds: a layer's whiteout device nodes, entries of its read-only
    directories (for a caller without CAP_DAC_OVERRIDE too). A missing path is no error."""
    import shutil

    def retry(func: Any, failed: str, _exc: Any) -> None:
        os.chmod(os.path.dirname(failed), 0o700)
        if func in (os.open, os.scandir):  # a directory it could not enter
            os.chmod(failed, 0o700)
            shutil.rmtree(failed, onerror=retry)
        else:
            func(failed)

    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, onerror=retry)
    elif os.path.lexists(path):
        os.unlink(path)


def copy_stdin(path: str) -> None:
    """Standard input (an archive piped in) into the file at path."""
    import shutil
    import sys

    with open(path, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)

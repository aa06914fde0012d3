"""The store's garbage collection: what no image needs goes, run under the store's lock.

A blob stays while an image's record names it (its manifest, its config, a layer of its
manifest); a layer directory while an image lists its diff ID. What an interrupted pull, load or
import left (staging layouts, half-unpacked layers) goes too: under the lock nothing is under way.
"""

from __future__ import annotations

import os

from conman_systemd.container.paths import read_json
from conman_systemd.errors import ConmanError
from conman_systemd.image.content import LAYER_NAME, STAGING, hex_of, remove_tree
from conman_systemd.image.store import ImageStore
from conman_systemd.log import debug

STAGING_PREFIXES = (STAGING, ".import-")  # .import-: an older conman's


def _needed(store: ImageStore) -> tuple[set[str], set[str]]:
    """(blob hex digests, layer directory names) the images need."""
    blobs: set[str] = set()
    layers: set[str] = set()
    for image in store.all():
        layers.update(hex_of(d)[:LAYER_NAME] for d in image.layers)
        if not image.manifest:
            continue
        blobs.update((hex_of(image.manifest), image.id))
        try:
            manifest = store.blob_json(image.manifest)
        except ConmanError:
            continue
        for descriptor in manifest.get("layers") or []:
            blobs.add(hex_of(str(descriptor.get("digest"))))
    return blobs, layers


def _size(path: str) -> int:
    try:
        return os.lstat(path).st_size
    except OSError:
        return 0


def collect(store: ImageStore) -> int:
    needed_blobs, needed_layers = _needed(store)
    freed = 0
    blob_dir = os.path.join(store.blobs, "sha256")
    for name in _listdir(blob_dir):
        if name not in needed_blobs:
            freed += _size(os.path.join(blob_dir, name))
            debug(f"removing blob sha256:{name[:12]}")
            os.unlink(os.path.join(blob_dir, name))
    for name in _listdir(store.layers):
        if name.partition(".")[0] not in needed_layers:
            path = os.path.join(store.layers, name)
            if name.endswith(".json"):
                freed += int((read_json(path) or {}).get("size", 0))
            debug(f"removing layer {name}")
            remove_tree(path)
    for name in _listdir(store.top):
        if name.startswith(STAGING_PREFIXES):
            remove_tree(os.path.join(store.top, name))
    return freed


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []

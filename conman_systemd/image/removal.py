"""Removing images as docker's `rmi` and `image prune` do, then the blobs and layers they leave.

A name is untagged; the image goes when its last name does and no container uses it. An image a
container uses is refused, or with -f only untagged: the container keeps running from it, and a
prune removes it once the container is gone.
"""

from __future__ import annotations

from conman_systemd.errors import ConmanError
from conman_systemd.image.store import ImageStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from conman_systemd.container.spec import ContainerSpec
    from conman_systemd.image.record import Image


def _users(image: Image, containers: Sequence[ContainerSpec]) -> list[str]:
    return [c.name for c in containers if c.image_id == image.id]


def remove(store: ImageStore, ref: str, containers: Sequence[ContainerSpec], *, force: bool) -> list[str]:
    """Remove the image ref names (or only that name); what was done, as docker prints it."""
    with store.locked():
        image, name = store.lookup(ref)
        by_id = name == image.id
        if not by_id and len(image.names) > 1:
            store.untag(image, name)
            return [f"Untagged: {name}"]
        if by_id and len(image.names) > 1 and not force:
            raise ConmanError(
                f"image {image.short_id} has several names: {', '.join(image.names)}",
                hint="remove them by name, or all of them with -f",
            )
        users = _users(image, containers)
        if users and not force:
            raise ConmanError(
                f"image {ref} is in use by container {users[0]}",
                hint="remove the container first, or untag the image with -f",
            )
        done = [f"Untagged: {n}" for n in image.names]
        for n in image.names:
            store.untag(image, n)
        if users:
            return done
        store.delete(image)
        store.collect()
        return [*done, f"Deleted: sha256:{image.id}"]


def prune(
    store: ImageStore, containers: Sequence[ContainerSpec], *, every_unused: bool
) -> tuple[list[str], int]:
    """Remove unnamed images (every_unused: all images) no container uses, and what no image
    needs; (the IDs removed, the bytes freed)."""
    with store.locked():
        removed = []
        for image in store.all():
            if (every_unused or not image.names) and not _users(image, containers):
                store.delete(image)
                removed.append(image.id)
        return removed, store.collect()

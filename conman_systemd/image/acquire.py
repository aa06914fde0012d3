"""The image a `run` or `create` asks for: found in the store, or pulled as docker does.

`--pull missing` (the default) pulls what the store lacks, `always` pulls every time, `never`
only looks. busybox, when missing, is made from the host's busybox-static: the one image conman
can make without a registry.
"""

from __future__ import annotations

import os

from conman_systemd.errors import ConmanError
from conman_systemd.image import reference
from conman_systemd.image.store import ImageStore
from conman_systemd.log import debug

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conman_systemd.image.record import Image


def for_run(store: ImageStore, ref: str, pull: str = "missing") -> tuple[Image, str]:
    """The image and the name it goes by (the stored name ref matched, or its ID)."""
    if pull != "always" and (found := store.find(ref)) is not None:
        return found
    if pull == "never":
        raise ConmanError(
            f"no such image: {ref}", hint="pull it with `conman pull`, or run without --pull never"
        )
    from conman_systemd.image import rootfs

    names = reference.candidates(ref)
    if pull != "always" and any(n.name in rootfs.BUSYBOX_NAMES for n in names):
        if os.access(rootfs.BUSYBOX, os.X_OK):
            debug("busybox:latest is missing: importing it from the host's busybox-static")
            image = rootfs.import_rootfs(store, "busybox", None)
            return image, image.names[0]
    if pull == "missing":  # as docker: on stderr, with the pull's progress; stdout is the app's
        os.write(2, f"Unable to find image '{ref}' locally\n".encode())
    return _pull(store, ref, names[-1])


def _pull(store: ImageStore, ref: str, name: reference.Reference) -> tuple[Image, str]:
    from conman_systemd.image.transport import Registry, pull

    image = pull(store, ref, Registry(), progress=2 if os.isatty(2) else None)
    return image, name.name if name.tag else name.source

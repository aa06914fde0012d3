"""`image import`: an image of one layer from a root file system tarball or directory, and the
busybox image conman makes from the host's busybox-static when no registry is at hand.

The tarball itself becomes the layer's blob (a directory is archived first), so an imported
image is stored, unpacked, checked against hostile archives and saved like a pulled one.
"""

from __future__ import annotations

import os
import time

from conman_systemd import fastjson, runner
from conman_systemd.errors import ConmanError, quoted
from conman_systemd.image import reference
from conman_systemd.image.content import copy_stdin, remove_tree
from conman_systemd.image.record import compression_of, import_config, manifest_for
from conman_systemd.image.store import ImageStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conman_systemd.image.record import Image

BUSYBOX = "/bin/busybox"
BUSYBOX_NAMES = ("localhost/busybox:latest", "docker.io/library/busybox:latest")


def import_rootfs(store: ImageStore, ref: str, source: str | None) -> Image:
    name = reference.local(ref).name
    if source is None and name not in BUSYBOX_NAMES:
        raise ConmanError(
            f"no SOURCE given for {ref}",
            hint="give a rootfs tarball or directory; only `busybox` is built without one",
        )
    with store.locked():
        staging = store.scratch()
        os.mkdir(staging, 0o700)
        try:
            blob, described = _layer_blob(store, staging, source)
            try:
                return _record(store, blob, name, described)
            except ConmanError as e:
                store.collect()  # the blob just stored, that no image has
                raise ConmanError(f"cannot import {source or 'busybox'}: {e}", hint=e.hint) from None
        finally:
            remove_tree(staging)


def _layer_blob(store: ImageStore, staging: str, source: str | None) -> tuple[tuple[str, int], str]:
    """The layer's blob (digest, size) in the store, and where it came from ("-": stdin)."""
    if source == "-":
        path = os.path.join(staging, "stdin.tar")
        copy_stdin(path)
        _refuse_image_archive(path, "-")
        return store.adopt_blob(path, False), "standard input"
    if source is None:
        build_busybox(os.path.join(staging, "rootfs"))
        return store.adopt_blob(
            _archive(os.path.join(staging, "rootfs"), staging), False
        ), "host busybox-static"
    described = os.path.abspath(source)
    if os.path.isdir(source):
        _refuse_image_archive(source, source)
        return store.adopt_blob(_archive(source, staging), False), described
    if not os.path.isfile(source):
        raise ConmanError(
            f"cannot import {source}: no such file or directory",
            hint="SOURCE is a rootfs tarball (.tar, .tar.gz, .tar.zst) or a directory",
        )
    _refuse_image_archive(source, source)
    return store.adopt_blob(source, True), described


def _refuse_image_archive(path: str, source: str) -> None:
    from conman_systemd.image.archive import kind_of

    if kind_of(path) is not None:
        raise ConmanError(
            f"cannot import {quoted(source)}: it is an image archive, not a root file system",
            hint=f"load it with `conman image load -i {source}`"
            if source != "-"
            else "load it with `conman image load`",
        )


def _archive(directory: str, staging: str) -> str:
    tar = os.path.join(staging, "layer.tar")
    runner.run(
        ["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", directory, "-cf", tar, "."]
    )
    return tar


def _record(store: ImageStore, blob: tuple[str, int], name: str, described: str) -> Image:
    diff_id, _ = store.unpack(blob[0], None)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    config = store.put_blob(fastjson.dumps(import_config(diff_id, created, described)).encode())
    manifest = manifest_for(config, blob, compression_of(store.blob(blob[0])))
    manifest_digest, _ = store.put_blob(fastjson.dumps(manifest).encode())
    return store.add(manifest_digest, [name], described)


_PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = "root:x:0:\nnogroup:x:65534:\n"
_DIRS = ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "dev", "proc", "sys", "tmp", "var/tmp", "run")


def build_busybox(rootfs: str) -> None:
    """A tiny root file system from the host's busybox-static: the binary, its applet links, /etc basics."""
    if not os.access(BUSYBOX, os.X_OK):
        raise ConmanError(f"{BUSYBOX} not found", hint="apt-get install busybox-static")
    for d in _DIRS:
        os.makedirs(os.path.join(rootfs, d), exist_ok=True)
    os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
    os.chmod(os.path.join(rootfs, "var/tmp"), 0o1777)
    import shutil

    shutil.copy2(BUSYBOX, os.path.join(rootfs, "bin/busybox"))
    applets = runner.run([BUSYBOX, "--list-full"]).stdout.split()
    for applet in applets:
        link = os.path.join(rootfs, applet)
        if not os.path.lexists(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink("/bin/busybox", link)
    for name, text in (("etc/passwd", _PASSWD), ("etc/group", _GROUP), ("etc/hostname", "busybox\n")):
        with open(os.path.join(rootfs, name), "w") as f:
            f.write(text)

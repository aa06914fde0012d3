"""Images as rootfs directories: import from a tarball, a directory, or the host's busybox-static.

Layout under <root>/images: <id>/rootfs, <id>/image.json, and refs/<name:tag> (a symlink to the
id). Containers never write an image: each gets an overlayfs layer of its own.
"""

from __future__ import annotations

import os
import time

from conman_systemd import fastjson, runner
from conman_systemd.container.paths import Paths, read_json, write_atomic
from conman_systemd.errors import ConmanError
from conman_systemd.frozen import Frozen
from conman_systemd.log import debug

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_TAG_FIRST = _LOWER | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ_")


def valid_ref(ref: str) -> bool:
    """NAME[:TAG]: [a-z0-9][a-z0-9._/-]*, then [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} (by hand: `run`
    checks every image name, and `re` costs it ~4 ms to import)."""
    name, colon, tag = ref.partition(":")
    if not name or name[0] not in _LOWER or not (_LOWER | frozenset("._/-")).issuperset(name):
        return False
    return not colon or (
        0 < len(tag) <= 128 and tag[0] in _TAG_FIRST and (_TAG_FIRST | frozenset(".-")).issuperset(tag)
    )


DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUSYBOX = "/bin/busybox"


class Image(Frozen):
    id: str
    names: list[str]
    created: float
    size: int
    cmd: list[str] = ["sh"]  # copied per record, never shared
    entrypoint: list[str] = []
    env: list[str] = [DEFAULT_PATH_ENV]
    workdir: str = "/"
    source: str = ""
    rootfs: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.as_dict().items() if k != "rootfs"}


def _quote(ref: str) -> str:
    """A reference as a file name: urllib.parse.quote(ref, safe="") without importing urllib."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-._~") else f"%{ord(c):02X}" for c in ref)


def normalize(ref: str) -> str:
    if not valid_ref(ref):
        raise ConmanError(f'invalid image name "{ref}": use NAME[:TAG] in lower case')
    return ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"


class ImageStore:
    def __init__(self, paths: Paths) -> None:
        self.top = paths.images
        self.refs = os.path.join(self.top, "refs")

    def _ref_path(self, ref: str) -> str:
        return os.path.join(self.refs, _quote(ref))

    def _load(self, image_id: str) -> Image | None:
        data = read_json(os.path.join(self.top, image_id, "image.json"))
        if data is None:
            return None
        known = {k: v for k, v in data.items() if k in _IMAGE_FIELDS}
        return Image(**known, rootfs=os.path.join(self.top, image_id, "rootfs"))

    def all(self) -> list[Image]:
        try:
            ids = [e for e in os.listdir(self.top) if len(e) == 64]
        except FileNotFoundError:
            return []
        images = [i for i in map(self._load, ids) if i is not None]
        return sorted(images, key=lambda i: i.created, reverse=True)

    def get(self, ref: str) -> Image:
        """By NAME[:TAG], full ID or unique ID prefix."""
        if valid_ref(ref):
            try:
                image = self._load(os.readlink(self._ref_path(normalize(ref))))
            except OSError:
                image = None
            if image is not None:
                return image
        matches = [i for i in self.all() if len(ref) >= 4 and i.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        raise ConmanError(
            f"no such image: {ref}",
            hint="list images with `conman image ls`, or build one with `conman image import busybox`",
        )

    def get_for_run(self, ref: str) -> Image:
        """As get(), but busybox, the one image conman can make on its own, is made when missing,
        as `docker run` pulls what it lacks."""
        try:
            return self.get(ref)
        except ConmanError:
            if not valid_ref(ref) or normalize(ref) != "busybox:latest" or not os.access(BUSYBOX, os.X_OK):
                raise
        debug("busybox:latest is missing: importing it from the host's busybox-static")
        return self.import_(ref, None)

    def import_(self, ref: str, source: str | None) -> Image:
        ref = normalize(ref)
        os.makedirs(self.top, mode=0o700, exist_ok=True)  # an image's setuid files: root's alone
        os.makedirs(self.refs, exist_ok=True)
        staging = os.path.join(self.top, f".import-{os.urandom(8).hex()}")
        os.makedirs(os.path.join(staging, "rootfs"))
        try:
            described = self._fill(os.path.join(staging, "rootfs"), ref, source)
            import hashlib

            image_id = hashlib.sha256(
                f"{ref}\0{described}\0{time.time()}\0{os.urandom(8).hex()}".encode()
            ).hexdigest()
            image = Image(
                id=image_id,
                names=[ref],
                created=time.time(),
                size=_du(os.path.join(staging, "rootfs")),
                source=described,
            )
            write_atomic(os.path.join(staging, "image.json"), fastjson.dumps(image.to_dict()))
            os.rename(staging, os.path.join(self.top, image_id))
        except BaseException:
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._retag(ref, image_id)
        return self.get(image_id)

    def _fill(self, rootfs: str, ref: str, source: str | None) -> str:
        if source is None:
            if ref != "busybox:latest":
                raise ConmanError(
                    f"no SOURCE given for {ref}",
                    hint="give a rootfs tarball or directory; only `busybox` is built without one",
                )
            build_busybox(rootfs)
            return "host busybox-static"
        if os.path.isdir(source):
            runner.run(["cp", "-a", "--", os.path.join(source, "."), rootfs])
        elif os.path.isfile(source):
            runner.run(["tar", "-xf", source, "-C", rootfs, "--numeric-owner"])
        else:
            raise ConmanError(
                f"cannot import {source}: no such file or directory",
                hint="SOURCE is a rootfs tarball (.tar, .tar.gz) or a directory",
            )
        return os.path.abspath(source)

    def _retag(self, ref: str, image_id: str) -> None:
        link = self._ref_path(ref)
        old = os.readlink(link) if os.path.islink(link) else None
        tmp = f"{link}.tmp{os.getpid()}"
        os.symlink(image_id, tmp)
        os.replace(tmp, link)
        if old and old != image_id:
            self._rename(old, lambda names: [n for n in names if n != ref])

    def _rename(self, image_id: str, change: Callable[[list[str]], list[str]]) -> None:
        path = os.path.join(self.top, image_id, "image.json")
        data = read_json(path)
        if data is not None:
            data["names"] = change(data["names"])
            write_atomic(path, fastjson.dumps(data))

    def remove(self, image: Image, used_by: list[str]) -> None:
        if used_by:
            raise ConmanError(
                f"image {(image.names or [image.id[:12]])[0]} is in use by container {used_by[0]}",
                hint="remove the container first",
            )
        for name in image.names:
            try:
                os.unlink(self._ref_path(name))
            except FileNotFoundError:
                pass
        import shutil

        shutil.rmtree(os.path.join(self.top, image.id))


_IMAGE_FIELDS = frozenset(Image(id="", names=[], created=0, size=0).as_dict())


def _du(top: str) -> int:
    total = 0
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            total += os.lstat(os.path.join(root, name)).st_size
    return total


_PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
_GROUP = "root:x:0:\nnogroup:x:65534:\n"


def build_busybox(rootfs: str) -> None:
    """A tiny image from the host's busybox-static: the binary, its applet links, /etc basics."""
    if not os.access(BUSYBOX, os.X_OK):
        raise ConmanError(f"{BUSYBOX} not found", hint="apt-get install busybox-static")
    for d in (
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "etc",
        "root",
        "dev",
        "proc",
        "sys",
        "tmp",
        "var/tmp",
        "run",
    ):
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

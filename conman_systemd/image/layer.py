"""Unpack one OCI image layer into a new directory: an overlayfs lower directory.

A layer is a stranger's tar stream, so every member is written here by hand, never by
TarFile.extract: names that leave the layer are refused, and every directory on the way is opened
from the layer's own root with O_NOFOLLOW, so nothing is ever written through a symlink the layer
planted. The layer is unpacked under a temporary name and renamed into place once complete: all or
nothing. OCI whiteouts become overlayfs ones (a 0:0 character device, the trusted.overlay.opaque
xattr); an archive's own trusted.overlay.* xattrs are never applied (a layer could fake them).
Device nodes are skipped: a container's /dev comes from the runtime.

The diff_id is the sha256 of the uncompressed stream as read, trailing bytes included; the caller
compares it with the image config's rootfs.diff_ids. Python 3.11 has no zstd: the zstd tool
decompresses, through the runner.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
import stat
import tarfile
import zlib

from conman_systemd.errors import ConmanError, quoted
from conman_systemd.frozen import Frozen
from conman_systemd.image.content import remove_tree
from conman_systemd.log import debug
from conman_systemd.runner import DEVNULL, spawn

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conman_systemd.runner import Child

CHUNK = 1 << 20
_TAR_BUFFER = 1 << 16  # tarfile copies what is left of it at each header: not 1 MiB
_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer, nothing else
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
_XATTR = "SCHILY.xattr."


class LayerInfo(Frozen):
    diff_id: str  # "sha256:<hex>" of the uncompressed tar stream
    size: int  # bytes of regular files written (a file a later member replaced included)


def unpack(blob: str, target: str, *, digest: str | None = None) -> LayerInfo:
    """Unpack the layer file blob (tar, gzip or zstd: its first bytes tell) into target, which must
    not exist; digest, when given, is the blob's own. Nothing is left behind on any failure, Ctrl-C
    included."""
    label = digest[: digest.find(":") + 13] if digest else quoted(blob)
    if os.path.lexists(target):
        raise ConmanError(f"layer {label}: {quoted(target)} already exists")
    partial = f"{target}.partial-{os.urandom(4).hex()}"
    try:
        os.mkdir(partial, 0o700)  # private until complete: a layer may hold setuid files
    except OSError as e:
        raise ConmanError(f"layer {label}: cannot create {quoted(partial)} ({e.strerror})") from None
    try:
        info = _unpack(blob, partial, label, digest)
        os.rename(partial, target)
    except BaseException:
        remove_tree(partial)
        raise
    return info


def _unpack(blob: str, partial: str, label: str, digest: str | None) -> LayerInfo:
    writer = _Writer(partial, label)
    stream = None
    try:
        stream = _Stream(blob, label, digest)
        with tarfile.open(fileobj=stream, mode="r|", bufsize=_TAR_BUFFER) as tar:
            for member in tar:
                writer.add(tar, member)
        while stream.read(CHUNK):  # the diff_id covers what follows the end-of-archive blocks
            pass
        stream.verify()
        writer.settle()
        info = LayerInfo(diff_id=f"sha256:{stream.sha.hexdigest()}", size=writer.size)
    except (tarfile.TarError, zlib.error, EOFError) as e:
        if stream:
            stream.verify(to_the_end=True)  # a blob that is not the one asked for says so first
        raise ConmanError(f"layer {label}: not a valid tar stream ({e})") from None
    except (OSError, ValueError, OverflowError) as e:
        what = quoted(blob) if writer.member is None else f"member {quoted(writer.member)}"
        raise ConmanError(
            f"layer {label}: cannot unpack {what} ({getattr(e, 'strerror', '') or e})"
        ) from None
    finally:
        writer.close()
        if stream:
            stream.finish()
    return info


def _check(fd: int, label: str, digest: str) -> None:
    """The whole blob against its digest, in a pass of its own (zstd reads the file itself)."""
    sha = hashlib.sha256()
    while chunk := os.read(fd, CHUNK):
        sha.update(chunk)
    if f"sha256:{sha.hexdigest()}" != digest:
        raise ConmanError(f"layer {label} does not match its digest")
    os.lseek(fd, 0, os.SEEK_SET)


class _Stream(io.RawIOBase):
    """The layer's uncompressed bytes for tarfile's stream mode, hashed as they are read; the
    blob's own bytes are hashed on the way too (one read of the file, not two), and verify()
    compares them with the digest before the layer is kept."""

    def __init__(self, blob: str, label: str, digest: str | None) -> None:
        self.sha = hashlib.sha256()
        self.label, self.digest = label, digest
        self.raw_sha = hashlib.sha256() if digest is not None else None
        self.inflate: zlib._Decompress | None = None
        self.child: Child | None = None
        self.fd = os.open(blob, os.O_RDONLY | os.O_CLOEXEC)
        try:
            magic = os.pread(self.fd, 4, 0)
            if magic.startswith(_GZIP):
                self.inflate = zlib.decompressobj(_GZIP_WBITS)
            elif magic == _ZSTD:  # Python 3.11 has no zstd module
                if digest is not None:
                    _check(self.fd, label, digest)
                    self.raw_sha = None
                read_end, write_end = os.pipe()
                os.close(self.fd)
                self.fd = read_end
                try:
                    self.child = spawn(["zstd", "-dcq", "--", blob], stdout=write_end, stderr=DEVNULL)
                finally:
                    os.close(write_end)
        except BaseException:
            os.close(self.fd)
            raise

    def _raw(self, size: int) -> bytes:
        data = os.read(self.fd, size)
        if self.raw_sha is not None:
            self.raw_sha.update(data)
        return data

    def verify(self, to_the_end: bool = False) -> None:
        """The blob's bytes read so far (to_the_end: all of them) against its digest."""
        if self.raw_sha is None:
            return
        while to_the_end and self._raw(CHUNK):
            pass
        if f"sha256:{self.raw_sha.hexdigest()}" != self.digest:
            raise ConmanError(f"layer {self.label} does not match its digest")

    def read(self, size: int = -1, /) -> bytes:
        size = size if size > 0 else CHUNK
        data = self._raw(size) if self.inflate is None else self._inflated(self.inflate, size)
        if not data and self.child and (status := self.child.wait()) != 0:
            raise EOFError(f"zstd failed with exit status {status}")  # its output may end early
        self.sha.update(data)
        return data

    def _inflated(self, inflate: zlib._Decompress, size: int) -> bytes:
        """At most size bytes, whatever the ratio (a small blob may inflate to terabytes);
        multi-member gzip is one stream, as gzip -d has it."""
        while True:
            if inflate.eof:
                raw = inflate.unused_data or self._raw(CHUNK)
                if not raw:
                    return b""
                inflate = self.inflate = zlib.decompressobj(_GZIP_WBITS)
            else:
                raw = inflate.unconsumed_tail or self._raw(CHUNK)
                if not raw:
                    raise EOFError("the gzip stream ends early")
            if data := inflate.decompress(raw, size):
                return data

    def finish(self) -> None:
        os.close(self.fd)  # first: a zstd still writing gets EPIPE and ends
        if self.child:
            self.child.wait()


class _Writer:
    """Writes members under the layer's root fd, never through a symlink."""

    def __init__(self, root: str, label: str) -> None:
        self.label = label
        self.root = os.open(root, _DIR)
        self.cached = ("", os.dup(self.root))  # members come directory by directory
        self.dirs: dict[str, tarfile.TarInfo | None] = {"": None}  # None: made for what is below
        self.size = 0
        self.member: str | None = None

    def _refuse(self, problem: str) -> ConmanError:
        return ConmanError(f"layer {self.label}: member {quoted(self.member or '')} {problem}")

    def _clean(self, name: str, problem: str) -> str:
        """name relative to the layer's root, "" for the root itself."""
        if "\0" in name:
            raise self._refuse("has a NUL byte in its name")
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if name.startswith("/") or ".." in parts:
            raise self._refuse(problem)
        return "/".join(parts)

    def add(self, tar: tarfile.TarFile, m: tarfile.TarInfo) -> None:
        self.member = m.name
        name = self._clean(m.name, "leaves the layer")
        parent, _, base = name.rpartition("/")
        if base.startswith(_WHITEOUT):  # whatever its type: a whiteout is never a file
            return self._whiteout(parent, base)
        if m.isdir():
            return self._mkdir(parent, base, m)
        if not name:
            raise self._refuse("is not a directory")
        if m.ischr() or m.isblk():
            return debug(f"layer {self.label}: device {quoted(m.name)} skipped: /dev is the runtime's")
        if not (m.isreg() or m.issym() or m.islnk() or m.isfifo()):
            raise self._refuse("has an unsupported type")
        fd = self._dir_fd(parent)
        self._clear(fd, base)
        if m.isreg():  # CONTTYPE and GNU sparse members included
            self._file(tar, m, fd, base)
        elif m.islnk():
            self._link(m, fd, base)
        elif m.issym():  # its target may be anything: it is resolved in the container's root
            os.symlink(m.linkname, base, dir_fd=fd)
            self._finish(fd, base, m)
        else:
            os.mkfifo(base, 0o600, dir_fd=fd)
            self._finish(fd, base, m)

    def _walk(self, path: str, create: bool) -> int:
        """A new fd of the directory path, opened component by component from the root with
        O_NOFOLLOW. create: make what is missing (0755, as docker does) and refuse what is not a
        directory; else such a path raises OSError."""
        fd, done = os.dup(self.root), ""
        try:
            for part in path.split("/") if path else ():
                done = f"{done}/{part}" if done else part
                try:
                    next_fd = os.open(part, _DIR, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    os.mkdir(part, 0o700, dir_fd=fd)
                    self.dirs[done] = None  # a new directory: an older record describes a gone one
                    next_fd = os.open(part, _DIR, dir_fd=fd)
                except OSError:
                    if not create:
                        raise
                    kind = "symlink" if stat.S_ISLNK(os.lstat(part, dir_fd=fd).st_mode) else "non-directory"
                    raise self._refuse(f"goes through the {kind} {quoted(done)}") from None
                os.close(fd)
                fd = next_fd
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _dir_fd(self, path: str, create: bool = True) -> int:
        if path != self.cached[0]:
            fd = self._walk(path, create)
            os.close(self.cached[1])
            self.cached = (path, fd)
        return self.cached[1]

    def _clear(self, fd: int, base: str) -> None:
        """Removes what the layer holds at base: a later member replaces an earlier one. Always a
        child of the cached directory, which therefore stays valid."""
        try:
            os.unlink(base, dir_fd=fd)
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            shutil.rmtree(base, dir_fd=fd)

    def _mkdir(self, parent: str, base: str, m: tarfile.TarInfo) -> None:
        if base:
            fd = self._dir_fd(parent)
            try:
                os.mkdir(base, 0o700, dir_fd=fd)  # writable until settle(): its children come later
            except FileExistsError:
                if not stat.S_ISDIR(os.lstat(base, dir_fd=fd).st_mode):
                    self._clear(fd, base)
                    os.mkdir(base, 0o700, dir_fd=fd)
        self.dirs[f"{parent}/{base}" if parent else base] = m

    def _file(self, tar: tarfile.TarFile, m: tarfile.TarInfo, dir_fd: int, base: str) -> None:
        fd = os.open(base, _NEW_FILE, 0o600, dir_fd=dir_fd)
        try:
            src = tar.extractfile(m)
            while src and (chunk := src.read(CHUNK)):
                self.size += len(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            self._own(fd, m)
        finally:
            os.close(fd)

    def _link(self, m: tarfile.TarInfo, dir_fd: int, base: str) -> None:
        """A hard link to an entry this layer wrote before (never a directory: linkat refuses)."""
        source = self._clean(m.linkname, f"links to {quoted(m.linkname)} outside the layer")
        src_dir, _, src_base = source.rpartition("/")
        try:
            src_fd = self._walk(src_dir, create=False)
            try:
                os.link(src_base, base, src_dir_fd=src_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
            finally:
                os.close(src_fd)
        except OSError:
            raise self._refuse(f"links to {quoted(m.linkname)}, which the layer does not hold") from None

    def _whiteout(self, parent: str, base: str) -> None:
        fd = self._dir_fd(parent)
        if base == _OPAQUE:
            os.setxattr(fd, "trusted.overlay.opaque", b"y")
        elif not base.startswith(_OPAQUE[:8]):  # other .wh..wh. names are aufs' bookkeeping
            hidden = base[len(_WHITEOUT) :]
            if hidden in ("", ".", ".."):
                raise self._refuse("is not a valid whiteout")
            self._clear(fd, hidden)
            os.mknod(hidden, stat.S_IFCHR, os.makedev(0, 0), dir_fd=fd)

    def _own(self, fd: int, m: tarfile.TarInfo) -> None:
        """Owner, then mode (chown drops setuid bits), then xattrs (chown drops
        security.capability), then mtime."""
        os.fchown(fd, m.uid, m.gid)
        os.fchmod(fd, m.mode & 0o7777)
        self._xattrs(fd, m)
        os.utime(fd, ns=_times(m))

    def _finish(self, fd: int, base: str, m: tarfile.TarInfo) -> None:
        """_own() by name, for a symlink or a FIFO (neither can be opened to write)."""
        os.chown(base, m.uid, m.gid, dir_fd=fd, follow_symlinks=False)
        if m.isfifo():
            os.chmod(base, m.mode & 0o7777, dir_fd=fd)
        self._xattrs(f"/proc/self/fd/{fd}/{base}", m)
        os.utime(base, ns=_times(m), dir_fd=fd, follow_symlinks=False)

    def _xattrs(self, where: int | str, m: tarfile.TarInfo) -> None:
        for key, value in m.pax_headers.items():
            name = key[len(_XATTR) :]
            if not key.startswith(_XATTR) or name.startswith("trusted.overlay."):
                continue
            data = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
            try:
                os.setxattr(where, name, data, follow_symlinks=isinstance(where, int))
            except OSError as e:
                if e.errno not in (errno.ENOTSUP, errno.EPERM):  # the filesystem's choice
                    raise

    def settle(self) -> None:
        """Directories get their owners, modes and mtimes last and deepest first: a 0555 one
        took its children, and no later child moves its mtime."""
        for path in sorted(self.dirs, key=lambda p: (p.count("/") + (p != ""), p), reverse=True):
            self.member = path
            parent, _, base = path.rpartition("/")
            try:
                fd = os.open(base, _DIR, dir_fd=self._dir_fd(parent, False)) if base else os.dup(self.root)
            except OSError:
                continue  # a later member replaced it
            try:
                m = self.dirs[path]
                if m:
                    self._own(fd, m)
                else:
                    os.fchmod(fd, 0o755)
            finally:
                os.close(fd)

    def close(self) -> None:
        os.close(self.cached[1])
        os.close(self.root)


def _times(m: tarfile.TarInfo) -> tuple[int, int]:
    ns = int(m.mtime * 1_000_000_000)
    return ns, ns

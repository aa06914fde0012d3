"""A layer unpacks as docker would, and a hostile one is refused without a trace (run as root)."""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import os
import re
import stat
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from conman_systemd.errors import ConmanError
from conman_systemd.image import layer
from conman_systemd.image.layer import LayerInfo, unpack

T0, T1, T2 = 1_500_000_000, 1_600_000_000, 1_700_000_000
Member = tuple[tarfile.TarInfo, bytes | None]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="owners and whiteout nodes need root")


def entry(name: str, kind: bytes, *, mode: int = 0o644, uid: int = 0, gid: int = 0, mtime: int = T0,
          linkname: str = "", xattrs: dict[str, str] | None = None) -> tarfile.TarInfo:  # fmt: skip
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname = kind, mode, linkname
    info.uid, info.gid, info.mtime = uid, gid, mtime
    info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in (xattrs or {}).items()}
    return info


def file(name: str, data: bytes = b"", **attrs: Any) -> Member:
    info = entry(name, tarfile.REGTYPE, **attrs)
    info.size = len(data)
    return info, data


def directory(name: str, mode: int = 0o755, **attrs: Any) -> Member:
    return entry(name, tarfile.DIRTYPE, mode=mode, **attrs), None


def symlink(name: str, target: str, **attrs: Any) -> Member:
    return entry(name, tarfile.SYMTYPE, mode=0o777, linkname=target, **attrs), None


def hardlink(name: str, target: str) -> Member:
    return entry(name, tarfile.LNKTYPE, linkname=target), None


def fifo(name: str, mode: int = 0o600) -> Member:
    return entry(name, tarfile.FIFOTYPE, mode=mode), None


def device(name: str, kind: bytes = tarfile.CHRTYPE) -> Member:
    info = entry(name, kind, mode=0o660)
    info.devmajor, info.devminor = 8, 0
    return info, None


def whiteout(name: str) -> Member:
    return file(name)


def tar(*members: Member) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def compress(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data)
    if how == "gzip-multi":  # `cat a.gz b.gz`: one stream for gzip -d
        return gzip.compress(data[:1000]) + gzip.compress(data[1000:])
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
    return data


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Where layers go; tmp_path/outside holds a sentinel a hostile layer must not reach."""
    (tmp_path / "store").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "sentinel").write_bytes(b"keep")
    return tmp_path / "store"


def put(store: Path, blob: bytes) -> tuple[str, str]:
    """The blob's path (next to the store) and its digest."""
    path = store.parent / "blob"
    path.write_bytes(blob)
    return os.fspath(path), f"sha256:{hashlib.sha256(blob).hexdigest()}"


def unpacked(store: Path, *members: Member) -> tuple[Path, LayerInfo]:
    blob, digest = put(store, tar(*members))
    info = unpack(blob, os.fspath(store / "layer"), digest=digest)
    return store / "layer", info


def assert_nothing_left(store: Path) -> None:
    assert os.listdir(store) == []
    assert sorted(os.listdir(store.parent)) == ["blob", "outside", "store"]
    assert os.listdir(store.parent / "outside") == ["sentinel"]
    assert (store.parent / "outside" / "sentinel").read_bytes() == b"keep"


def test_files_directories_links_modes_owners_and_times(store: Path) -> None:
    root, info = unpacked(
        store,
        directory(".", mode=0o751, mtime=T2),
        directory("etc", mode=0o750, uid=10, gid=20, mtime=T1),
        file("etc/passwd", b"old", uid=1, gid=2),
        symlink("etc/mtab", "/proc/self/mounts", uid=5, gid=6, mtime=T1),
        file("usr/bin/su", b"su!", mode=0o4755, mtime=T2),  # usr and usr/bin made on the way
        hardlink("usr/bin/su2", "usr/bin/su"),
        directory("ro", mode=0o555, mtime=T1),
        file("ro/child", b"c", mode=0o600),
        directory("tmp", mode=0o1777),
        fifo("run/initctl", mode=0o620),
        file("etc/passwd", b"root:x:0:0", mode=0o640, uid=3, gid=4, mtime=T1),  # a later one wins
    )
    assert info.size == len(b"old" + b"su!" + b"c" + b"root:x:0:0")
    assert sorted(os.listdir(root)) == ["etc", "ro", "run", "tmp", "usr"]
    assert (root / "etc" / "passwd").read_bytes() == b"root:x:0:0"
    checks = {  # path: (type, mode, uid, gid, mtime or None)
        "": (stat.S_IFDIR, 0o751, 0, 0, T2),
        "etc": (stat.S_IFDIR, 0o750, 10, 20, T1),
        "etc/passwd": (stat.S_IFREG, 0o640, 3, 4, T1),
        "etc/mtab": (stat.S_IFLNK, 0o777, 5, 6, T1),
        "usr": (stat.S_IFDIR, 0o755, 0, 0, None),
        "usr/bin/su": (stat.S_IFREG, 0o4755, 0, 0, T2),
        "ro": (stat.S_IFDIR, 0o555, 0, 0, T1),
        "ro/child": (stat.S_IFREG, 0o600, 0, 0, T0),
        "tmp": (stat.S_IFDIR, 0o1777, 0, 0, T0),
        "run/initctl": (stat.S_IFIFO, 0o620, 0, 0, T0),
    }
    for path, (kind, mode, uid, gid, mtime) in checks.items():
        st = os.lstat(root / path)
        found = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        assert found == (kind, mode, uid, gid), path
        assert mtime is None or st.st_mtime == mtime, path
    assert os.readlink(root / "etc" / "mtab") == "/proc/self/mounts"
    su, su2 = os.lstat(root / "usr" / "bin" / "su"), os.lstat(root / "usr" / "bin" / "su2")
    assert su.st_ino == su2.st_ino and su.st_nlink == 2


def test_later_members_replace_earlier_ones_whatever_their_type(store: Path) -> None:
    root, _ = unpacked(
        store,
        directory("x", mode=0o700),
        directory("x/y", mode=0o700),
        file("x/y/z", b"z"),
        file("x", b"now a file"),  # the tree goes; its directories' records are not applied
        file("d", b"was a file"),
        directory("d", mode=0o711),
        symlink("s", "d"),
        symlink("s", "x"),
        file("n/f", b"1"),
        directory("n", mode=0o700, mtime=T1),  # after its child: n keeps f
    )
    assert (root / "x").read_bytes() == b"now a file"
    assert stat.S_IMODE(os.lstat(root / "d").st_mode) == 0o711 and stat.S_ISDIR(os.lstat(root / "d").st_mode)
    assert os.readlink(root / "s") == "x"
    assert (root / "n" / "f").read_bytes() == b"1" and os.lstat(root / "n").st_mtime == T1


@pytest.mark.parametrize("how", ["plain", "gzip", "gzip-multi", "zstd"])
def test_the_diff_id_is_the_sha256_of_the_whole_uncompressed_stream(store: Path, how: str) -> None:
    data = tar(file("a", b"a" * 3000), directory("b"), file("b/c", b"c")) + b"\0" * 4096  # padded
    blob, digest = put(store, compress(data, how))
    info = unpack(blob, os.fspath(store / "layer"), digest=digest)
    assert info == LayerInfo(diff_id=f"sha256:{hashlib.sha256(data).hexdigest()}", size=3001)
    assert (store / "layer" / "b" / "c").read_bytes() == b"c"
    assert unpack(blob, os.fspath(store / "again")).diff_id == info.diff_id  # no digest: no check


@pytest.mark.parametrize("how", ["none", "gzip", "zstd"])
def test_a_damaged_blob_is_named_by_its_digest_not_by_what_broke(store: Path, how: str) -> None:
    good = compress(tar(file("a", b"x" * 5000)), how)
    wanted = f"sha256:{hashlib.sha256(good).hexdigest()}"
    blob, _ = put(store, good[:-40])  # cut short: not the blob the digest names
    with pytest.raises(ConmanError, match=f"^layer {wanted[:19]} does not match its digest$"):
        unpack(blob, os.fspath(store / "layer"), digest=wanted)
    assert_nothing_left(store)


def test_a_blob_that_does_not_match_its_digest_is_refused(store: Path) -> None:
    blob, _ = put(store, tar(file("a", b"a")))
    with pytest.raises(ConmanError, match=r"^layer sha256:0123456789ab does not match its digest$"):
        unpack(blob, os.fspath(store / "layer"), digest="sha256:" + "0123456789abcdef" * 4)
    assert_nothing_left(store)


def test_the_target_must_not_exist(store: Path) -> None:
    blob, digest = put(store, tar(file("a")))
    (store / "layer").mkdir()
    with pytest.raises(ConmanError, match=r'^layer sha256:[0-9a-f]{12}: ".*/store/layer" already exists$'):
        unpack(blob, os.fspath(store / "layer"), digest=digest)


def user_xattrs_work(path: Path) -> bool:
    try:
        os.setxattr(path, "user.probe", b"1")
    except OSError:
        return False
    os.removexattr(path, "user.probe")
    return True


def test_whiteouts_become_overlayfs_ones_and_archives_cannot_fake_them(store: Path) -> None:
    fake = {"trusted.overlay.opaque": "y", "user.test": "hello"}
    root, info = unpacked(
        store,
        file("a/gone", b"gone"),
        whiteout("a/.wh.gone"),
        whiteout(".wh.top"),
        directory("b"),
        file("b/kept", b"k"),
        whiteout("b/.wh..wh..opq"),
        whiteout("b/.wh..wh.plnk"),  # aufs' bookkeeping: ignored
        directory("c", xattrs=fake),
        file("c/f", b"f", xattrs=fake),
    )
    for node in (root / "a" / "gone", root / "top"):
        st = os.lstat(node)
        assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (0, 0)
    assert os.getxattr(root / "b", "trusted.overlay.opaque") == b"y"
    assert sorted(os.listdir(root / "b")) == ["kept"]
    assert sorted(os.listdir(root / "a")) == ["gone"] and info.size == len(b"gone" + b"k" + b"f")
    for path in (root / "c", root / "c" / "f"):
        with pytest.raises(OSError) as missing:
            os.getxattr(path, "trusted.overlay.opaque")
        assert missing.value.errno == errno.ENODATA
        if user_xattrs_work(store):
            assert os.getxattr(path, "user.test") == b"hello"


def test_devices_are_skipped(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A container's /dev comes from the runtime; a device in a layer is no error either."""
    logged: list[str] = []
    monkeypatch.setattr(layer, "debug", logged.append)
    blob, digest = put(store, tar(device("dev/sda"), device("dev/loop0", tarfile.BLKTYPE), file("f")))
    unpack(blob, os.fspath(store / "layer"), digest=digest)
    assert os.listdir(store / "layer") == ["f"]
    assert logged == [
        f'layer {digest[:19]}: device "dev/sda" skipped: /dev is the runtime\'s',
        f'layer {digest[:19]}: device "dev/loop0" skipped: /dev is the runtime\'s',
    ]


HOSTILE = [
    ([file("../evil")], 'member "../evil" leaves the layer'),
    ([file("/abs")], 'member "/abs" leaves the layer'),
    ([file("a/../../x")], 'member "a/../../x" leaves the layer'),
    ([file("a/../b")], 'member "a/../b" leaves the layer'),
    ([symlink("a", "/etc"), file("a/conman-layer-test")], 'member "a/conman-layer-test" goes through the symlink "a"'),
    ([symlink("a", "../../outside"), file("a/sentinel", b"owned")], 'member "a/sentinel" goes through the symlink "a"'),
    ([symlink("a", ".."), file("a/x")], 'member "a/x" goes through the symlink "a"'),
    ([directory("d"), symlink("d/a", "../.."), directory("d/a/x")], 'member "d/a/x" goes through the symlink "d/a"'),
    ([file("f"), file("f/x")], 'member "f/x" goes through the non-directory "f"'),
    ([hardlink("x", "../../etc/passwd")], 'member "x" links to "../../etc/passwd" outside the layer'),
    ([hardlink("x", "/etc/passwd")], 'member "x" links to "/etc/passwd" outside the layer'),
    ([hardlink("x", "y")], 'member "x" links to "y", which the layer does not hold'),
    ([hardlink("x", "x")], 'member "x" links to "x", which the layer does not hold'),
    ([symlink("s", "../../outside"), hardlink("x", "s/sentinel")], 'member "x" links to "s/sentinel", which the layer does not hold'),
    ([directory("d"), hardlink("x", "d")], 'member "x" links to "d", which the layer does not hold'),
    ([directory("d"), whiteout("d/.wh...")], 'member "d/.wh..." is not a valid whiteout'),
    ([whiteout(".wh..")], 'member ".wh.." is not a valid whiteout'),
    ([file("./")], 'member "./" is not a directory'),
]  # fmt: skip


@pytest.mark.parametrize(("members", "message"), HOSTILE, ids=[m for _, m in HOSTILE])
def test_hostile_members_are_refused_and_nothing_is_left(
    store: Path, members: list[Member], message: str
) -> None:
    blob, digest = put(store, tar(*members))
    with pytest.raises(ConmanError, match=f"^{re.escape(f'layer {digest[:19]}: {message}')}$"):
        unpack(blob, os.fspath(store / "layer"), digest=digest)
    assert_nothing_left(store)
    assert not os.path.lexists("/etc/conman-layer-test")


def odd_member(name: str, pax_name: str | None = None, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = entry(name, kind)
    if pax_name is not None:
        info.pax_headers = {"path": pax_name}
    return tar((info, b""))


GOOD = tar(file("a", b"a" * 5000), file("b", b"b"))
ZSTD = compress(GOOD, "zstd")
BROKEN = [
    ("garbage", b"garbage " * 200, "not a valid tar stream (invalid header)"),
    ("empty", b"", "not a valid tar stream (empty file)"),
    ("truncated-tar", GOOD[:700], "not a valid tar stream (unexpected end of data)"),
    ("truncated-gzip", gzip.compress(GOOD)[:60], "not a valid tar stream (the gzip stream ends early)"),
    ("gzip-without-trailer", gzip.compress(GOOD)[:-4], "not a valid tar stream (the gzip stream ends early)"),
    ("gzip-garbage", b"\x1f\x8bgarbage", "not a valid tar stream (zlib error: Error -3 while decompressing data: unknown compression method)"),
    ("gzip-then-garbage", gzip.compress(GOOD) + b"\0" * 8, "not a valid tar stream (Error -3 while decompressing data: incorrect header check)"),
    ("truncated-zstd", ZSTD[: len(ZSTD) // 2], "not a valid tar stream (zstd failed with exit status 1)"),
    ("zstd-then-garbage", ZSTD + b"garbage", "not a valid tar stream (zstd failed with exit status 1)"),
    ("nul", odd_member("a", "a\0b"), 'member "a\\x00b" has a NUL byte in its name'),
    ("unknown-type", odd_member("odd", kind=b"Z"), 'member "odd" has an unsupported type'),
]  # fmt: skip


@pytest.mark.parametrize(("blob_bytes", "message"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_streams_are_one_line_errors(store: Path, blob_bytes: bytes, message: str) -> None:
    blob, digest = put(store, blob_bytes)
    with pytest.raises(ConmanError, match=f"^{re.escape(f'layer {digest[:19]}: {message}')}$"):
        unpack(blob, os.fspath(store / "layer"), digest=digest)
    assert_nothing_left(store)


def test_without_a_digest_messages_name_the_blob(store: Path) -> None:
    blob, _ = put(store, tar(file("../evil")))
    with pytest.raises(ConmanError, match=r'^layer ".*/blob": member "../evil" leaves the layer$'):
        unpack(blob, os.fspath(store / "layer"))
    assert_nothing_left(store)


HARD_TO_REMOVE = (
    directory("ro", mode=0o555),
    directory("ro/closed", mode=0o000),
    file("ro/closed/f", b"f", mode=0o000),
    file("gone", b"g"),
    whiteout(".wh.gone"),
    file("stop", b"s"),
    file("after", b"a"),
)


@pytest.mark.parametrize("where", ["mid-stream", "after-settling"])
def test_an_interrupt_leaves_nothing(store: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """Ctrl-C while a member is written, or once the directories are read-only, with whiteout
    device nodes in place."""
    original_add, original_settle = layer._Writer.add, layer._Writer.settle

    def add(self: layer._Writer, archive: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        if member.name == "stop" and where == "mid-stream":
            raise KeyboardInterrupt
        original_add(self, archive, member)

    def settle(self: layer._Writer) -> None:
        original_settle(self)
        assert stat.S_IMODE(os.fstat(self.root).st_mode) == 0o755
        raise KeyboardInterrupt

    monkeypatch.setattr(layer._Writer, "add", add)
    monkeypatch.setattr(layer._Writer, "settle", settle)
    blob, digest = put(store, compress(tar(*HARD_TO_REMOVE), "zstd"))
    with pytest.raises(KeyboardInterrupt):
        unpack(blob, os.fspath(store / "layer"), digest=digest)
    assert_nothing_left(store)

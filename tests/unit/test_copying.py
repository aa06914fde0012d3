"""`conman cp`'s path handling without a container: a directory stands for its root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conman_systemd.container.copying import copy_into, open_in_root
from conman_systemd.core.copy import _split
from conman_systemd.errors import ConmanError


@pytest.mark.parametrize(
    ("arg", "split"),
    [("web:/etc/passwd", ("web", "/etc/passwd")), ("web:", ("web", "/")), ("/tmp/x", (None, "/tmp/x")),
     ("./a:b", (None, "./a:b")), ("dir/a:b", (None, "dir/a:b")), ("file", (None, "file"))],
)  # fmt: skip
def test_which_side_is_the_container(arg: str, split: tuple[str | None, str]) -> None:
    assert _split(arg) == split


def test_container_symlinks_resolve_inside_its_root(tmp_path: Path) -> None:
    root, host = tmp_path / "root", tmp_path / "host"
    (root / "etc").mkdir(parents=True)
    host.mkdir()
    (root / "data").symlink_to("/etc")  # absolute: the container's /etc
    (root / "up").symlink_to("../../../host")  # climbing out stops at the root
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        inner = open_in_root(fd, "/data", os.O_RDONLY | os.O_DIRECTORY)
        assert os.readlink(f"/proc/self/fd/{inner}") == str(root / "etc")
        os.close(inner)
        with pytest.raises(ConmanError) as e:
            open_in_root(fd, "/up", os.O_RDONLY | os.O_DIRECTORY)
        assert e.value.message == "/up in the container: No such file or directory"
    finally:
        os.close(fd)
    source = tmp_path / "file"
    source.write_text("x")
    copy_into(str(root), str(source), "/data/")
    assert (root / "etc" / "file").read_text() == "x"


def test_an_existing_symlink_is_never_written_through(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.write_text("untouched")
    (root / "link").symlink_to(str(outside))
    source = tmp_path / "file"
    source.write_text("x")
    with pytest.raises(ConmanError) as e:
        copy_into(str(root), str(source), "/link")
    assert e.value.message == "cannot write link in the container: Too many levels of symbolic links"
    assert outside.read_text() == "untouched"

"""What the store takes as a name, an ID and a safe directory, without systemd."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conman_systemd.container.paths import Paths, is_id, is_name, secure
from conman_systemd.errors import quoted


@pytest.mark.parametrize("text", ["web", "a.b-c_d", "9", "f" * 64, "a" * 128])
def test_names(text: str) -> None:
    assert is_name(text)


@pytest.mark.parametrize(
    "text", ["", "web\n", ".", "..", "-x", "_x", "a/b", "/abs", "a b", "a" * 129, "wéb"]
)
def test_not_names(text: str) -> None:
    assert not is_name(text)


def test_ids_are_64_lower_case_hex_digits() -> None:
    assert is_id("0123456789abcdef" * 4)
    assert not is_id("0123456789ABCDEF" * 4) and not is_id("a" * 63) and not is_id("../" + "a" * 61)


def test_quoted_shows_what_a_user_cannot_see() -> None:
    assert quoted("web") == '"web"'
    assert quoted("web\n") == '"web\\n"'
    assert quoted('a"b\\c\x00') == '"a\\"b\\\\c\\x00"'


def test_secure_closes_the_stores_directories_and_leaves_the_root(tmp_path: Path) -> None:
    paths = Paths(root=os.fspath(tmp_path / "root"), runroot=os.fspath(tmp_path / "run"))
    secure(paths)  # nothing there: nothing made
    assert not (tmp_path / "root").exists()
    (tmp_path / "root").mkdir(mode=0o755)
    for d in ("containers", "images", "names"):
        (tmp_path / "root" / d).mkdir()
        (tmp_path / "root" / d).chmod(0o755)
    secure(paths)
    assert {d.name: d.stat().st_mode & 0o777 for d in (tmp_path / "root").iterdir()} == {
        "containers": 0o700, "images": 0o700, "names": 0o700
    }  # fmt: skip
    assert (tmp_path / "root").stat().st_mode & 0o777 == 0o755

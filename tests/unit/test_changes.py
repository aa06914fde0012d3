"""`conman diff`'s letters from an overlay upper directory, without a mount."""

from __future__ import annotations

import os
from pathlib import Path

from conman_systemd.container.changes import changes


def test_added_changed_and_deleted_as_docker_lists_them(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    (lower / "etc").mkdir(parents=True)
    (lower / "etc" / "motd").write_text("hi")
    (lower / "bin").mkdir()
    (lower / "bin" / "old").write_text("x")
    (lower / "lib").symlink_to("/")  # a path through it is not the image's: no host lookups
    (upper / "etc").mkdir(parents=True)
    (upper / "etc" / "motd").write_text("changed")
    (upper / "etc" / "new").write_text("added")
    (upper / "bin").mkdir()
    os.mknod(upper / "bin" / "old", 0o600 | 0o020000, os.makedev(0, 0))  # a whiteout
    (upper / "lib").mkdir()
    (upper / "lib" / "etc").write_text("not the host's /etc")
    assert changes(str(upper), str(lower)) == [
        ("C", "/bin"), ("D", "/bin/old"), ("C", "/etc"), ("C", "/etc/motd"), ("A", "/etc/new"),
        ("C", "/lib"), ("A", "/lib/etc"),
    ]  # fmt: skip

"""What the packaging tests share: the .deb and the .rpm, built once per session.

Building needs the apt packages in packaging/build-deps.txt; a machine without them fails these
tests (deselect with `-m "not packaging"`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
BUILD_TOOLS = (
    "dpkg-buildpackage",
    "dpkg-deb",
    "dpkg-parsechangelog",
    "dh",
    "dh_python3",
    "rpmbuild",
    "rpmspec",
    "rpm",
)
# Debian's own tools, never a pyenv/venv python3 first on PATH.
CLEAN_ENV = {
    **{k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")},
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
}


@dataclass(frozen=True)
class Deb:
    deb: Path
    changes: Path


@dataclass(frozen=True)
class Rpm:
    out: Path
    rpm: Path
    srpm: Path

    def q(self, *args: str) -> str:
        """`rpm -qp` on the binary rpm, with a throw-away rpmdb (Debian's rpm defaults to ~/.rpmdb)."""
        return run(["rpm", "--dbpath", str(self.out / "rpmdb"), "-qp", *args, str(self.rpm)])


def run(argv: Sequence[str], *, cwd: Path = TOP) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=CLEAN_ENV, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


def _build(script: str, out: Path) -> None:
    log = out / f"{script}.log"
    with log.open("w") as fh:
        proc = subprocess.run(
            [str(TOP / "packaging" / script), str(out)],
            cwd=TOP,
            env=CLEAN_ENV,
            stdout=fh,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=600,
        )
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        pytest.fail(f"packaging/{script} exited {proc.returncode}; last lines of its log:\n{tail}")


def _one(out: Path, pattern: str) -> Path:
    found = sorted(out.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {out}, found {[p.name for p in found]}"
    return found[0]


@pytest.fixture(scope="session")
def out() -> Iterator[Path]:
    """The build output directory, under /var/tmp (never the source tree or /tmp), removed at the end."""
    missing = [t for t in BUILD_TOOLS if shutil.which(t, path=CLEAN_ENV["PATH"]) is None]
    if missing:
        pytest.fail(
            f"packaging tools missing: {', '.join(missing)}; install the apt packages in "
            "packaging/build-deps.txt, or deselect these tests with -m 'not packaging'"
        )
    path = Path(tempfile.mkdtemp(prefix="conman-pkgtest.", dir="/var/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def deb(out: Path) -> Deb:
    _build("build-deb.sh", out)
    return Deb(deb=_one(out, "conman_*_all.deb"), changes=_one(out, "conman_*.changes"))


@pytest.fixture(scope="session")
def rpm(out: Path) -> Rpm:
    _build("build-rpm.sh", out)
    return Rpm(out=out, rpm=_one(out, "conman-*.noarch.rpm"), srpm=_one(out, "conman-*.src.rpm"))

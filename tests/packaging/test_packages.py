"""The .deb and the .rpm: built once per session (packaging/build-deb.sh, build-rpm.sh), inspected only.

The packages are never installed here. Building needs the apt packages in packaging/build-deps.txt;
a machine without dpkg-buildpackage/debhelper/dh-python/rpmbuild fails these tests (deselect with
`-m "not packaging"`). lintian and rpmlint checks skip only when that linter is not installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

import pytest

from tests.packaging.conftest import CLEAN_ENV, TOP, Deb, Rpm, run

pytestmark = pytest.mark.packaging

HINT = " (is every subpackage listed in [tool.setuptools] packages in pyproject.toml?)"
PKG = "conman_systemd"
DEB_SITE = "usr/lib/python3/dist-packages"
RPM_SITE = "/usr/lib/python3.11/site-packages"


def source_modules() -> list[str]:
    """Every module of the package in the source tree (and shim/when.sh, which the units run), as
    paths relative to the package's parent."""
    files = [*(TOP / PKG).rglob("*.py"), *(TOP / PKG).rglob("*.sh")]
    return sorted(str(p.relative_to(TOP)) for p in files if "__pycache__" not in p.parts)


def pyproject_version() -> str:
    with (TOP / "pyproject.toml").open("rb") as fh:
        version = tomllib.load(fh)["project"]["version"]
    assert isinstance(version, str)
    return version


def dep_names(field: str) -> set[str]:
    """Package names of a Depends-style field, without versions or alternatives' extras."""
    return {re.split(r"[\s(:]", d.strip(), maxsplit=1)[0] for d in re.split(r"[,|]", field) if d.strip()}


def test_deb_contents(deb: Deb) -> None:
    listing = run(["dpkg-deb", "-c", str(deb.deb)])
    paths = {line.split()[5].removeprefix("./") for line in listing.splitlines() if line.strip()}
    expected = {
        "usr/bin/conman",
        "lib/systemd/system/conman.slice",
        "lib/systemd/system/conman-restart.service",
        "lib/systemd/system-generators/conman-generator",
        "usr/lib/tmpfiles.d/conman.conf",
        "usr/share/man/man1/conman.1.gz",
        "usr/share/man/man1/conman-run.1.gz",
        "usr/share/man/man1/conman-image-pull.1.gz",
        "usr/share/man/man5/conman.container.5.gz",
        "usr/share/bash-completion/completions/conman",
        "usr/share/zsh/vendor-completions/_conman",
        "usr/share/fish/vendor_completions.d/conman.fish",
        f"{DEB_SITE}/{PKG}-{pyproject_version()}.dist-info/METADATA",
    } | {f"{DEB_SITE}/{m}" for m in source_modules()}
    missing = sorted(expected - paths)
    assert not missing, f"missing from the .deb: {missing}{HINT}"
    assert "usr/bin/conman-shim" not in paths, "the shim is no command of users: the units run it by path"


def test_deb_relationships(deb: Deb) -> None:
    field = run(["dpkg-deb", "-f", str(deb.deb), "Depends"])
    assert {
        "crun",
        "runc",
        "systemd",
        "libsystemd0",
        "python3-click",
        "default-dbus-system-bus",
        "netavark",  # the default network, a bridge: netavark with iptables, aardvark-dns for names
        "aardvark-dns",
        "iptables",
    } <= dep_names(field), field
    assert "python3 (>= 3.11)" in field and "default-dbus-system-bus | dbus-system-bus" in field
    assert "crun | runc" in field, "either runtime will do"
    # The code imports neither: nothing pulls them in (pystemd alone compiled with gcc on every install).
    assert dep_names(run(["dpkg-deb", "-f", str(deb.deb), "Recommends"])) == {
        "busybox-static",
        "catatonit",
        "golang-github-containers-common",
        "systemd-container",
        "skopeo",
        "zstd",
    }
    everything = run(["dpkg-deb", "-f", str(deb.deb), "Depends", "Recommends", "Suggests"])
    assert "jeepney" not in everything and "pystemd" not in everything, everything


def test_deb_maintainer_scripts_keep_containers_on_upgrade(deb: Deb) -> None:
    postinst = run(["dpkg-deb", "-I", str(deb.deb), "postinst"])
    prerm = run(["dpkg-deb", "-I", str(deb.deb), "prerm"])
    postrm = run(["dpkg-deb", "-I", str(deb.deb), "postrm"])
    assert "systemd-tmpfiles" in postinst and "conman.conf" in postinst
    # The slice is static and starts with the first container: starting it at install only
    # printed "conman.slice is a disabled or a static unit".
    assert "deb-systemd-invoke start" not in postinst
    # dh_installsystemd --no-stop-on-upgrade: no restart, and the slice is stopped on remove only.
    assert not re.search(r"(deb-systemd-invoke|systemctl)[^\n]* (try-)?restart ", postinst + prerm)
    assert "deb-systemd-invoke stop conman.slice" in prerm and '"$1" = remove' in prerm
    # remove unloads the units that ended failed; purge takes conman's state, so a reinstall starts empty
    assert "deb-systemd-invoke reset-failed 'conman-*.service'" in postrm
    # conman-restart.service is enabled (containers with a restart policy come back at boot), not started
    assert "deb-systemd-helper enable 'conman-restart.service'" in postinst
    assert 'if [ "$1" = purge ]; then\n    rm -rf /var/lib/conman /run/conman /etc/conman' in postrm


def test_lintian_no_errors(deb: Deb) -> None:
    if shutil.which("lintian", path=CLEAN_ENV["PATH"]) is None:
        pytest.skip("lintian is not installed")
    proc = subprocess.run(
        ["lintian", "--fail-on", "error", str(deb.changes)],
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    found = [line for line in proc.stdout.splitlines() if line.startswith(("E:", "W:"))]
    assert proc.returncode == 0 and found == [], proc.stdout + proc.stderr


def test_rpm_contents(rpm: Rpm) -> None:
    paths = set(rpm.q("-l").split())
    expected = {
        "/usr/bin/conman",
        "/usr/lib/systemd/system/conman.slice",
        "/usr/lib/systemd/system/conman-restart.service",
        "/usr/lib/systemd/system-generators/conman-generator",
        "/usr/lib/tmpfiles.d/conman.conf",
        "/usr/share/man/man1/conman.1.gz",
        "/usr/share/man/man5/conman.container.5.gz",
        "/usr/share/bash-completion/completions/conman",
        "/usr/share/zsh/site-functions/_conman",
        "/usr/share/fish/vendor_completions.d/conman.fish",
        f"{RPM_SITE}/{PKG}-{pyproject_version()}.dist-info/METADATA",
    } | {f"{RPM_SITE}/{m}" for m in source_modules()}
    missing = sorted(expected - paths)
    assert not missing, f"missing from the .rpm: {missing}{HINT}"
    assert "/usr/bin/conman-shim" not in paths, "the shim is no command of users: the units run it by path"


def test_rpm_relationships(rpm: Rpm) -> None:
    lines = [line.strip() for line in rpm.q("--requires").splitlines() if line.strip()]
    assert {"(crun or runc)", "systemd"} <= set(lines), lines
    assert any("dist(click)" in r for r in lines), lines
    assert not any("jeepney" in r or "pystemd" in r for r in lines), lines
    assert rpm.q("--recommends").split() == [
        "busybox",
        "catatonit",
        "containers-common",
        "skopeo",
        "systemd-container",
        "zstd",
    ]
    assert {"dbus", "python3 >= 3.11"} <= set(lines), lines


def test_rpm_scriptlets_keep_containers_on_upgrade(rpm: Rpm) -> None:
    scripts = rpm.q("--scripts")
    assert "install-system-units conman.slice conman-restart.service" in scripts
    assert "remove-system-units conman.slice conman-restart.service" in scripts
    assert "try-restart" not in scripts and "mark-restart" not in scripts


def test_rpmlint_no_errors(rpm: Rpm) -> None:
    if shutil.which("rpmlint", path=CLEAN_ENV["PATH"]) is None:
        pytest.skip("rpmlint is not installed")
    proc = subprocess.run(
        ["rpmlint", "-c", str(TOP / "packaging/rpm/rpmlint.toml"), str(rpm.rpm), str(rpm.srpm)],
        env={**CLEAN_ENV, "HOME": str(rpm.out)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and " 0 errors," in proc.stdout, proc.stdout + proc.stderr


def test_versions_agree(deb: Deb, rpm: Rpm) -> None:
    changelog = TOP / "packaging/debian/changelog"
    spec = TOP / "packaging/rpm/conman.spec"
    versions = {
        "pyproject.toml": pyproject_version(),
        "debian/changelog": run(["dpkg-parsechangelog", "-l", str(changelog), "-S", "Version"]).strip(),
        "conman.spec": run(["rpmspec", "-q", "--srpm", "--qf", "%{version}", str(spec)]).strip(),
        ".deb": run(["dpkg-deb", "-f", str(deb.deb), "Version"]).strip(),
        ".rpm": rpm.q("--qf", "%{VERSION}"),
    }
    init = (TOP / PKG / "__init__.py").read_text()
    if m := re.search(r'^__version__ = "([^"]+)"', init, re.M):
        versions["__version__"] = m[1]
    assert len(set(versions.values())) == 1, versions


@pytest.mark.parametrize("unit", ["conman.slice", "conman-restart.service"])
def test_units_verify(unit: str, tmp_path: Path) -> None:
    # verify wants ExecStart='s program installed: the package's /usr/bin/conman is not, here.
    text = (TOP / "units" / unit).read_text().replace("/usr/bin/conman", "/bin/true")
    (tmp_path / unit).write_text(text)
    proc = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / unit)],
        env=CLEAN_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    # verify exits 0 even on unknown keys; it only warns on stderr.
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stdout + proc.stderr


def test_tmpfiles_snippet_creates_private_dirs() -> None:
    if os.geteuid() != 0:
        pytest.skip("systemd-tmpfiles --create chowns to root: needs root")
    with tempfile.TemporaryDirectory(prefix="conman-tmpfiles.", dir="/var/tmp") as root:
        run(["systemd-tmpfiles", f"--root={root}", "--create", str(TOP / "units/conman.conf")])
        for d in ("run/conman", "var/lib/conman"):
            st = Path(root, d).stat()
            assert (oct(st.st_mode & 0o7777), st.st_uid, st.st_gid) == ("0o700", 0, 0), d

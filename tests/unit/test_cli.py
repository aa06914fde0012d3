"""The CLI in-process: version, errors for non-root users, --dry-run (no root, no systemd)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conman_systemd.container.paths import Paths
from conman_systemd.errors import quoted
from conman_systemd.image.rootfs import build_busybox, import_rootfs
from conman_systemd.image.store import ImageStore

NOT_ROOT = "Error: conman must run as root to manage system containers\nHint: run it with sudo\n"


def conman(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conman_systemd", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)  # fmt: skip


def test_version() -> None:
    assert conman("--version").stdout == "conman, version 0.1.0\n"


def test_conman_alone_prints_its_help() -> None:
    proc = conman()
    assert (proc.returncode, proc.stderr) == (0, "")  # as docker: help is not an error
    assert proc.stdout.startswith("Usage: conman [OPTIONS] COMMAND [ARGS]...\n")
    assert "  run " in proc.stdout


def test_logs_says_what_tail_takes() -> None:
    proc = conman("logs", "--tail=x", "web")
    assert (proc.returncode, proc.stdout) == (125, "")
    assert proc.stderr == 'Error: invalid --tail "x": use a number of lines or all\n'


def test_unknown_command_is_a_usage_error() -> None:
    proc = conman("frobnicate")
    assert proc.returncode == 125
    assert "Error: No such command 'frobnicate'." in proc.stderr


@pytest.mark.parametrize(
    "args", [["ps"], ["run", "busybox", "true"], ["rm", "x"], ["image", "ls"], ["sandbox", "true"]]
)
def test_non_root_users_are_refused(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from conman_systemd.cli.app import cli
    from conman_systemd.errors import ConmanError

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = CliRunner().invoke(cli, args, standalone_mode=False)
    assert isinstance(result.exception, ConmanError)
    message = result.exception.message
    assert message in (
        "conman must run as root to manage system containers",
        "conman sandbox must run as root",
    )
    assert result.exception.exit_code == 125


def store_busybox_image(root: Path) -> None:
    """The busybox image in the store under root, made as `conman image import busybox` makes it."""
    store = ImageStore(Paths(root=os.fspath(root), runroot=os.fspath(root / "run")))
    import_rootfs(store, "busybox", None)


def store_legacy_busybox_image(root: Path) -> None:
    """A busybox:latest image as an older conman stored it: one directory, a name without registry."""
    image = root / "images" / ("c" * 64)
    build_busybox(os.fspath(image / "rootfs"))
    (image / "image.json").write_text(
        json.dumps({"id": "c" * 64, "names": ["busybox:latest"], "created": 0, "size": 1})
    )
    (root / "images/refs").mkdir()
    os.symlink("c" * 64, root / "images/refs/busybox%3Alatest")


def test_an_image_an_older_conman_stored_still_runs(tmp_path: Path) -> None:
    store_legacy_busybox_image(tmp_path)
    proc = conman("--root", os.fspath(tmp_path), "run", "--dry-run", "busybox", "true")
    assert proc.returncode == 0, proc.stderr
    assert "Description=conman container " in proc.stdout and "(busybox:latest)" in proc.stdout
    assert '"io.conman.image": "busybox:latest"' in proc.stdout


def test_dry_run_prints_unit_properties_and_oci_config(tmp_path: Path) -> None:
    store_busybox_image(tmp_path)
    proc = conman("--root", os.fspath(tmp_path), "run", "--dry-run", "--name", "web", "-e", "A=1",
                  "--restart", "on-failure:2", "busybox", "sleep", "10")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    units, _, config = proc.stdout.partition("# OCI config\n")
    lines = units.splitlines()
    assert lines[0] == "# unit properties"
    assert "Description=conman container web (localhost/busybox:latest)" in lines
    assert "Type=notify" in lines and "Delegate=yes" in lines and "Restart=on-failure" in lines
    oci = json.loads(config)
    assert oci["process"]["args"] == ["sleep", "10"]
    assert "A=1" in oci["process"]["env"]
    assert not (tmp_path / "containers").exists()  # a dry run creates nothing


def test_dry_run_names_a_real_time_stop_signal_as_systemd_does(tmp_path: Path) -> None:
    store_busybox_image(tmp_path)
    proc = conman(
        "--root", os.fspath(tmp_path), "run", "--dry-run", "--stop-signal", "40", "busybox", "true"
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert "SuccessExitStatus=168 137 SIGKILL SIGRTMIN+6" in proc.stdout.splitlines()
    assert "KillSignal=40" in proc.stdout.splitlines()


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    """`conman ... | head`: no "Error: Broken pipe", no traceback; 141 as a shell tool ends."""
    store_busybox_image(tmp_path)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    with open(write_end, "wb") as stdout:
        proc = subprocess.run([sys.executable, "-m", "conman_systemd", "--root", os.fspath(tmp_path), "run",
                               "--dry-run", "busybox", "true"], stdout=stdout, stderr=subprocess.PIPE, text=True,
                              check=False)  # fmt: skip
    assert (proc.returncode, proc.stderr) == (141, "")


def test_entries_print_back_as_the_bytes_written() -> None:
    """journald splits lines at NUL and at LineMax and marks a last line without newline: the
    printer gives back what the container wrote, and stamps a line once however many pieces."""
    from io import BytesIO

    from conman_systemd.core.journal import Entry
    from conman_systemd.core.logs import Printer

    out, err = BytesIO(), BytesIO()
    printer = Printer(timestamps=True, out=out, err=err)
    pieces = [(b"a", "nul"), (b"b", None), (b"xx", "line-max"), (b"yy", None), (b"end", "eof")]
    for n, (message, line_break) in enumerate(pieces):
        printer(Entry(message, False, 1_000_000 * n, f"c{n}", line_break))
    printer(Entry(b"oops", True, 5, "c9", None))
    stamp = "1970-01-01T00:00:0{}.000000000Z "
    expected = [
        stamp.format(0) + "a\0",
        stamp.format(1) + "b\n",
        stamp.format(2) + "xxyy\n",
        stamp.format(4) + "end",
    ]
    assert out.getvalue().decode() == "".join(expected)
    assert err.getvalue() == b"1970-01-01T00:00:00.000005000Z oops\n" and printer.cursor == "c9"


@pytest.mark.parametrize(
    "root", ["/var/lib/con$man", "/var/lib/a;b", "/var/lib/50%", "relative", "/a b", "/x\ny"]
)
@pytest.mark.parametrize("command", [["ps"], ["images"]])  # the fast path and click's
def test_a_root_systemd_would_misread_is_refused(root: str, command: list[str]) -> None:
    proc = conman("--root", root, *command)
    assert (proc.returncode, proc.stdout) == (125, "")
    assert proc.stderr == (
        f"Error: invalid --root {quoted(root)}: use an absolute path of letters, digits and /._-+@=,:~\n"
        "Hint: systemd would read the other characters in the unit's command lines\n"
    )
    proc = conman("--runroot", "/run/con man", *command)
    assert proc.stderr.startswith('Error: invalid --runroot "/run/con man": ')


def test_version_names_conman_its_python_and_the_tools() -> None:
    proc = conman("version", "--format", "json")
    versions = json.loads(proc.stdout)
    assert list(versions) == ["conman", "python", "crun", "runc", "skopeo"]
    assert versions["python"] == sys.version.split()[0] and versions["crun"][0].isdigit()
    assert conman("version").stdout.splitlines()[0].startswith("conman:  ")


def test_the_container_group_has_docker_s_verbs() -> None:
    proc = conman("container", "--help")
    for verb in ("ls", "ps", "run", "create", "start", "stop", "rm", "prune", "inspect", "logs", "exec"):
        assert f"\n  {verb} " in proc.stdout, verb
    proc = conman("container", "frobnicate")
    assert proc.returncode == 125 and "No such command 'frobnicate'" in proc.stderr


def test_only_the_journald_log_driver(tmp_path: Path) -> None:
    store_busybox_image(tmp_path)
    ok = conman(
        "--root", os.fspath(tmp_path), "run", "--dry-run", "--log-driver", "journald", "busybox", "true"
    )
    assert ok.returncode == 0, ok.stderr
    proc = conman(
        "--root", os.fspath(tmp_path), "run", "--dry-run", "--log-driver", "json-file", "busybox", "true"
    )
    assert (proc.returncode, proc.stderr) == (125, 'Error: log driver "json-file" is not supported: a container\'s output goes to its unit\'s journal\n'
                                              "Hint: use --log-driver journald (the default), and read it with `conman logs` or journalctl -u\n")  # fmt: skip


def test_port_prints_nothing_until_networks_publish_any(tmp_path: Path) -> None:
    store_busybox_image(tmp_path)
    assert (
        conman("--root", os.fspath(tmp_path), "create", "--name", "web", "busybox", "true").returncode == 0
    )
    proc = conman("--root", os.fspath(tmp_path), "port", "web")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    proc = conman("--root", os.fspath(tmp_path), "port", "web", "80")
    assert (proc.returncode, proc.stderr) == (125, "Error: no public port 80 published for web\n")

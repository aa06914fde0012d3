"""The runtime module: the command lines crun and runc get, and what their errors become."""

from __future__ import annotations

from pathlib import Path

import pytest

from conman_systemd import config
from conman_systemd.container.paths import Paths
from conman_systemd.container.runtime import Runtime, exit_code_for, last_error
from conman_systemd.errors import ConmanError

PATHS = Paths(root="/var/lib/conman", runroot="/run/conman")


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (
            'runc run failed: unable to start container process: exec: "x": executable file not found in $PATH',
            127,
        ),
        ("executable file `x` not found in $PATH: No such file or directory", 127),
        ('exec: "/etc/passwd": permission denied', 126),
        ("open executable: Permission denied", 126),
        ("mount proc to /proc: not a directory", 125),
    ],
)
def test_docker_codes_from_either_runtimes_words(message: str, code: int) -> None:
    assert exit_code_for(message) == code


def test_the_runtimes_last_error_comes_from_its_json_log(tmp_path: Path) -> None:
    log = tmp_path / "runtime.log"
    log.write_text('{"level":"info","msg":"hi"}\n{"msg":"first","level":"error"}\n'
                   '{"level":"fatal","msg":"last words"}\nnot json\n')  # fmt: skip
    assert last_error(str(log)) == ""  # a log that is not all JSON says nothing reliable
    log.write_text(
        '{"level":"info","msg":"hi"}\n{"msg":"first","level":"error"}\n{"level":"fatal","msg":"last"}\n'
    )
    assert last_error(str(log)) == "last"
    assert last_error(str(tmp_path / "missing")) == ""


def test_a_failure_carries_the_runtimes_name_and_docker_code(tmp_path: Path) -> None:
    log = tmp_path / "log"
    log.write_text('{"msg":"open executable: Permission denied","level":"error"}\n')
    error = Runtime("crun", PATHS).failure(str(log), 1, "run")
    assert (error.message, error.exit_code) == ("crun: open executable: Permission denied", 126)
    silent = Runtime("runc", PATHS).failure(str(tmp_path / "none"), 2, "create")
    assert (silent.message, silent.exit_code) == ("runc: create failed with exit status 2", 125)


def test_exec_command_lines() -> None:
    argv = Runtime("crun", PATHS).exec_argv("c1", ["sh", "-c", "x"], "/l", tty=True, detach=False,
                                            env=["A=1"], workdir="/w", user=(1, 2))  # fmt: skip
    assert argv == ["crun", "--root", "/run/conman/crun", "--log", "/l", "--log-format", "json", "exec",
                    "--tty", "--env", "A=1", "--cwd", "/w", "--user", "1:2", "c1", "sh", "-c", "x"]  # fmt: skip
    detached = Runtime("runc", PATHS).exec_argv("c1", ["true"], "/l", tty=True, detach=True, env=[],
                                                workdir=None, user=None)  # fmt: skip
    assert detached[-4:] == ["exec", "--detach", "c1", "true"]


def test_the_default_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "conman.conf"
    monkeypatch.setenv("CONMAN_CONFIG", str(conf))
    monkeypatch.delenv("CONMAN_RUNTIME", raising=False)
    conf.write_text("# the runtime conman uses\nruntime = runc  # measured\n")
    assert config.default_runtime() == "runc"
    monkeypatch.setenv("CONMAN_RUNTIME", "crun")
    assert config.default_runtime() == "crun"
    monkeypatch.delenv("CONMAN_RUNTIME")
    conf.write_text("runtime = kata\n")
    with pytest.raises(ConmanError, match='invalid runtime "kata": use crun or runc'):
        config.default_runtime()
    conf.write_text("\nruntim = crun\n")
    with pytest.raises(ConmanError, match=f"{conf} line 2: unknown key 'runtim'") as e:
        config.default_runtime()
    assert e.value.hint == "known keys: runtime, log_rate_limit, network"
    conf.write_text("crun\n")
    with pytest.raises(ConmanError, match=f"{conf} line 1: not a key = value line"):
        config.default_runtime()


def test_without_a_choice_crun_wins_when_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONMAN_CONFIG", str(tmp_path / "none.conf"))
    monkeypatch.delenv("CONMAN_RUNTIME", raising=False)
    for name in ("crun", "runc"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert config.default_runtime() == "crun"
    (tmp_path / "crun").unlink()
    assert config.default_runtime() == "runc"
    (tmp_path / "runc").unlink()
    with pytest.raises(ConmanError, match="no OCI runtime is installed"):
        config.default_runtime()

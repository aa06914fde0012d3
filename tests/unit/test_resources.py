"""Resource flags without systemd: docker's values in, the unit's properties out (--dry-run), and
every bad value's one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conman_systemd.core.resource_options import parse_size
from tests.unit.test_cli import conman, store_busybox_image


@pytest.mark.parametrize(
    ("text", "size"),
    [("512", 512), ("10b", 10), ("4k", 4096), ("32m", 32 << 20), ("32MB", 32 << 20), ("1.5g", 3 << 29),
     ("1t", 1 << 40)],
)  # fmt: skip
def test_sizes_as_docker_reads_them(text: str, size: int) -> None:
    assert parse_size(text) == size


def _dry_run(tmp_path: Path, *flags: str) -> list[str]:
    store_busybox_image(tmp_path)
    proc = conman(
        "--root", os.fspath(tmp_path), "run", "--dry-run", "--name", "web", *flags, "busybox", "true"
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.partition("# OCI config\n")[0].splitlines()


def test_resource_flags_become_the_unit_s_properties(tmp_path: Path) -> None:
    lines = _dry_run(tmp_path, "--memory", "32m", "--memory-reservation", "16m", "--memory-swap", "64m",
                     "--cpus", "1.5", "--cpu-shares", "512", "--pids-limit", "20", "--blkio-weight", "500",
                     "--device-write-bps", "/dev/sda:1mb")  # fmt: skip
    for line in ("MemoryMax=33554432", "MemoryLow=16777216", "MemorySwapMax=33554432",
                 "CPUQuotaPerSecUSec=1500000", "CPUWeight=20", "TasksMax=20", "IOWeight=5000",
                 "IOWriteBandwidthMax=/dev/sda 1048576"):  # fmt: skip
        assert line in lines, lines


def test_docker_s_short_resource_flags(tmp_path: Path) -> None:
    lines = _dry_run(tmp_path, "-m", "32m", "-c", "512")
    assert "MemoryMax=33554432" in lines and "CPUWeight=20" in lines, lines


def test_defaults_bound_processes_and_name_the_container_in_the_journal(tmp_path: Path) -> None:
    lines = _dry_run(tmp_path)
    assert "TasksMax=2048" in lines  # podman's default; systemd's would be close to pid_max
    assert not [line for line in lines if line.startswith(("MemoryMax", "CPUQuota", "CPUWeight"))]
    fields = next(line for line in lines if line.startswith("LogExtraFields="))
    assert " CONTAINER_NAME=web " in fields and " IMAGE_NAME=localhost/busybox:latest" in fields


def test_unlimited_pids_and_swap(tmp_path: Path) -> None:
    lines = _dry_run(tmp_path, "--pids-limit", "-1", "--memory", "32m", "--memory-swap", "-1")
    assert "TasksMax=infinity" in lines and "MemorySwapMax=infinity" in lines


BAD = [
    (("--memory", "12q"), 'invalid size "12q" for --memory: use a number and b, k, m or g, e.g. 512m'),
    (("--memory", "1m"), 'invalid --memory "1m": the minimum is 6m'),
    (("--cpus", "0"), f'invalid --cpus "0": use a number from 0.01 to {os.cpu_count()} (the CPUs here)'),
    (("--cpus", "-1"), f'invalid --cpus "-1": use a number from 0.01 to {os.cpu_count()} (the CPUs here)'),
    (("--cpu-shares", "1"), "invalid --cpu-shares 1: use 2 to 262144 (1024 is a default share)"),
    (("--cpu-weight", "0"), "invalid --cpu-weight 0: use 1 to 10000 (100 is a default share)"),
    (("--cpu-shares", "512", "--cpu-weight", "50"),
     "--cpu-shares and --cpu-weight set the same weight: give one of them"),
    (("--cpuset-cpus", "3-1"), 'invalid --cpuset-cpus "3-1": use CPU numbers and ranges, e.g. 0-3,5'),
    (("--pids-limit", "-5"), "invalid --pids-limit -5: use a positive number, or -1 for no limit"),
    (("--blkio-weight", "5"), "invalid --blkio-weight 5: use 10 to 1000"),
    (("--device-read-bps", "sda:1mb"), 'invalid device rate "sda:1mb": use /dev/DEVICE:RATE, e.g. /dev/sda:10mb'),
    (("--memory-swap", "64m"), "--memory-swap needs --memory: it limits memory and swap together"),
    (("--memory", "64m", "--memory-swap", "32m"),
     "--memory-swap must be at least --memory: it limits memory and swap together"),
    (("--memory", "32m", "--memory-reservation", "64m"), "--memory-reservation must not exceed --memory"),
]  # fmt: skip


@pytest.mark.parametrize(("flags", "message"), BAD)
def test_a_bad_resource_value_is_one_line_and_creates_nothing(
    tmp_path: Path, flags: tuple[str, ...], message: str
) -> None:
    store_busybox_image(tmp_path)
    proc = conman("--root", os.fspath(tmp_path), "create", *flags, "busybox", "true")
    assert (proc.returncode, proc.stdout, proc.stderr) == (125, "", f"Error: {message}\n")
    assert not (tmp_path / "containers").exists() or not os.listdir(tmp_path / "containers")


def test_update_needs_a_flag(tmp_path: Path) -> None:
    proc = conman("--root", os.fspath(tmp_path), "update", "web")
    assert (proc.returncode, proc.stderr) == (
        125, "Error: nothing to update\nHint: give a resource flag, e.g. --memory 512m (see --help)\n"
    )  # fmt: skip


def test_the_log_rate_limit(tmp_path: Path) -> None:
    assert "LogRateLimitBurst=10000" in _dry_run(
        tmp_path
    ) and "LogRateLimitIntervalUSec=10000000" in _dry_run(tmp_path)
    lines = _dry_run(tmp_path, "--log-rate-limit", "500/1m")
    assert "LogRateLimitBurst=500" in lines and "LogRateLimitIntervalUSec=60000000" in lines
    lines = _dry_run(tmp_path, "--log-rate-limit", "none")
    assert "LogRateLimitBurst=100000000" in lines and "LogRateLimitIntervalUSec=1000000" in lines
    config = tmp_path / "conman.conf"
    config.write_text("log_rate_limit = 20/1s\n")
    store_busybox_image(tmp_path)
    proc = conman("--root", os.fspath(tmp_path), "run", "--dry-run", "busybox", "true",
                  env={"CONMAN_CONFIG": os.fspath(config)})  # fmt: skip
    assert "LogRateLimitBurst=20" in proc.stdout.splitlines(), proc.stderr
    for bad in ("10", "0/1s", "10/0s", "x/1s", "10/2h"):
        proc = conman(
            "--root", os.fspath(tmp_path), "run", "--dry-run", "--log-rate-limit", bad, "busybox", "true"
        )
        assert (proc.returncode, proc.stderr) == (
            125, f'Error: invalid --log-rate-limit "{bad}": use LINES/INTERVAL, e.g. 10000/10s, or none\n'
        )  # fmt: skip

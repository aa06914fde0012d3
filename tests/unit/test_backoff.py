"""Restart back-off, docker's: 100 ms doubling to a minute after quick exits in a row."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conman_systemd.container.paths import Paths, write_record
from conman_systemd.container.spec import ContainerSpec
from conman_systemd.shim import backoff


def test_the_delay_doubles_from_systemd_s_100_ms_to_a_minute() -> None:
    assert [backoff.delay(n) for n in range(5)] == [0.0, 0.1, 0.2, 0.4, 0.8]
    assert backoff.delay(10) == 51.2 and backoff.delay(11) == backoff.delay(99) == 60.0


def _setup(tmp_path: Path, restart: str = "always") -> tuple[Paths, ContainerSpec]:
    paths = Paths(root=os.fspath(tmp_path), runroot=os.fspath(tmp_path / "run"))
    spec = ContainerSpec(id="a" * 64, name="c", image="i", image_id="b" * 64, rootfs="/r", command=("x",),
                         restart=restart)  # type: ignore[arg-type]  # fmt: skip
    os.makedirs(paths.container(spec.id))
    return paths, spec


def _record(paths: Paths, spec: ContainerSpec) -> dict[str, float] | None:
    try:
        data: dict[str, float] = json.loads(Path(paths.record(spec.id, "backoff")).read_text())
    except FileNotFoundError:
        return None
    return data


def test_quick_exits_in_a_row_count_and_a_long_run_starts_again(tmp_path: Path) -> None:
    paths, spec = _setup(tmp_path)
    for n in (1, 2, 3):
        write_record(paths, spec.id, "started", started_at=1000.0 * n, pid=1)
        backoff.count_exit(paths, spec, 1000.0 * n + 1)
        assert _record(paths, spec) == {"failures": n, "delay": backoff.delay(n)}
    write_record(paths, spec.id, "started", started_at=5000.0, pid=1)
    backoff.count_exit(paths, spec, 5000.0 + backoff.QUICK)
    assert _record(paths, spec) == {"failures": 0, "delay": 0.0}


def test_a_stop_someone_asked_for_clears_it(tmp_path: Path) -> None:
    paths, spec = _setup(tmp_path)
    write_record(paths, spec.id, "started", started_at=1.0, pid=1)
    backoff.count_exit(paths, spec, 2.0)
    backoff.stop_requested(paths, spec.id)
    backoff.count_exit(paths, spec, 3.0)
    assert _record(paths, spec) is None and not os.path.exists(paths.record(spec.id, "stop-requested"))


def test_no_restart_policy_no_back_off(tmp_path: Path) -> None:
    paths, spec = _setup(tmp_path, restart="no")
    write_record(paths, spec.id, "started", started_at=1.0, pid=1)
    backoff.count_exit(paths, spec, 2.0)
    assert _record(paths, spec) is None

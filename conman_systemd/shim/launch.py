"""Starting the container with journald streams as its stdio, and telling systemd it runs: what
the hand-over (start.py) and a shim that stays (notify_proxy.py) share."""

from __future__ import annotations

import os

from conman_systemd import fastjson, runner
from conman_systemd.container.paths import Paths, record_start, write_atomic
from conman_systemd.container.runtime import Runtime
from conman_systemd.container.spec import ContainerSpec
from conman_systemd.shim import systemd_io

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


def create_and_start(paths: Paths, spec: ContainerSpec) -> int:
    """The container started with journald streams as stdout and stderr; its init's pid."""
    out = systemd_io.journal_stream(spec.name, spec.unit, systemd_io.PRIORITY_INFO)
    err = systemd_io.journal_stream(spec.name, spec.unit, systemd_io.PRIORITY_ERR)
    try:
        runtime = Runtime(spec.runtime, paths)
        runtime.create(spec.id, (runner.DEVNULL, out, err))
    finally:
        os.close(out)
        os.close(err)
    runtime.start(spec.id)
    return record_start(paths, spec.id)


def say_ready(spec: ContainerSpec, pid: int) -> None:
    """READY=1 first, while we are the (live) main process: the start job is then done whatever
    the container does next. Sent together with MAINPID, a container that exits at once can make
    systemd see a dead main process at READY and fail the start."""
    systemd_io.notify(f"READY=1\nSTATUS=container {spec.name} is running (init pid {pid})")
    systemd_io.notify_barrier()


def edit_oci_config(paths: Paths, spec: ContainerSpec, change: Callable[[dict[str, Any]], None]) -> None:
    """What only the start knows, into the OCI config the CLI wrote (before the runtime reads it)."""
    with open(paths.oci_config(spec.id)) as f:
        config = fastjson.loads(f.read())
    change(config)
    write_atomic(paths.oci_config(spec.id), fastjson.dumps(config))

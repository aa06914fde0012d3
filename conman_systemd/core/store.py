"""Where a container's state lives, and the records that must outlive its unit.

`--root` (default /var/lib/conman) keeps what must survive a reboot or a unit's garbage
collection: the spec, the name, the writable layer, the start, exit and error records.
`--runroot` (default /run/conman) keeps what dies with the machine: the OCI bundle, the rootfs
mount, runc's own state. Every record is written atomically (write, fsync, rename): a crash leaves
the old record or the new one, never half of one. Stdlib only (the shim uses it).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any


def write_atomic(path: str, text: str, mode: int = 0o600) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path) as f:
            data = json.load(f)
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Paths:
    root: str
    runroot: str

    @property
    def containers(self) -> str:
        return os.path.join(self.root, "containers")

    @property
    def names(self) -> str:
        return os.path.join(self.root, "names")

    @property
    def images(self) -> str:
        return os.path.join(self.root, "images")

    @property
    def runc_root(self) -> str:
        return os.path.join(self.runroot, "runc")

    def container(self, cid: str) -> str:
        return os.path.join(self.containers, cid)

    def spec(self, cid: str) -> str:
        return os.path.join(self.container(cid), "config.json")

    def upper(self, cid: str) -> str:
        return os.path.join(self.container(cid), "upper")

    def work(self, cid: str) -> str:
        return os.path.join(self.container(cid), "work")

    def record(self, cid: str, kind: str) -> str:
        """kind: "started", "exit" or "error"."""
        return os.path.join(self.container(cid), f"{kind}.json")

    def lock(self, cid: str) -> str:
        return os.path.join(self.container(cid), "lock")

    def run_dir(self, cid: str) -> str:
        return os.path.join(self.runroot, cid)

    def bundle(self, cid: str) -> str:
        return os.path.join(self.run_dir(cid), "bundle")

    def rootfs(self, cid: str) -> str:
        return os.path.join(self.bundle(cid), "rootfs")

    def stop_timeout(self, cid: str) -> str:
        return os.path.join(self.run_dir(cid), "stop-timeout")

    def name_link(self, name: str) -> str:
        return os.path.join(self.names, name)


def write_record(paths: Paths, cid: str, kind: str, **fields: Any) -> None:
    write_atomic(paths.record(cid, kind), json.dumps(fields))


def read_record(paths: Paths, cid: str, kind: str) -> dict[str, Any] | None:
    return read_json(paths.record(cid, kind))

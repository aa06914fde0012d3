"""flock(2) on a lock file, shared or exclusive, held inside a `with` block (a holder that crashes
releases it). Stdlib only."""

from __future__ import annotations

import fcntl
import os


class FileLock:
    def __init__(self, path: str, shared: bool = False) -> None:
        self.path, self.shared, self.fd = path, shared, -1

    def __enter__(self) -> None:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        os.close(self.fd)

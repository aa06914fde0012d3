"""What the container commands share: the root check and a session with the store and systemd."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from conman_systemd.cli import App
from conman_systemd.core.containers import Store
from conman_systemd.core.lifecycle import Lifecycle
from conman_systemd.errors import ConmanError


def require_root() -> None:
    if os.geteuid() != 0:
        raise ConmanError("conman must run as root to manage system containers", hint="run it with sudo")


@contextmanager
def session(app: App) -> Iterator[Lifecycle]:
    require_root()
    from conman_systemd.dbus.bus import Bus

    with Bus() as bus:
        yield Lifecycle(Store(app.paths), bus)

"""What the container commands share: the root check and a session with the store and systemd."""

from __future__ import annotations

import os
from contextlib import contextmanager

from conman_systemd.core.containers import Store
from conman_systemd.core.lifecycle import Lifecycle
from conman_systemd.dbus.systemd import Systemd
from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from conman_systemd.cli import App


def require_root() -> None:
    if os.geteuid() != 0:
        raise ConmanError("conman must run as root to manage system containers", hint="run it with sudo")


@contextmanager
def session(app: App) -> Iterator[Lifecycle]:
    """A Lifecycle over one connection to systemd, for the length of a `with` block."""
    require_root()
    with Systemd.connect() as systemd:
        yield Lifecycle(Store(app.paths), systemd)

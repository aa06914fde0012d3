"""What the container commands share: the root check and a session with the store and systemd."""

from __future__ import annotations

import os

from conman_systemd.container.paths import secure
from conman_systemd.core.containers import Store
from conman_systemd.core.lifecycle import Lifecycle
from conman_systemd.dbus.systemd import Systemd
from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conman_systemd.cli import App


def require_root() -> None:
    if os.geteuid() != 0:
        raise ConmanError("conman must run as root to manage system containers", hint="run it with sudo")


class session:  # noqa: N801 (used as a function: `with session(app) as lc`)
    """A Lifecycle over one connection to systemd, for the length of a `with` block. A class, not
    contextlib's decorator: contextlib and the collections it imports cost every command ~1.5 ms."""

    def __init__(self, app: App) -> None:
        require_root()
        secure(app.paths)  # an older conman or a hand-made --root may have left them open
        self.store = Store(app.paths)

    def __enter__(self) -> Lifecycle:
        self.systemd = Systemd.connect()
        return Lifecycle(self.store, self.systemd)

    def __exit__(self, *_: object) -> None:
        self.systemd.close()

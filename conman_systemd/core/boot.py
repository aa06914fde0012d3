"""At boot: the containers whose restart policy brings them back, as docker's daemon restarts
them when it starts. conman has no daemon: conman-restart.service runs `conman system boot`.

`always` comes back even when a user stopped it (docker's rule); `unless-stopped` only when no
user stopped it (a stop at shutdown is not a user's). Declared containers are not started here:
their units start at boot by their definitions' [Install] section.
"""

from __future__ import annotations

import os

from conman_systemd.container.paths import USER_STOPPED
from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from conman_systemd.container.paths import Paths
    from conman_systemd.container.spec import ContainerSpec
    from conman_systemd.core.lifecycle import Lifecycle


def comes_back(paths: Paths, spec: ContainerSpec) -> bool:
    if spec.declared:
        return False
    if spec.restart == "always":
        return True
    return spec.restart == "unless-stopped" and not os.path.exists(paths.record(spec.id, USER_STOPPED))


def start_at_boot(lc: Lifecycle, say: Callable[[str], None], warn: Callable[[str], None]) -> int:
    """Start each such container that is not running, oldest first; the number that failed."""
    failed = 0
    for spec in reversed(lc.store.all()):
        if not comes_back(lc.paths, spec):
            continue
        try:
            with lc.store.locked(spec):
                if lc.running(spec):
                    continue
                lc.start(spec)
        except ConmanError as e:
            warn(f"Error: container {spec.name} did not start: {e.message}")
            failed += 1
            continue
        say(spec.name)
    return failed

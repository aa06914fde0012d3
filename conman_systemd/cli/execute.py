"""`conman exec` (a table-command handler: the fast path runs it without click)."""

from __future__ import annotations

import os

from conman_systemd.cli.common import session

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.cli import App


def exec_(app: App, values: dict[str, Any]) -> int:
    """Run a new process in a running container (a table-command handler)."""
    from conman_systemd.cli.run import check_terminal
    from conman_systemd.core import options
    from conman_systemd.core.execute import execute
    from conman_systemd.core.flags import EXEC, typed

    v = typed(EXEC, values)
    if not v["detach"]:
        check_terminal(v["interactive"], v["tty"])
    env = options.parse_env(v["env"], (), os.environ)
    with session(app) as lc:
        spec = lc.store.resolve(v["container"])
        user = options.parse_user(v["user"], spec.rootfs) if v["user"] else None
        return execute(lc, spec, v["command"], interactive=v["interactive"], tty=v["tty"],
                       detach=v["detach"], env=env, workdir=v["workdir"], user=user)  # fmt: skip

"""`conman run` and `conman create` (handlers: the fast path and click both call them)."""

from __future__ import annotations

import os

from conman_systemd.cli.common import require_root, session
from conman_systemd.core.containers import Store
from conman_systemd.core.create import build_spec, run_options
from conman_systemd.errors import ConmanError
from conman_systemd.image.store import ImageStore
from conman_systemd.log import debug_enabled

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.cli import App
    from conman_systemd.container.spec import ContainerSpec


def check_terminal(interactive: bool, tty: bool) -> None:
    if tty and interactive and not os.isatty(0):
        raise ConmanError("the input device is not a TTY", hint="drop -t, or run conman from a terminal")


def _dry_run(app: App, spec: ContainerSpec) -> None:
    import json

    from conman_systemd.container import oci
    from conman_systemd.core import unit

    print("# unit properties")
    print(unit.render(unit.properties(spec, app.paths)))
    print("# OCI config")
    print(json.dumps(oci.config(spec, app.paths), indent=2))


def run(app: App, values: dict[str, Any]) -> int:
    """Run a command in a new container, as the transient unit conman-<id>.service."""
    from conman_systemd.core.detach_keys import parse_detach_keys
    from conman_systemd.core.run import run as run_container

    opts = run_options("run", values)
    keys = parse_detach_keys(values["detach_keys"])
    from conman_systemd.core.options import parse_stream

    streams = frozenset(map(parse_stream, values.get("attach") or ()))
    if streams and opts.detach:
        raise ConmanError("conflicting options: -a and -d", hint="-a picks a foreground run's streams")
    if not opts.detach:
        check_terminal(opts.interactive, opts.tty)
    if not values["dry_run"]:
        require_root()
    spec = build_spec(opts, ImageStore(app.paths))
    if values["dry_run"]:
        _dry_run(app, spec)
        return 0
    try:
        with session(app) as lc:
            code = run_container(
                lc,
                spec,
                detach=opts.detach,
                detach_keys=keys,
                sig_proxy=values["sig_proxy"],
                streams=streams,
            )
    finally:
        if debug_enabled():
            from conman_systemd.core.logs import print_shim_lines

            print_shim_lines(spec.unit)
    if code is None and opts.detach:
        print(spec.id, flush=True)
    return code or 0


def create(app: App, values: dict[str, Any]) -> int:
    """Create a container without starting it; prints its ID."""
    from conman_systemd.container.paths import secure

    require_root()
    secure(app.paths)  # as session() does for the others
    spec = build_spec(run_options("create", values), ImageStore(app.paths))
    spec = Store(app.paths).create(spec)  # systemd hears of it at its first start
    print(spec.id)
    return 0

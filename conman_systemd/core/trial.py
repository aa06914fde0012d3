"""A trial container for `conman system check`: that a container can really start here proves
what the parts cannot (a seccomp filter that makes every runtime fail, a cgroup tree systemd
cannot delegate, a read-only state directory). `true` in busybox with --rm and no network: the
path every `conman run` takes, leaving nothing behind (the busybox image too, if the trial made it).
"""

from __future__ import annotations

import os
import time

from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conman_systemd.container.paths import Paths

IMAGE = "busybox"


def trial_start(paths: Paths) -> tuple[str, str | None]:
    """(what the trial showed, the problem that blocks containers, or None)."""
    from conman_systemd.image import rootfs
    from conman_systemd.image.store import ImageStore

    images = ImageStore(paths)
    had_image = images.find(IMAGE) is not None
    if not had_image and not os.access(rootfs.BUSYBOX, os.X_OK):
        return "not tried", (
            f"no busybox image to try a container with: install busybox-static or `conman pull {IMAGE}`"
        )
    try:
        return _run_true(paths)
    except ConmanError as e:
        return "failed", f"a container cannot start here: {e.message}" + _other_runtime(paths)
    finally:
        if not had_image and images.find(IMAGE) is not None:
            from conman_systemd.image.removal import remove

            remove(images, IMAGE, [], force=True)


def _other_runtime(paths: Paths) -> str:
    """When the default runtime fails and the other one works, the way out (crun cannot load its
    cgroup v2 device filter where bpf() is refused and root lacks CAP_SYS_RESOURCE; runc can)."""
    from conman_systemd import runner
    from conman_systemd.config import CONFIG_FILE, default_runtime
    from conman_systemd.container.spec import RUNTIMES

    other = next(r for r in RUNTIMES if r != default_runtime())
    if runner.find_binary(other) is None:
        return ""
    try:
        _run_true(paths, other)
    except ConmanError:
        return ""
    return f"; it starts with {other}: set `runtime = {other}` in {CONFIG_FILE}"


def _run_true(paths: Paths, runtime: str | None = None) -> tuple[str, str | None]:
    from conman_systemd.container.paths import secure
    from conman_systemd.core.containers import Store
    from conman_systemd.core.create import build_spec, run_options
    from conman_systemd.core.lifecycle import Lifecycle
    from conman_systemd.core.run import run
    from conman_systemd.dbus.systemd import Systemd
    from conman_systemd.image.store import ImageStore

    secure(paths)
    values = {"image": IMAGE, "command": ("true",), "rm": True, "network": "none", "runtime": runtime,
              "name": f"conman-check-{os.urandom(4).hex()}"}  # fmt: skip
    spec = build_spec(run_options("run", values), ImageStore(paths))
    began = time.monotonic()
    with Systemd.connect() as systemd:
        code = run(Lifecycle(Store(paths), systemd), spec, detach=False, detach_keys=b"", sig_proxy=False)
    took = (time.monotonic() - began) * 1000
    if code != 0:
        return "failed", f"a trial container (busybox true) exited with code {code}"
    return f"ok (busybox true with {spec.runtime} ran in {took:.0f} ms)", None

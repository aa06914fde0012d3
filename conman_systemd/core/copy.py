"""`conman cp` as one use case: which side is the container, its root (live or mounted for the
copy), then container/copying.py does the copying safely."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from conman_systemd import runner
from conman_systemd.container import copying, mounts
from conman_systemd.container.spec import ContainerSpec
from conman_systemd.core.lifecycle import Lifecycle
from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def _split(arg: str) -> tuple[str | None, str]:
    """CONTAINER:PATH -> (container, path); a host path (absolute, ./x, or without ':') -> (None, arg)."""
    head, colon, path = arg.partition(":")
    if not colon or "/" in head or arg.startswith("."):
        return None, arg
    return head, path or "/"


def _with_root(lc: Lifecycle, spec: ContainerSpec, work: Callable[[str], None]) -> None:
    """work(root) where the container's file system is whole: its live mount while it runs, else
    its overlay mounted in a private mount namespace (writes reach its writable layer)."""
    paths = lc.paths
    if lc.running(spec):
        work(paths.rootfs(spec.id))
        return
    os.makedirs(paths.runroot, mode=0o700, exist_ok=True)
    target = tempfile.mkdtemp(prefix="cp-", dir=paths.runroot)
    try:
        copying.in_private_namespace(
            lambda: mounts.mount_container(paths, spec, target), lambda: work(target)
        )
    finally:
        os.rmdir(target)


def copy(lc: Lifecycle, source: str, destination: str) -> None:
    (src_ctr, src), (dst_ctr, dst) = _split(source), _split(destination)
    if (src_ctr is None) == (dst_ctr is None):
        raise ConmanError("cp copies between a container and the host: one side must be CONTAINER:PATH")
    name = src_ctr or dst_ctr
    assert name is not None
    spec = lc.store.resolve(name)
    with lc.store.locked(spec):
        if dst_ctr is not None:
            _with_root(lc, spec, lambda root: copying.copy_into(root, os.path.abspath(src), dst))
        else:
            _copy_out(lc, spec, src, dst)


def _copy_out(lc: Lifecycle, spec: ContainerSpec, inside: str, dest: str) -> None:
    fd, archive = tempfile.mkstemp(prefix="cp-", suffix=".tar", dir=lc.paths.runroot)
    os.close(fd)

    def tar_out(root: str) -> None:
        argv, kept = copying.tar_out_argv(root, inside)
        with open(archive, "wb") as f:
            runner.run(argv, show=f.fileno())
        os.close(kept)

    try:
        _with_root(lc, spec, tar_out)
        if dest == "-":
            with open(archive, "rb") as f:
                shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)
            return
        _extract(archive, os.path.basename(inside.rstrip("/")) or ".", dest)
    finally:
        os.unlink(archive)


def _extract(archive: str, name: str, dest: str) -> None:
    """docker's rule: into dest when it is a directory, else as dest."""
    if os.path.isdir(dest):
        runner.run(["tar", "-C", dest, "--no-same-owner", "-xf", archive])
        return
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise ConmanError(f"{parent}: no such directory")
    staging = tempfile.mkdtemp(prefix=".conman-cp-", dir=parent)
    try:
        runner.run(["tar", "-C", staging, "--no-same-owner", "-xf", archive])
        os.replace(os.path.join(staging, name), dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

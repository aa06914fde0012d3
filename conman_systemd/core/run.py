"""`conman run` as one use case: create -> start -> follow -> removed (with --rm, by its unit)."""

from __future__ import annotations

from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conman_systemd.container.spec import ContainerSpec
    from conman_systemd.core.lifecycle import Lifecycle


def run(
    lc: Lifecycle,
    spec: ContainerSpec,
    *,
    detach: bool,
    detach_keys: bytes,
    sig_proxy: bool,
    streams: frozenset[str] = frozenset(),
) -> int | None:
    """Run the container; its exit code, or None when it runs on (detached, or the user detached).

    A container that never started leaves nothing behind. Whoever waits, --rm is the unit's job
    (spec.remove_on_exit): the container goes when it ends, even when its client is gone.
    """
    spec = lc.store.create(spec)
    try:
        watch = lc.start(spec, new=True)
    except (ConmanError, KeyboardInterrupt):
        lc.remove(spec, force=True, volumes=True)  # made for this run
        raise
    if detach:
        return None
    # A foreground run only: following takes the journal reader (ctypes) and the attach client.
    from conman_systemd.core.attaching import stay_attached

    # -a: the streams named, only (none named: all three).
    stdin = not streams or "stdin" in streams
    outputs = streams - {"stdin"} if streams else frozenset({"stdout", "stderr"})
    return stay_attached(lc, spec, watch, detach_keys, stdin=stdin, sig_proxy=sig_proxy, from_start=True,
                         outputs=outputs)  # fmt: skip

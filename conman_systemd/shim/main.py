"""conman-shim: the unit's ExecStart, ExecStop and ExecStopPost, and the IO server of -i/-t.

Stdlib only and light: it runs on every container start. Nothing on the CLI's side imports it; the
CLI and the shim share only conman_systemd.container (spec, paths, runtime, OCI config).

  start   ID   mount the rootfs, start the container, hand MAINPID over (or serve its stdio)
  stop    ID   the stop signal, --stop-timeout, then SIGKILL
  cleanup ID   record the exit, release the run, apply --rm and on-failure:N
  io ...       the IO server an interactive start execs into (see io_server.py)
"""

from __future__ import annotations

import time

from conman_systemd import log
from conman_systemd.container.paths import Paths, write_record
from conman_systemd.container.spec import ContainerSpec
from conman_systemd.errors import EXIT_ENGINE, ConmanError
from conman_systemd.shim import systemd_io

USAGE = "usage: conman-shim start|stop|cleanup --root DIR --runroot DIR ID"


def main(argv: list[str]) -> int:
    if argv[:1] == ["io"]:
        from conman_systemd.shim.io_server import main as io_main

        return io_main(argv[1:])
    if (
        len(argv) != 6
        or argv[0] not in ("start", "stop", "cleanup")
        or argv[1::2][:2] != ["--root", "--runroot"]
    ):
        systemd_io.journal_send(USAGE, systemd_io.PRIORITY_ERR, SYSLOG_IDENTIFIER="conman-shim")
        return 2
    verb, root, runroot, cid = argv[0], argv[2], argv[4], argv[5]
    paths = Paths(root=root, runroot=runroot)
    if log.debug_enabled():
        log.set_sink(lambda message: _say(cid, f"conman: {message}", 7))
        log.debug(f"shim: {verb} {cid}")
    try:
        with open(paths.spec(cid)) as f:
            spec = ContainerSpec.from_json(f.read())
        return _run(verb, paths, spec)
    except ConmanError as e:
        return _fail(paths, cid, verb, e.message, e.exit_code)
    except (OSError, ValueError) as e:
        return _fail(paths, cid, verb, str(e), EXIT_ENGINE)


def _run(verb: str, paths: Paths, spec: ContainerSpec) -> int:
    if verb == "start":
        from conman_systemd.shim.start import start

        return start(paths, spec)
    if verb == "stop":
        from conman_systemd.shim.stop import stop

        return stop(paths, spec)
    from conman_systemd.shim.finish import cleanup

    return cleanup(paths, spec)


def _say(cid: str, text: str, priority: int) -> None:
    """The shim's own words go to the journal apart from the container's output."""
    systemd_io.journal_send(text, priority, SYSLOG_IDENTIFIER="conman-shim", CONTAINER_ID_FULL=cid)


def _fail(paths: Paths, cid: str, verb: str, message: str, code: int) -> int:
    _say(cid, f"conman-shim {verb}: {message}", systemd_io.PRIORITY_ERR)
    if verb == "start":
        # The unit's status text carries the error to the CLI, even when --rm removes every record.
        systemd_io.notify(f"STATUS={message}")
        try:
            write_record(paths, cid, "error", message=message, exit_code=code, at=time.time())
        except OSError:
            pass
    return code

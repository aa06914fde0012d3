"""`conman sandbox [--] CMD...`: boot the distro's systemd in new namespaces and run CMD in it."""

from __future__ import annotations

import os

import click


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--unified", is_flag=True, help="Boot with the cgroup v2 hierarchy only (no v1 controllers).")
@click.option("--network", type=click.Choice(["host", "private"]), default="host", show_default=True,
              help="The host's network, or a namespace of its own with loopback alone.")  # fmt: skip
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def sandbox(unified: bool, network: str, command: tuple[str, ...]) -> None:
    """Boot systemd as PID 1 of new namespaces, run COMMAND in it, then power it off.

    For tests and demos on machines where systemd is not PID 1. `conman sandbox shell` opens a
    shell. The sandbox has its own /run, /tmp, /var/tmp, /var/lib/conman, /dev and cgroup subtree
    (and with --network private its own network namespace); all of it is gone when COMMAND ends.
    """
    from conman_systemd.sandbox.launcher import run_in_sandbox

    argv = list(command)
    if argv in ([], ["shell"]):
        argv = [os.environ.get("SHELL") or "/bin/sh"]
    raise SystemExit(run_in_sandbox(argv, unified=unified, private_network=network == "private"))

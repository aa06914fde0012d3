"""`conman system check` (alias `conman info`): what this machine has and lacks; `conman version`."""

from __future__ import annotations

import click

from conman_systemd.cli import App
from conman_systemd.cli.app import DockerGroup


def _check(app: App) -> None:
    from conman_systemd.syscheck import system_check

    report = system_check(app.root, app.runroot)
    width = max(len(k) for k, _ in report.facts) + 1
    for key, value in report.facts:
        click.echo(f"{key + ':':<{width}} {value}")
    for problem in report.problems:
        click.echo(f"Error: {problem}", err=True)
    if report.problems:
        raise SystemExit(1)
    click.echo("All requirements are met.")


@click.group(cls=DockerGroup)
def system() -> None:
    """Manage and check the host."""


@system.command()
@click.pass_obj
def check(app: App) -> None:
    """Check that this machine can run conman containers."""
    _check(app)


@system.command()
@click.pass_obj
def boot(app: App) -> None:
    """Start the containers run with --restart always or unless-stopped (conman-restart.service
    runs this at boot); prints the name of each it started."""
    from conman_systemd.cli.common import session
    from conman_systemd.core.boot import start_at_boot

    with session(app) as lc:
        failed = start_at_boot(lc, click.echo, lambda line: click.echo(line, err=True))
    if failed:
        raise SystemExit(1)


@click.command()
@click.pass_obj
def info(app: App) -> None:
    """Same as `conman system check`."""
    _check(app)


@click.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
def version(fmt: str) -> None:
    """conman's version, its Python's, and the tools it drives."""
    import sys

    from conman_systemd import __version__
    from conman_systemd.syscheck import tool_version

    versions = {"conman": __version__, "python": sys.version.split()[0]}
    for tool in ("crun", "runc", "skopeo"):
        found = tool_version(tool)
        versions[tool] = found[1] if found else "not installed"
    if fmt == "json":
        import json

        click.echo(json.dumps(versions))
        return
    for name, value in versions.items():
        click.echo(f"{name + ':':<8} {value}")

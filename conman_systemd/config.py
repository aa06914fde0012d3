"""conman's configuration: /etc/conman/conman.conf, then the environment, then what is installed.

The file holds `key = value` lines and `#` comments. Keys today: `runtime` (crun or runc), the
default of `conman run --runtime`; `log_rate_limit` (LINES/INTERVAL or none), the default of
`--log-rate-limit`; `network` (bridge, host, none or a network's name), the default of `--network`:
bridge, or host inside a `conman sandbox` that shares the host's network. $CONMAN_RUNTIME overrides
the file; without either, conman uses crun when it is installed (it starts a container ~8x faster
than runc here), else runc.
"""

from __future__ import annotations

import os

from conman_systemd import runner
from conman_systemd.container.spec import RUNTIMES
from conman_systemd.errors import ConmanError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from conman_systemd.container.spec import RuntimeName

CONFIG_FILE = "/etc/conman/conman.conf"
KEYS = ("runtime", "log_rate_limit", "network")
# journald keeps at most this many lines of a container per interval (see the README's trade-off).
DEFAULT_LOG_RATE_LIMIT = "10000/10s"


def read(path: str) -> dict[str, str]:
    """The settings of a config file ({} when there is none); a bad line is one clear error."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ConmanError(f"cannot read {path}: {e.strerror}") from None
    settings = {}
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        key, eq, value = (part.strip() for part in text.partition("="))
        if not eq or key not in KEYS:
            raise ConmanError(
                f"{path} line {number}: {'unknown key ' + repr(key) if eq else 'not a key = value line'}",
                hint=f"known keys: {', '.join(KEYS)}",
            )
        settings[key] = value
    return settings


def default_runtime() -> RuntimeName:
    """The OCI runtime for containers created without --runtime."""
    from conman_systemd.core.options import parse_runtime

    chosen = os.environ.get("CONMAN_RUNTIME") or read(os.environ.get("CONMAN_CONFIG", CONFIG_FILE)).get(
        "runtime"
    )
    if chosen:
        return parse_runtime(chosen)
    for name in RUNTIMES:
        if runner.find_binary(name):
            return parse_runtime(name)
    raise ConmanError("no OCI runtime is installed", hint="apt-get install crun (or runc)")


def default_log_rate_limit() -> str:
    """--log-rate-limit for containers created without it."""
    return read(os.environ.get("CONMAN_CONFIG", CONFIG_FILE)).get("log_rate_limit") or DEFAULT_LOG_RATE_LIMIT


def default_network() -> str:
    """--network for containers created without it."""
    chosen = read(os.environ.get("CONMAN_CONFIG", CONFIG_FILE)).get("network")
    if chosen:
        from conman_systemd.core.network_options import parse_network

        return parse_network(chosen)
    return "host" if shares_host_network_in_sandbox() else "bridge"


SANDBOX_NETWORK = "/run/conman-sandbox/network"  # "host" in a `conman sandbox` sharing the host's


def shares_host_network_in_sandbox() -> bool:
    try:
        with open(SANDBOX_NETWORK) as f:
            return f.read().strip() == "host"
    except OSError:
        return False

"""Turn the user's option values into typed spec fields; every bad value is one clear ConmanError.

No `re` and no `signal` (whose Signals enum imports enum): `conman run` parses its options with
this, and those two imports cost ~4 ms, a tenth of a container start.
"""

from __future__ import annotations

import os

from conman_systemd.container.paths import ALNUM, NAME_MAX, is_name
from conman_systemd.container.spec import RESTART_POLICIES, RUNTIMES, SDNOTIFY, Volume
from conman_systemd.errors import ConmanError, quoted

TYPE_CHECKING = False
if TYPE_CHECKING:  # typeshed has no stubs for _signal; signal re-exports all of it
    import signal as _signal
    from collections.abc import Iterable, Mapping

    from conman_systemd.container.spec import RestartPolicy, RuntimeName
else:
    import _signal


def validate_name(name: str) -> str:
    """[a-zA-Z0-9][a-zA-Z0-9_.-]*, as docker's names, and short enough to name a file."""
    if not is_name(name):
        if len(name) > NAME_MAX:
            raise ConmanError(f"invalid container name: {len(name)} characters, at most {NAME_MAX}")
        raise ConmanError(
            f"invalid container name {quoted(name)}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
        )
    return name


def _valid_env_name(key: str) -> bool:
    return bool(key) and "=" not in key and not any(c.isspace() for c in key)


def parse_signal(text: str) -> int:
    value = text.strip().upper()
    if value.isdigit() and 1 <= int(value) <= _signal.SIGRTMAX:
        return int(value)
    name = value if value.startswith("SIG") else f"SIG{value}"
    number = getattr(_signal, name, None) if not name.startswith("SIG_") else None
    if not isinstance(number, int):
        raise ConmanError(f'invalid signal "{text}": use a name such as SIGTERM or a number from 1 to 64')
    return int(number)


ULIMITS = ("as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
           "nproc", "rss", "rtprio", "rttime", "sigpending", "stack")  # docker's names  # fmt: skip


def parse_ulimit(text: str) -> tuple[str, int, int]:
    """docker's --ulimit NAME=SOFT[:HARD] (-1: unlimited); (name, soft, hard)."""
    name, eq, values = text.partition("=")
    soft_text, _, hard_text = values.partition(":")
    numbers = [soft_text, hard_text or soft_text]
    if not eq or name not in ULIMITS or not all(n.removeprefix("-").isdigit() for n in numbers):
        raise ConmanError(f'invalid ulimit "{text}": use NAME=SOFT[:HARD], NAME one of {", ".join(ULIMITS)}')
    soft, hard = (int(n) for n in numbers)
    if min(soft, hard) < -1 or (hard >= 0 and (soft < 0 or soft > hard)):
        raise ConmanError(f'invalid ulimit "{text}": the soft limit must not exceed the hard one')
    return name, soft, hard


def parse_log_driver(text: str) -> str:
    if text != "journald":
        raise ConmanError(
            f"log driver \"{text}\" is not supported: a container's output goes to its unit's journal",
            hint="use --log-driver journald (the default), and read it with `conman logs` or journalctl -u",
        )
    return text


STOP_TIMEOUT_MAX = 2**31 - 1  # docker's int32 seconds; systemd's microseconds stay far from 2**64


def parse_stop_timeout(value: int) -> int:
    if value < 0:
        raise ConmanError(f"invalid stop timeout {value}: it must be 0 or more seconds")
    if value > STOP_TIMEOUT_MAX:
        raise ConmanError(f"invalid stop timeout {value}: it must be at most {STOP_TIMEOUT_MAX} seconds")
    return value


_LABEL_CHARS = ALNUM | frozenset("-")
HOSTNAME_MAX = 64  # the kernel's HOST_NAME_MAX


def parse_hostname(text: str) -> str:
    """RFC 1123: dot-separated labels of letters, digits and inner hyphens, as sethostname takes."""
    labels = text.split(".")
    if not 0 < len(text) <= HOSTNAME_MAX or not all(
        0 < len(label) <= 63 and _LABEL_CHARS.issuperset(label) and "-" not in (label[0], label[-1])
        for label in labels
    ):
        raise ConmanError(
            f"invalid hostname {quoted(text)}: use letters, digits, inner hyphens and dots, "
            f"at most {HOSTNAME_MAX} characters"
        )
    return text


def _env_item(item: str, environ: Mapping[str, str], where: str) -> str | None:
    key, eq, _ = item.partition("=")
    if not _valid_env_name(key):
        raise ConmanError(
            f'invalid environment variable "{item}"{where}: the name must be non-empty, '
            "without spaces or '='"
        )
    if eq:
        return item
    # docker: `-e NAME` takes NAME's value from conman's own environment, or nothing.
    return f"{key}={environ[key]}" if key in environ else None


def parse_env(items: Iterable[str], env_files: Iterable[str], environ: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    for path in env_files:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise ConmanError(f'cannot read env file "{path}": {e.strerror}') from None
        for number, line in enumerate(lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                if (got := _env_item(line, environ, f" in {path} line {number}")) is not None:
                    out.append(got)
    for item in items:
        if (got := _env_item(item, environ, "")) is not None:
            out.append(got)
    return out


def is_volume_name(text: str) -> bool:
    """docker's [a-zA-Z0-9][a-zA-Z0-9_.-]+: two characters at least."""
    return len(text) >= 2 and is_name(text)


VOLUME_NAME_RULE = "letters, digits, _ . and -, starting with a letter or digit, at least 2 characters"


def parse_volume(text: str) -> Volume:
    """SOURCE:DESTINATION[:OPTIONS], SOURCE a host path or a volume's name; or DESTINATION alone,
    an anonymous volume. OPTIONS: ro or rw, nocopy, z or Z (SELinux labels: none here, accepted)."""
    parts = text.split(":")
    if len(parts) == 1:
        return Volume(source="", destination=mount_destination("volume", text, text), anonymous=True)
    if len(parts) not in (2, 3):
        raise ConmanError(f'invalid volume "{text}": use SOURCE:DESTINATION[:OPTIONS]')
    source, destination = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "rw"
    named = not os.path.isabs(source)
    if named and not is_volume_name(source):
        raise ConmanError(
            f'invalid volume "{text}": the source must be an absolute path on the host or a '
            f"volume name ({VOLUME_NAME_RULE})"
        )
    flags = mode.split(",")
    if not {"ro", "rw", "z", "Z", "nocopy"}.issuperset(flags) or {"ro", "rw"} <= set(flags):
        raise ConmanError(f'invalid volume "{text}": the options are ro or rw, nocopy, z, Z, not "{mode}"')
    inside = mount_destination("volume", text, destination)
    if named:
        return Volume(source="", destination=inside, read_only="ro" in flags, name=source,
                      copy_up="nocopy" not in flags)  # fmt: skip
    return Volume(source=os.path.normpath(source), destination=inside, read_only="ro" in flags)


def mount_destination(kind: str, text: str, destination: str) -> str:
    """A mount's place in the container, normalised; never /, /dev, /proc or /sys (the runtime's)."""
    if not os.path.isabs(destination):
        raise ConmanError(f'invalid {kind} "{text}": the destination must be an absolute path')
    inside = os.path.normpath(destination).replace("//", "/")  # normpath keeps a leading "//"
    if inside in ("/", "/dev") or any(
        inside == top or inside.startswith(top + "/") for top in ("/proc", "/sys")
    ):
        raise ConmanError(
            f'invalid {kind} "{text}": the destination {inside} is not allowed: '
            "the runtime sets up /, /dev, /proc and /sys itself"
        )
    return inside


MAX_ACCOUNT_FILE = 1 << 20


def _lookup(rootfs: str, file: str, name: str) -> list[str] | None:
    """The entry for name in the image's /etc/passwd or /etc/group (file: etc/passwd)."""
    from conman_systemd.container.mounts import lower_file

    path = lower_file(rootfs, file)
    if path is None:
        return None
    try:
        with open(path, errors="replace") as f:
            text = f.read(MAX_ACCOUNT_FILE)  # an image's file: a huge one must not stall `run`
    except OSError:
        return None
    for line in text.splitlines():
        fields = line.split(":")
        if fields[0] == name:
            return fields
    return None


def parse_user(text: str, rootfs: str) -> tuple[int, int]:
    """UID[:GID] or names from the image's /etc/passwd and /etc/group."""
    user, _, group = text.partition(":")
    bad = f'invalid user "{text}"'
    if not user or ":" in group:
        raise ConmanError(f"{bad}: use UID[:GID] or USER[:GROUP] of the image")
    if user.isdigit():
        uid, gid = int(user), 0
    else:
        entry = _lookup(rootfs, "etc/passwd", user)
        if entry is None or len(entry) < 4 or not entry[2].isdigit() or not entry[3].isdigit():
            raise ConmanError(f"{bad}: no user {user} in the image's /etc/passwd")
        uid, gid = int(entry[2]), int(entry[3])
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            g = _lookup(rootfs, "etc/group", group)
            if g is None or len(g) < 3 or not g[2].isdigit():
                raise ConmanError(f"{bad}: no group {group} in the image's /etc/group")
            gid = int(g[2])
    if uid > 0xFFFFFFFE or gid > 0xFFFFFFFE:
        raise ConmanError(f"{bad}: ids must be below 4294967295")
    return uid, gid


STREAMS = ("stdin", "stdout", "stderr")


def parse_stream(text: str) -> str:
    """docker's -a: STDIN, STDOUT or STDERR, in any case."""
    if text.lower() not in STREAMS:
        raise ConmanError(f'invalid stream "{text}" for --attach: use STDIN, STDOUT or STDERR')
    return text.lower()


def parse_tail(text: str) -> int | None:
    """docker's `--tail`: a number of lines, or all (None)."""
    if text == "all":
        return None
    if not text.isdigit():
        raise ConmanError(f'invalid --tail "{text}": use a number of lines or all')
    return int(text)


def parse_restart(text: str) -> tuple[RestartPolicy, int]:
    policy, _, count = text.partition(":")
    if policy not in RESTART_POLICIES or (count and (policy != "on-failure" or not count.isdigit())):
        raise ConmanError(
            f'invalid restart policy "{text}": use no, on-failure[:N], always or unless-stopped'
        )
    return policy, int(count or 0)  # type: ignore[return-value]  # (checked against the Literal's values)


def parse_sdnotify(text: str) -> str:
    if text not in SDNOTIFY:
        raise ConmanError(f'invalid --sdnotify "{text}": use conman, container or healthy')
    return text


def parse_watchdog(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86400:  # NaN too
        raise ConmanError(f'invalid --watchdog "{text}": use seconds, more than 0 and at most 86400')
    return seconds


_BAD_DURATION = "use a number and a unit, e.g. 30s, 1m30s or 500ms"
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """A Go duration as docker takes it: 30s, 1m30s, 500ms, 1h (a unit is required); seconds."""
    rest, total = text, 0.0
    while rest:
        number = ""
        while rest and (rest[0].isdigit() or rest[0] == "."):
            number, rest = number + rest[0], rest[1:]
        unit = next((u for u in sorted(_UNITS, key=len, reverse=True) if rest.startswith(u)), None)
        if not number or number.count(".") > 1 or unit is None:
            raise ConmanError(
                f'invalid duration "{text}": use a number and a unit, e.g. 30s, 1m30s or 500ms'
            )
        total += float(number) * _UNITS[unit]
        rest = rest[len(unit) :]
    if not text:
        raise ConmanError(f'invalid duration "": {_BAD_DURATION}')
    return total


def parse_log_rate_limit(text: str) -> tuple[int, float]:
    """--log-rate-limit LINES/INTERVAL (10000/10s), or none: (lines, seconds); (0, 0) for none."""
    if text == "none":
        return 0, 0.0
    lines, slash, interval = text.partition("/")
    seconds = -1.0
    if slash and lines.isdigit() and int(lines) > 0:
        try:
            seconds = parse_duration(interval)
        except ConmanError:
            pass
    if not 0 < seconds <= 3600 or int(lines or 0) > 1_000_000_000:
        raise ConmanError(f'invalid --log-rate-limit "{text}": use LINES/INTERVAL, e.g. 10000/10s, or none')
    return int(lines), seconds


def parse_runtime(text: str) -> RuntimeName:
    if text not in RUNTIMES:
        raise ConmanError(f'invalid runtime "{text}": use crun or runc')
    return text  # type: ignore[return-value]  # (checked against the Literal's values)


def parse_labels(items: Iterable[str]) -> dict[str, str]:
    labels = {}
    for item in items:
        key, _, value = item.partition("=")
        if not key:
            raise ConmanError(f'invalid label "{item}": use KEY=VALUE')
        labels[key] = value
    return labels


def parse_workdir(text: str) -> str:
    if not os.path.isabs(text):
        raise ConmanError(f'invalid working directory "{text}": it must be an absolute path')
    return os.path.normpath(text)

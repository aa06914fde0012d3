"""A container's unit properties written as a unit file: the generator's output for declared
containers. The properties are the very list a transient unit gets (core/unit.py); only their
spelling differs: some keys have other names in a file, and Exec lines follow systemd's quoting.
"""

from __future__ import annotations

from conman_systemd.core.unit import show, signal_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# D-Bus property -> (section, key in a unit file) where either differs from [Service] NAME=.
FILE_KEYS = {
    "Description": ("Unit", "Description"),
    "CollectMode": ("Unit", "CollectMode"),
    "StartLimitIntervalUSec": ("Unit", "StartLimitIntervalSec"),
    "TimeoutStopUSec": ("Service", "TimeoutStopSec"),
    "RestartUSec": ("Service", "RestartSec"),
    "WatchdogUSec": ("Service", "WatchdogSec"),
    "LogRateLimitIntervalUSec": ("Service", "LogRateLimitIntervalSec"),
    "CPUQuotaPerSecUSec": ("Service", "CPUQuota"),
}
# Properties whose values are lists written one line each.
ONE_PER_LINE = ("LogExtraFields", "IOReadBandwidthMax", "IOWriteBandwidthMax")

# Characters that make systemd split, expand or unescape a word: such a word is double-quoted.
_SPECIAL = frozenset(" \t\n\"'\\;")


def exec_word(word: str) -> str:
    """One argument as systemd's Exec parser gives it back unchanged: % specifiers and $ variables
    doubled, backslashes and quotes escaped, and quoted when it has spaces (or is empty)."""
    text = word.replace("%", "%%").replace("$", "$$")
    if text and not _SPECIAL.intersection(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def exec_line(argv: list[str], ignore_failure: bool = False) -> str:
    return ("-" if ignore_failure else "") + " ".join(map(exec_word, argv))


def value_text(name: str, value: Any) -> str:
    """A property's value in a unit file."""
    if name.startswith("Exec"):
        ((_, argv, ignore_failure),) = value
        return exec_line(argv, ignore_failure)
    if name == "CPUQuotaPerSecUSec":
        return f"{value / 10_000:g}%"
    if name.endswith("USec"):
        return f"{value}us" if value else "0"
    if name == "KillSignal":
        return signal_name(value)
    if name == "Environment":
        return " ".join(exec_word(item) for item in value)
    text = show(name, value)
    return text.replace("%", "%%")


def sections(props: list[tuple[str, Any]]) -> dict[str, list[str]]:
    """Unit-file lines per section ("Unit", "Service"), in the properties' order."""
    out: dict[str, list[str]] = {"Unit": [], "Service": []}
    for name, value in props:
        section, key = FILE_KEYS.get(name, ("Service", name))
        for item in [[v] for v in value] if name in ONE_PER_LINE else [value]:
            out[section].append(f"{key}={value_text(name, item)}")
    return out

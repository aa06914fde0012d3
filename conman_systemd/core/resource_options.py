"""Resource flags (`--memory 32m`, `--cpus 1.5`...) parsed as docker takes them; each bad value is
one clear ConmanError. Loaded only when such a flag is given (off `conman run`'s usual path)."""

from __future__ import annotations

import os

from conman_systemd.errors import ConmanError

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
MEMORY_MIN = 6 << 20  # docker's minimum --memory


def parse_size(text: str, flag: str = "--memory") -> int:
    """docker's sizes: a number and an optional unit b, k, m, g, t (powers of 1024; kb, mb... too)."""
    low = text.strip().lower()
    number = low.rstrip("bkmgt")
    unit = low[len(number) :]
    unit = unit[:-1] if len(unit) == 2 and unit.endswith("b") else unit  # mb -> m
    try:
        value = float(number)
    except ValueError:
        value = -1
    if unit not in _UNITS or not number or value < 0:
        raise ConmanError(f'invalid size "{text}" for {flag}: use a number and b, k, m or g, e.g. 512m')
    return int(value * _UNITS[unit])


def parse_memory(text: str) -> int:
    size = parse_size(text)
    if size < MEMORY_MIN:
        raise ConmanError(f'invalid --memory "{text}": the minimum is 6m')
    return size


def parse_memory_reservation(text: str) -> int:
    return parse_size(text, "--memory-reservation")


def parse_memory_swap(text: str) -> int:
    """-1: unlimited swap."""
    return -1 if text.strip() == "-1" else parse_size(text, "--memory-swap")


def parse_cpus(text: str) -> float:
    cpus = os.cpu_count() or 1
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0.01 <= value <= cpus:
        raise ConmanError(f'invalid --cpus "{text}": use a number from 0.01 to {cpus} (the CPUs here)')
    return round(value, 2)


def _in_range(flag: str, value: int, low: int, high: int, note: str = "") -> int:
    if not low <= value <= high:
        raise ConmanError(f"invalid {flag} {value}: use {low} to {high}{note}")
    return value


def parse_cpu_shares(value: int) -> int:
    return _in_range("--cpu-shares", value, 2, 262144, " (1024 is a default share)")


def parse_cpu_weight(value: int) -> int:
    return _in_range("--cpu-weight", value, 1, 10000, " (100 is a default share)")


def parse_cpuset(text: str) -> str:
    """CPU lists as the kernel writes them: 0-3,5."""
    ok = bool(text)
    for part in text.split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and (not high.isdigit() or int(high) < int(low))):
            ok = False
    if not ok:
        raise ConmanError(f'invalid --cpuset-cpus "{text}": use CPU numbers and ranges, e.g. 0-3,5')
    return text


def parse_pids_limit(value: int) -> int:
    """0 or -1: unlimited (stored as 0)."""
    if value < -1:
        raise ConmanError(f"invalid --pids-limit {value}: use a positive number, or -1 for no limit")
    return max(value, 0)


def parse_blkio_weight(value: int) -> int:
    return _in_range("--blkio-weight", value, 10, 1000)


def parse_device_rate(text: str) -> tuple[str, int]:
    """--device-read-bps /dev/sda:1mb -> (path, bytes per second)."""
    path, colon, rate = text.rpartition(":")
    if not colon or not path.startswith("/dev/"):
        raise ConmanError(f'invalid device rate "{text}": use /dev/DEVICE:RATE, e.g. /dev/sda:10mb')
    return path, parse_size(rate, "the device rate")


def check_memory(memory: int, reservation: int, swap: int) -> None:
    """docker's rules between the three (0: not set)."""
    if swap and not memory:
        raise ConmanError("--memory-swap needs --memory: it limits memory and swap together")
    if swap > 0 and swap < memory:
        raise ConmanError("--memory-swap must be at least --memory: it limits memory and swap together")
    if memory and reservation > memory:
        raise ConmanError("--memory-reservation must not exceed --memory")

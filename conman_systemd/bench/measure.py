"""Timing contenders in interleaved rounds, and the tables that show medians and ratios."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

Contender = Callable[[int], object]


def timed(fn: Contender, i: int) -> float:
    started = time.perf_counter()
    fn(i)
    return time.perf_counter() - started


def measure(
    contenders: dict[str, Contender],
    rounds: int,
    warmup: int = 2,
    prepare: dict[str, Contender] | None = None,
) -> dict[str, list[float]]:
    """Interleaved rounds; prepare[name](i), when given, runs untimed before contender name's turn."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for i in range(warmup + rounds):
        for name, fn in contenders.items():  # interleaved: noise hits every contender alike
            if prepare and name in prepare:
                prepare[name](i)
            t = timed(fn, i)
            if i >= warmup:
                samples[name].append(t)
    return samples


def table(title: str, samples: dict[str, list[float]], baseline: str) -> list[str]:
    """Medians and each contender's ratio to baseline (conman's first row)."""
    base = statistics.median(samples[baseline])
    lines = [f"== {title}", f"{'contender':<40} {'median ms':>10} {'ratio':>7}"]
    for name, values in samples.items():
        median = statistics.median(values)
        lines.append(f"{name:<40} {median * 1000:>10.1f} {median / base:>6.2f}x")
    return lines


def memory_table(title: str, memory: dict[str, dict[str, float]]) -> list[str]:
    """Supervisor PSS is the figure compared: the host's MemAvailable delta is shown, but
    on a noisy machine it swings by more than a supervisor weighs (it can go negative)."""
    base = next(iter(memory.values()))["supervisor_pss_kb_per_container"]  # conman's is first
    lines = [
        f"== {title}",
        f"{'contender':<40} {'supervisors':>11} {'sup. PSS kB/ctr':>15} {'host kB/ctr':>11} {'ratio':>7}",
    ]
    for name, m in memory.items():
        pss = m["supervisor_pss_kb_per_container"]
        ratio = f"{pss / base:>6.2f}x" if base else f"{'-':>7}"
        lines.append(
            f"{name:<40} {m['supervisor_processes']:>11.0f} {pss:>15.1f}"
            f" {m['host_kb_per_container']:>11.0f} {ratio}"
        )
    return lines


class Tables(list[list[str]]):
    """Each table is printed as soon as it is measured."""

    def append(self, lines: list[str]) -> None:
        print(("\n" if self else "") + "\n".join(lines), flush=True)
        super().append(lines)

"""Tables and times as docker prints them: columns three spaces apart, "2 hours ago", "4.2MB"."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any


def ago(seconds: float) -> str:
    """A duration as docker words it: "5 seconds", "1 minute", "3 days"."""
    seconds = max(0, int(seconds))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


def created_at(seconds: float) -> str:
    """A time as docker's CreatedAt field prints it: local, with its offset and zone."""
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S %z %Z", time.localtime(seconds))


def size(n: int) -> str:
    """Bytes in docker's decimal units: 4.26MB, 812kB, 12B."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n}B"


def table(rows: Sequence[Sequence[str]]) -> str:
    """rows (the header first) in left-aligned columns."""
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return "\n".join(
        "   ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def listing(
    rows: Sequence[Mapping[str, Any]], fmt: str | None, default: str, headers: Mapping[str, str]
) -> str:
    """An ls command's output: one JSON object a line (--format json), else the rows through the
    template given or the default."""
    if fmt == "json":
        import json

        return "\n".join(json.dumps(r) for r in rows)
    return formatted(rows, fmt or default, headers)


def formatted(rows: Sequence[Mapping[str, Any]], template: str, headers: Mapping[str, str]) -> str:
    """rows through a Go template (docker's --format); `table TEMPLATE` adds the header (the
    template run over headers) and aligns the tab-separated columns ("\\t" as typed works too)."""
    from conman_systemd.cli.gotemplate import render

    template = template.replace("\\t", "\t")
    if not template.startswith("table"):
        return "\n".join(render(template, r) for r in rows)
    template = template.removeprefix("table").strip()
    lines = [render(template, headers), *(render(template, r) for r in rows)]
    return table([line.split("\t") for line in lines])


def show_inspected(described: Sequence[Mapping[str, Any]], fmt: str | None) -> str:
    """inspect's output: the list as JSON, indented as docker's, or each one through a Go template."""
    if fmt is None:
        import json

        return json.dumps(described, indent=4)
    from conman_systemd.cli.gotemplate import render

    return "\n".join(render(fmt, info) for info in described)

"""docker's --tmpfs DEST[:OPTIONS] and --mount type=bind|volume|tmpfs,...

A tmpfs gets docker's defaults (nosuid, nodev, noexec, mode 1777) unless its options say
otherwise; a bind from --mount is what `-v` makes.
"""

from __future__ import annotations

import os

from conman_systemd.container.spec import Tmpfs, Volume
from conman_systemd.core.options import VOLUME_NAME_RULE, is_volume_name, mount_destination
from conman_systemd.errors import ConmanError

TMPFS_DEFAULTS = ("nosuid", "nodev", "noexec", "mode=1777")
_TMPFS_OPTION_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=_-")


def _tmpfs_options(kind: str, text: str, options: list[str]) -> tuple[str, ...]:
    if not all(o and _TMPFS_OPTION_CHARS.issuperset(o) for o in options):
        raise ConmanError(f'invalid {kind} "{text}": options are words or KEY=VALUE, separated by commas')
    given = {o.partition("=")[0].removeprefix("no").removeprefix("r") for o in options}
    keep = [d for d in TMPFS_DEFAULTS if d.partition("=")[0].removeprefix("no") not in given]
    return (*keep, *options)


def parse_tmpfs(text: str) -> Tmpfs:
    destination, _, options = text.partition(":")
    inside = mount_destination("tmpfs", text, destination)
    return Tmpfs(
        destination=inside, options=_tmpfs_options("tmpfs", text, options.split(",") if options else [])
    )


def parse_mount(text: str) -> Volume | Tmpfs:
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, eq, value = part.partition("=")
        fields[key] = value if eq else "true"
    kind = fields.pop("type", "volume")
    target = fields.pop("target", None) or fields.pop("destination", None) or fields.pop("dst", None)
    if target is None:
        raise ConmanError(f'invalid mount "{text}": give its target=PATH')
    read_only = fields.pop("readonly", fields.pop("ro", "false")) in ("true", "1")
    if kind == "bind":
        source = fields.pop("source", None) or fields.pop("src", None)
        if source is None or not os.path.isabs(source):
            raise ConmanError(f'invalid mount "{text}": a bind needs source=ABSOLUTE-PATH')
        fields.pop("bind-propagation", None)
        _no_more(text, fields)
        return Volume(source=os.path.normpath(source), destination=mount_destination("mount", text, target),
                      read_only=read_only)  # fmt: skip
    if kind == "tmpfs":
        options = [f"size={fields.pop('tmpfs-size')}"] if "tmpfs-size" in fields else []
        options += [f"mode={fields.pop('tmpfs-mode')}"] if "tmpfs-mode" in fields else []
        _no_more(text, fields)
        options += ["ro"] if read_only else []
        return Tmpfs(destination=mount_destination("mount", text, target),
                     options=_tmpfs_options("mount", text, options))  # fmt: skip
    if kind == "volume":
        name = fields.pop("source", None) or fields.pop("src", None) or ""
        if name and not is_volume_name(name):
            raise ConmanError(f'invalid mount "{text}": a volume\'s source is its name ({VOLUME_NAME_RULE})')
        copy_up = fields.pop("volume-nocopy", "false") not in ("true", "1")
        if fields.pop("volume-driver", "local") != "local":
            raise ConmanError(f'invalid mount "{text}": the only volume driver is local')
        _no_more(text, fields)
        return Volume(source="", destination=mount_destination("mount", text, target), read_only=read_only,
                      name=name, anonymous=not name, copy_up=copy_up)  # fmt: skip
    raise ConmanError(f'invalid mount "{text}": the type must be bind, volume or tmpfs, not "{kind}"')


def _no_more(text: str, fields: dict[str, str]) -> None:
    if fields:
        raise ConmanError(f'invalid mount "{text}": unknown option {", ".join(sorted(fields))}')

"""Definition files of declared containers: `/etc/conman/containers/NAME.container`.

A systemd-style file. `[Container]` takes the flags of `conman create`, each spelled as a key in
the way of unit files (`--read-only` is `ReadOnly=`, `--env` is `Env=`), plus `Image=` and
`Exec=` (the command, split as a shell splits it). `[Unit]` and `[Service]` lines go to the
generated unit as they are; `[Install]` takes WantedBy= and RequiredBy=. The keys come from the
same option table as the command line, and the values go through the same parsers: a bad line
is one error naming the file and the line.
"""

from __future__ import annotations

import hashlib
import os

from conman_systemd.container.paths import is_name
from conman_systemd.core.flags import CREATE, FLAG, LIST, options_of
from conman_systemd.errors import ConmanError
from conman_systemd.frozen import Frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.core.flags import Option

# /etc is the administrator's; /run holds definitions that end with the boot. /etc wins a name.
DIRECTORIES = ("/etc/conman/containers", "/run/conman/containers")
SUFFIX = ".container"

# Flags of `conman create` a definition has no key for, and why.
NOT_DECLARABLE = {
    "name": "the file's name is the container's name",
    "rm": "a declared container is removed when its unit stops",
    "interactive": "a service has no terminal to read from",
    "tty": "a service has no terminal",
}
INSTALL_KEYS = ("WantedBy", "RequiredBy")
_TRUE, _FALSE = ("1", "yes", "true", "on"), ("0", "no", "false", "off")


def key_of(option: Option) -> str:
    """--read-only -> ReadOnly: the flag as a unit file spells its keys."""
    long = next(f for f in option.flags if f.startswith("--"))
    return "".join(part.capitalize() for part in long[2:].split("-"))


KEYS = {key_of(o): o for o in options_of(CREATE) if o.dest not in NOT_DECLARABLE}
REFUSED = {key_of(o): NOT_DECLARABLE[o.dest] for o in options_of(CREATE) if o.dest in NOT_DECLARABLE}


class Definition(Frozen):
    name: str
    path: str
    digest: str  # of the file's bytes: the unit says which text it was made from
    image: str
    command: tuple[str, ...]
    values: dict[str, Any]  # option dest -> raw value, as the command line's parsers leave them
    unit_lines: tuple[str, ...] = ()
    service_lines: tuple[str, ...] = ()
    install: dict[str, tuple[str, ...]] = {}

    @property
    def unit(self) -> str:
        return f"{self.name}.service"


def declared_id(name: str) -> str:
    """A declared container's ID follows from its name: its unit can name it before it exists."""
    return hashlib.sha256(f"conman declared container {name}".encode()).hexdigest()


def find(directories: tuple[str, ...] = DIRECTORIES) -> dict[str, str]:
    """name -> definition file, the first directory's first."""
    found: dict[str, str] = {}
    for directory in directories:
        try:
            entries = sorted(os.listdir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.endswith(SUFFIX) and not entry.startswith("."):
                found.setdefault(entry.removesuffix(SUFFIX), os.path.join(directory, entry))
    return found


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) with comments dropped and backslash continuations joined."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if pending is None and (not line or line[0] in "#;"):
            continue
        start, before = pending or (number, "")
        if line.endswith("\\"):
            pending = (start, before + line[:-1] + " ")
            continue
        pending = None
        out.append((start, before + line))
    if pending is not None:
        out.append(pending)
    return out


def _boolean(text: str) -> bool | None:
    low = text.lower()
    return True if low in _TRUE else False if low in _FALSE else None


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.values: dict[str, Any] = {}
        self.image = ""
        self.command: tuple[str, ...] = ()
        self.lines: dict[str, list[str]] = {"Unit": [], "Service": []}
        self.install: dict[str, list[str]] = {}

    def error(self, number: int, message: str) -> ConmanError:
        return ConmanError(f"{self.path} line {number}: {message}")

    def container_key(self, number: int, key: str, value: str) -> None:
        if key == "Image":
            self.image = value
        elif key == "Exec":
            import shlex

            try:
                self.command = tuple(shlex.split(value))
            except ValueError as e:
                raise self.error(number, f"Exec={value}: {e}") from None
        elif key in KEYS:
            self.option(number, KEYS[key], key, value)
        else:
            why = REFUSED.get(key)
            raise self.error(
                number,
                f"unknown key {key} in [Container]" + (f": {why}" if why else ""),
            )

    def option(self, number: int, option: Option, key: str, value: str) -> None:
        if option.kind == LIST:
            # An empty assignment resets the list, as in unit files.
            self.values[option.dest] = (*self.values.get(option.dest, ()), value) if value else ()
        elif option.kind == FLAG:
            flag = _boolean(value)
            if flag is None:
                raise self.error(number, f"{key}={value}: use yes or no")
            self.values[option.dest] = flag
        elif option.integer:
            if not value.lstrip("-").isdigit():
                raise self.error(number, f"{key}={value}: a whole number is needed")
            self.values[option.dest] = int(value)
        elif option.choices and value not in option.choices:
            raise self.error(number, f"{key}={value}: use {', '.join(option.choices)}")
        else:
            self.values[option.dest] = value

    def read(self, text: str) -> None:
        section = ""
        for number, line in _logical_lines(text):
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                if section not in ("Container", "Unit", "Service", "Install"):
                    raise self.error(number, f"unknown section [{section}]: use [Container], "
                                             "[Unit], [Service] or [Install]")  # fmt: skip
                continue
            key, eq, value = line.partition("=")
            key, value = key.strip(), value.strip()
            if not eq or not key:
                raise self.error(number, f"not KEY=VALUE: {line}")
            if not section:
                raise self.error(number, f"{key}= comes before any section: start with [Container]")
            if section == "Container":
                self.container_key(number, key, value)
            elif section == "Install":
                if key not in INSTALL_KEYS:
                    raise self.error(number, f"unknown key {key} in [Install]: use WantedBy or RequiredBy")
                self.install.setdefault(key, []).extend(value.split())
            else:
                self.lines[section].append(f"{key}={value}")


def parse(path: str) -> Definition:
    """The definition in path; ConmanError naming the file (and line) for anything wrong."""
    name = os.path.basename(path).removesuffix(SUFFIX)
    if not is_name(name):
        raise ConmanError(f"{path}: {name!r} is not a container name: use [a-zA-Z0-9][a-zA-Z0-9_.-]*")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConmanError(f"cannot read {path}: {e.strerror}") from None
    reader = _Reader(path)
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise ConmanError(f"{path}: not UTF-8 text") from None
    reader.read(text)
    if not reader.image:
        raise ConmanError(
            f"{path}: no Image= in [Container]", hint="name the image to run, e.g. Image=busybox"
        )
    return Definition(
        name=name, path=path, digest=hashlib.sha256(data).hexdigest()[:16], image=reader.image,
        command=reader.command, values=reader.values, unit_lines=tuple(reader.lines["Unit"]),
        service_lines=tuple(reader.lines["Service"]),
        install={k: tuple(v) for k, v in reader.install.items()},
    )  # fmt: skip

"""Frozen, typed records without `dataclasses` or `typing` at run time.

`dataclasses` imports `inspect` (~8 ms) and `typing.NamedTuple` needs `typing` (~3.5 ms, ~8 ms in
the shim's `python3 -I -S`): too much for code that runs on every container start. A record
declares its fields as class annotations with optional defaults, as a dataclass does; mypy sees it
as a frozen, keyword-only dataclass through `dataclass_transform`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Self, dataclass_transform
else:

    def dataclass_transform(**_: object) -> object:
        return lambda cls: cls


def _copy(value: object) -> object:
    # A mutable default ({} or []) is never shared between records.
    return value.copy() if isinstance(value, dict | list) else value


def _plain(value: object) -> object:
    """value in JSON's terms: records as dicts, tuples as lists."""
    if isinstance(value, Frozen):
        return value.as_dict()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass_transform(frozen_default=True, kw_only_default=True)
class Frozen:
    """Base of records: keyword-only construction, defaults, equality, no assignment afterwards."""

    __fields: ClassVar[tuple[str, ...]] = ()
    __defaults: ClassVar[dict[str, object]] = {}

    def __init_subclass__(cls) -> None:
        own = tuple(cls.__dict__.get("__annotations__", {}))
        cls.__fields = cls.__fields + own
        cls.__defaults = {**cls.__defaults, **{n: cls.__dict__[n] for n in own if n in cls.__dict__}}

    def __init__(self, **values: Any) -> None:
        for name in self.__fields:
            if name in values:
                value = values.pop(name)
            elif name in self.__defaults:
                value = _copy(self.__defaults[name])
            else:
                raise TypeError(f"{type(self).__name__}() needs {name}")
            object.__setattr__(self, name, value)
        if values:
            raise TypeError(f"{type(self).__name__}() has no field {', '.join(sorted(values))}")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: use replace()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, n) for n in self.__fields)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__fields)
        return f"{type(self).__name__}({fields})"

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed."""
        return type(self)(**{**{n: getattr(self, n) for n in self.__fields}, **changes})

    def as_dict(self) -> dict[str, Any]:
        """The record in JSON's terms (nested records as dicts, tuples as lists)."""
        return {n: _plain(getattr(self, n)) for n in self.__fields}

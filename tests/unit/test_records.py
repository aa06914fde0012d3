"""Frozen records and the lean JSON the shim reads: what dataclasses and json would give."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conman_systemd import fastjson
from conman_systemd.container.spec import ContainerSpec, Volume
from conman_systemd.frozen import Frozen


class Point(Frozen):
    x: int
    y: int = 0
    tags: list[str] = []


def test_records_are_keyword_built_frozen_and_compared_by_value() -> None:
    p = Point(x=1)
    assert (p.x, p.y, p.tags) == (1, 0, [])
    assert p == Point(x=1, y=0) and p != Point(x=2)
    assert hash(Volume(source="/a", destination="/b")) == hash(Volume(source="/a", destination="/b"))
    assert p.replace(y=5) == Point(x=1, y=5) and p.y == 0
    with pytest.raises(AttributeError, match="Point is frozen"):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"Point\(\) needs x"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"Point\(\) has no field z"):
        Point(x=1, z=2)  # type: ignore[call-arg]
    assert repr(p) == "Point(x=1, y=0, tags=[])"


def test_a_mutable_default_is_never_shared() -> None:
    a, b = Point(x=1), Point(x=2)
    a.tags.append("mine")
    assert b.tags == []


def test_a_spec_round_trips_through_json() -> None:
    spec = ContainerSpec(id="a" * 64, name="web", image="busybox:latest", image_id="b" * 64, rootfs="/r",
                         command=("sh", "-c", "echo é"), volumes=(Volume(source="/s", destination="/d"),),
                         labels={"k": "v"}, restart="on-failure", restart_max=2, created=1.25)  # fmt: skip
    assert ContainerSpec.from_json(spec.to_json()) == spec
    assert json.loads(spec.to_json())["volumes"] == [
        {
            "source": "/s",
            "destination": "/d",
            "read_only": False,
            "name": "",
            "anonymous": False,
            "copy_up": True,
        }
    ]


def test_a_spec_ignores_unknown_keys_and_refuses_bad_values() -> None:
    base = {"id": "x", "name": "n", "image": "i", "image_id": "j", "rootfs": "/", "command": ["true"]}
    assert ContainerSpec.from_dict({**base, "from_the_future": 1}).command == ("true",)
    with pytest.raises(ValueError, match="restart 'sometimes' is not one of"):
        ContainerSpec.from_dict({**base, "restart": "sometimes"})


VALUES: list[Any] = [
    {"b": [1, 2.5, None, True, False], "a": {"z": 'x\u00e9"\n\t\\', "y": -1e300}},
    [],
    {},
    "text",
    0.1,
    [{"k": [[], {}]}],
]


@pytest.mark.parametrize("value", VALUES)
def test_fastjson_writes_what_json_writes_and_reads_it_back(value: Any) -> None:
    assert fastjson.dumps(value) == json.dumps(value, sort_keys=True)
    assert fastjson.loads(fastjson.dumps(value)) == value


@pytest.mark.parametrize("text", ["{", "{}x", "", "[1,]", "nul", '{"a" 1}'])
def test_fastjson_refuses_what_json_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        fastjson.loads(text)
    with pytest.raises(ValueError):
        json.loads(text)


def test_fastjson_refuses_what_it_cannot_write() -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        fastjson.dumps({"a": {1}})
    assert fastjson.dumps({"a": 1}) == '{"a": 1}'  # the encoder that failed left nothing behind

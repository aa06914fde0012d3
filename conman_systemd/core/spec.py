"""The container spec: frozen, typed, and the same JSON on both sides of the CLI -> shim hand-over.

Stdlib only: the shim reads it on every container start.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from typing import Any


class RestartPolicy(enum.StrEnum):
    NO = "no"
    ON_FAILURE = "on-failure"
    ALWAYS = "always"
    UNLESS_STOPPED = "unless-stopped"

    @property
    def restarts(self) -> bool:
        return self is not RestartPolicy.NO


class Network(enum.StrEnum):
    HOST = "host"
    NONE = "none"


@dataclass(frozen=True)
class Volume:
    source: str
    destination: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    id: str
    name: str
    image: str  # the reference the user gave, e.g. busybox:latest
    image_id: str
    rootfs: str  # the image's rootfs: the overlay's lower layer
    command: tuple[str, ...]  # entrypoint + arguments, resolved at create time
    env: tuple[str, ...] = ()
    workdir: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    hostname: str = ""
    volumes: tuple[Volume, ...] = ()
    read_only: bool = False
    network: Network = Network.HOST
    stop_signal: int = 15
    stop_timeout: int = 10
    restart: RestartPolicy = RestartPolicy.NO
    restart_max: int = 0  # on-failure:N; 0 means no limit
    labels: dict[str, str] = field(default_factory=dict)
    interactive: bool = False
    tty: bool = False
    remove_on_exit: bool = False  # -d --rm: the unit's clean-up removes everything
    wait_for_attach: bool = False  # foreground -i/-t: start the process once the client is there

    created: float = 0.0  # seconds since the epoch

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def unit(self) -> str:
        return f"conman-{self.id}.service"

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ContainerSpec:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContainerSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in data.items() if k in known}
        d["command"] = tuple(d["command"])
        d["env"] = tuple(d.get("env", ()))
        d["additional_gids"] = tuple(d.get("additional_gids", ()))
        d["volumes"] = tuple(Volume(**v) for v in d.get("volumes", ()))
        d["network"] = Network(d.get("network", "host"))
        d["restart"] = RestartPolicy(d.get("restart", "no"))
        return cls(**d)

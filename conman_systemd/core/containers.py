"""Containers on the CLI's side: the state directory plus what systemd says about each unit."""

from __future__ import annotations

import enum
import errno
import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from conman_systemd.core.spec import ContainerSpec
from conman_systemd.core.store import Paths, read_record, write_atomic
from conman_systemd.errors import ConmanError


class State(enum.StrEnum):
    CREATED = "created"
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    STOPPING = "stopping"
    EXITED = "exited"

    @property
    def is_running(self) -> bool:
        return self in (State.STARTING, State.RUNNING, State.RESTARTING, State.STOPPING)


@dataclass(frozen=True)
class UnitFacts:
    """What systemd knows of a container's unit ("inactive" with no other fact when not loaded)."""

    active_state: str = "inactive"
    sub_state: str = "dead"
    main_pid: int = 0
    n_restarts: int = 0
    result: str = ""
    status_text: str = ""

    def container_state(self, ever_started: bool) -> State:
        if self.active_state in {"active", "reloading"}:
            return State.RUNNING
        if self.active_state == "activating":
            return State.RESTARTING if self.sub_state == "auto-restart" else State.STARTING
        if self.active_state == "deactivating":
            return State.STOPPING
        return State.EXITED if ever_started else State.CREATED


def new_id() -> str:
    return secrets.token_hex(32)


class Store:
    """The containers in <root>/containers, by ID, name or unique ID prefix."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    def ids(self) -> list[str]:
        try:
            return [e for e in os.listdir(self.paths.containers) if len(e) == 64]
        except FileNotFoundError:
            return []

    def load(self, cid: str) -> ContainerSpec | None:
        try:
            with open(self.paths.spec(cid)) as f:
                return ContainerSpec.from_json(f.read())
        except (FileNotFoundError, NotADirectoryError, ValueError, KeyError, TypeError):
            return None

    def all(self) -> list[ContainerSpec]:
        specs = [s for s in map(self.load, self.ids()) if s is not None]
        return sorted(specs, key=lambda s: s.created, reverse=True)

    def resolve(self, ref: str) -> ContainerSpec:
        try:
            by_name = self.load(os.readlink(self.paths.name_link(ref)))
        except OSError:
            by_name = None
        if by_name is not None:
            return by_name
        matches = [cid for cid in self.ids() if cid.startswith(ref.lower())] if ref else []
        if len(matches) > 1:
            raise ConmanError(
                f'container ID prefix "{ref}" is ambiguous: it matches {len(matches)} containers',
                hint="give more characters of the ID, or the name",
            )
        spec = self.load(matches[0]) if matches else None
        if spec is None:
            raise ConmanError(f"no such container: {ref}", hint="list containers with `conman ps -a`")
        return spec

    def create(self, spec: ContainerSpec) -> None:
        """Reserve the name, then write the spec: of two creates of one name, exactly one wins."""
        self._reserve_name(spec.name, spec.id)
        try:
            os.makedirs(self.paths.container(spec.id), mode=0o700)
            write_atomic(self.paths.spec(spec.id), spec.to_json())
        except BaseException as e:
            shutil.rmtree(self.paths.container(spec.id), ignore_errors=True)
            os.unlink(self.paths.name_link(spec.name))
            if isinstance(e, OSError):
                raise ConmanError(
                    f"cannot write the state of container {spec.name} in {self.paths.root}: {e.strerror}",
                    hint="free some space there, or choose another --root",
                ) from None
            raise

    def _reserve_name(self, name: str, cid: str) -> None:
        os.makedirs(self.paths.names, mode=0o700, exist_ok=True)
        link = self.paths.name_link(name)
        for _ in range(2):
            try:
                os.symlink(cid, link)
                return
            except FileExistsError:
                owner = os.readlink(link)
                if self.load(owner) is not None or os.path.isdir(self.paths.container(owner)):
                    raise ConmanError(
                        f'the container name "{name}" is already in use by container {owner[:12]}',
                        hint="remove that container or choose another name",
                    ) from None
                # A crash between the reservation and the spec left this link: take it over.
                _unlink_if(link, owner)
        raise ConmanError(f'the container name "{name}" is being taken by another command')

    @contextmanager
    def locked(self, spec: ContainerSpec) -> Iterator[None]:
        """Serialise conman commands acting on one container (start, stop, rm...)."""
        try:
            fd = os.open(self.paths.lock(spec.id), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            raise ConmanError(f"no such container: {spec.name}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def records(self, cid: str) -> dict[str, dict[str, Any]]:
        return {
            k: r for k in ("started", "exit", "error") if (r := read_record(self.paths, cid, k)) is not None
        }


def _unlink_if(link: str, target: str) -> None:
    try:
        if os.readlink(link) == target:
            os.unlink(link)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise

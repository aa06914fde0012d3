"""Named volumes: directories under the state root that outlive the containers using them.

<root>/volumes/NAME holds volume.json (name, creation time, labels, whether it is anonymous) and
_data, the files bound into containers (docker's layout). A volume is made whole or not at all:
built under a temporary name, then renamed into place, so of two creates of one name both get the
one volume. It goes only when asked (`volume rm`, `volume prune`) or, an anonymous one, with its
container (`run --rm`, `rm -v`), and never while a container (running or not) uses it: creates
hold the volumes' lock shared until their spec is written, removals hold it exclusively.
"""

from __future__ import annotations

import os
import time

from conman_systemd import fastjson
from conman_systemd.container.filelock import FileLock
from conman_systemd.container.paths import read_json, write_atomic
from conman_systemd.container.spec import ContainerSpec
from conman_systemd.core.options import VOLUME_NAME_RULE, is_volume_name
from conman_systemd.errors import ConmanError, quoted
from conman_systemd.frozen import Frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from contextlib import AbstractContextManager

    from conman_systemd.container.paths import Paths


class VolumeInfo(Frozen):
    name: str
    created: float
    labels: dict[str, str]
    anonymous: bool = False


def check_name(name: str) -> str:
    if not is_volume_name(name):
        raise ConmanError(f"invalid volume name {quoted(name)}: use {VOLUME_NAME_RULE}")
    return name


class Volumes:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    def find(self, name: str) -> VolumeInfo | None:
        if not is_volume_name(name):
            return None
        record = read_json(os.path.join(self.paths.volume(name), "volume.json"))
        if record is None or record.get("name") != name:
            return None
        labels = dict(record.get("labels") or {})
        created = float(record.get("created") or 0)
        return VolumeInfo(name=name, created=created, labels=labels, anonymous=bool(record.get("anonymous")))

    def get(self, name: str) -> VolumeInfo:
        found = self.find(name)
        if found is None:
            raise ConmanError(f"no such volume: {name}", hint="see `conman volume ls`")
        return found

    def all(self) -> list[VolumeInfo]:
        try:
            names = sorted(os.listdir(self.paths.volumes))
        except FileNotFoundError:
            return []
        return [v for v in map(self.find, names) if v is not None]

    def create(self, name: str, labels: dict[str, str] | None = None, anonymous: bool = False) -> VolumeInfo:
        """The volume, made if it is not there (docker's create of an existing name returns it)."""
        check_name(name)
        if (found := self.find(name)) is not None:
            return found
        os.makedirs(self.paths.volumes, mode=0o700, exist_ok=True)  # root's alone
        staging = os.path.join(self.paths.volumes, f".new-{os.getpid()}-{name}")
        info = VolumeInfo(name=name, created=time.time(), labels=labels or {}, anonymous=anonymous)
        try:
            os.makedirs(os.path.join(staging, "_data"), mode=0o755)
            record = {"name": name, "created": info.created, "labels": info.labels, "anonymous": anonymous}
            write_atomic(os.path.join(staging, "volume.json"), fastjson.dumps(record))
            os.rename(staging, self.paths.volume(name))
        except OSError as e:
            from conman_systemd.container.removal import remove_trees

            remove_trees(staging)
            if (found := self.find(name)) is not None:  # another command made it meanwhile
                return found
            raise ConmanError(f"cannot create volume {name}: {e.strerror}") from None
        return info

    def locked(self, shared: bool) -> AbstractContextManager[None]:
        return FileLock(os.path.join(self.paths.volumes, ".lock"), shared)

    def resolve(self, spec: ContainerSpec) -> ContainerSpec:
        """The spec with its volumes made: an anonymous one named, each one's source its _data.
        Called with the lock held (shared) until the spec is written."""
        from conman_systemd.core.containers import new_id

        volumes = []
        for v in spec.volumes:
            if v.name or v.anonymous:
                name = v.name or new_id()
                self.create(name, anonymous=v.anonymous)
                v = v.replace(name=name, source=self.paths.volume_data(name))
            volumes.append(v)
        return spec.replace(volumes=tuple(volumes))

    def forget_anonymous(self, resolved: ContainerSpec, asked: ContainerSpec) -> None:
        """The anonymous volumes resolve() made for a spec that was then not written."""
        from conman_systemd.container.removal import remove_trees

        new = {v.name for v in resolved.volumes if v.anonymous} - {v.name for v in asked.volumes}
        remove_trees(*(self.paths.volume(name) for name in new))

    def remove(self, name: str, containers: Iterable[ContainerSpec]) -> None:
        """Called with the lock held (exclusive)."""
        self.get(name)
        if users := [s for s in containers if uses(s, name)]:
            raise ConmanError(
                f"volume {name} is in use by container {users[0].name} ({users[0].id[:12]})",
                hint="remove the containers that use it first",
            )
        from conman_systemd.container.removal import remove_trees

        remove_trees(self.paths.volume(name))

    def prune(self, containers: list[ContainerSpec], every: bool) -> list[tuple[str, int]]:
        """Unused anonymous volumes (every unused one with every); each one's name and size."""
        gone = []
        for v in self.all():
            if (v.anonymous or every) and not any(uses(s, v.name) for s in containers):
                from conman_systemd.container.removal import tree_size

                size = tree_size(self.paths.volume_data(v.name))
                self.remove(v.name, ())
                gone.append((v.name, size))
        return gone


def uses(spec: ContainerSpec, name: str) -> bool:
    return any(v.name == name for v in spec.volumes)


def inspect_dict(paths: Paths, v: VolumeInfo) -> dict[str, object]:
    from conman_systemd.core.inspect import NEVER, iso_time

    return {"CreatedAt": iso_time(v.created) or NEVER, "Driver": "local", "Labels": v.labels,
            "Mountpoint": paths.volume_data(v.name), "Name": v.name, "Options": {},
            "Scope": "local"}  # fmt: skip

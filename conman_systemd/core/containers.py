"""Containers on the CLI's side: the state directory, and each container's state as one object."""

from __future__ import annotations

import errno
import fcntl
import os

from conman_systemd import fastjson
from conman_systemd.container import etc_files, oci
from conman_systemd.container.paths import (
    Paths,
    is_id,
    is_name,
    read_record,
    remove_records,
    set_aside,
    write_atomic,
)
from conman_systemd.container.spec import ContainerSpec, Volume
from conman_systemd.dbus.units import UnitState
from conman_systemd.errors import ConmanError, quoted
from conman_systemd.frozen import Frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class State(str):
    """A container's state, by docker's names. A str of one of six values rather than an enum:
    enum costs `conman run` ~3 ms to import."""

    __slots__ = ()

    @classmethod
    def of(cls, unit: UnitState, ever_started: bool) -> State:
        if unit.active_state in ("active", "reloading"):
            return RUNNING
        if unit.active_state == "activating":
            return RESTARTING if unit.sub_state == "auto-restart" else STARTING
        if unit.active_state == "deactivating":
            return STOPPING
        return EXITED if ever_started else CREATED


CREATED, STARTING, RUNNING = State("created"), State("starting"), State("running")
RESTARTING, STOPPING, EXITED = State("restarting"), State("stopping"), State("exited")
PAUSED = State("paused")


class Records(Frozen):
    """The start, exit and error records of a container's last run, read once."""

    started: dict[str, Any] = {}
    exit: dict[str, Any] = {}
    error: dict[str, Any] = {}
    paused: dict[str, Any] = {}  # by `conman pause`: how (systemd's freezer or the runtime's)
    health: dict[str, Any] = {}  # the health checks' (core/health.py)
    network: dict[str, Any] = {}  # the addresses of its last start on bridge networks

    @classmethod
    def read(cls, paths: Paths, cid: str) -> Records:
        kinds = ("started", "exit", "error", "paused", "health", "network")
        return cls(**{k: read_record(paths, cid, k) or {} for k in kinds})

    @property
    def ever_started(self) -> bool:
        return bool(self.started or self.exit or self.error)

    @property
    def exit_code(self) -> int | None:
        code = self.exit.get("exit_code")
        return int(code) if code is not None else None


class ContainerInfo(Frozen):
    """One container as ps, inspect, wait and attach see it: its spec, its records, its unit."""

    spec: ContainerSpec
    records: Records
    unit: UnitState

    @property
    def state(self) -> State:
        return PAUSED if self.paused else State.of(self.unit, self.records.ever_started)

    @property
    def paused(self) -> bool:
        return bool(self.records.paused) and self.unit.active_state == "active"

    @property
    def running(self) -> bool:
        """Starting, running, restarting or stopping: the unit is on its way in, up, or out."""
        return self.unit.running

    @property
    def pid(self) -> int:
        """The container's init while it runs (the unit's main process once handed over)."""
        if not self.running:
            return 0
        return int(self.records.started.get("pid") or self.unit.main_pid)


def not_running(spec: ContainerSpec) -> ConmanError:
    """What exec and attach say of a container that does not run."""
    return ConmanError(
        f"container {spec.name} is not running", hint=f"start it with `conman start {spec.name}`"
    )


def new_id() -> str:
    # os.urandom, not secrets: secrets imports hmac and OpenSSL's hashlib (~3 ms per `conman run`).
    return os.urandom(32).hex()


class Store:
    """The containers in <root>/containers, by ID, name or unique ID prefix."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    def ids(self) -> list[str]:
        try:
            return [e for e in os.listdir(self.paths.containers) if is_id(e)]
        except FileNotFoundError:
            return []

    def load(self, cid: str) -> ContainerSpec | None:
        """The spec stored under a full ID; one that names another ID is not trusted."""
        if not is_id(cid):
            return None
        try:
            with open(self.paths.spec(cid)) as f:
                spec = ContainerSpec.from_json(f.read())
        except (FileNotFoundError, NotADirectoryError, ValueError, KeyError, TypeError):
            return None
        return spec if spec.id == cid else None

    def all(self) -> list[ContainerSpec]:
        specs = [s for s in map(self.load, self.ids()) if s is not None]
        return sorted(specs, key=lambda s: s.created, reverse=True)

    def resolve(self, ref: str) -> ContainerSpec:
        """As docker: a full ID, else a name, else a unique ID prefix. Only a name's characters
        are looked up (no "/", no leading "."): a reference never reaches outside the store."""
        if not is_name(ref):
            shown = ref if ref.isprintable() and ref.strip() == ref else quoted(ref)
            raise ConmanError(f"no such container: {shown}", hint="list containers with `conman ps -a`")
        spec = self.load(ref.lower()) if len(ref) == 64 else None
        if spec is None:
            try:
                spec = self.load(os.readlink(self.paths.name_link(ref)))
            except OSError:
                spec = None
        if spec is not None:
            return spec
        matches = [cid for cid in self.ids() if cid.startswith(ref.lower())]
        if len(matches) > 1:
            raise ConmanError(
                f'container ID prefix "{ref}" is ambiguous: it matches {len(matches)} containers',
                hint="give more characters of the ID, or the name",
            )
        spec = self.load(matches[0]) if matches else None
        if spec is None:
            raise ConmanError(f"no such container: {ref}", hint="list containers with `conman ps -a`")
        return spec

    def records(self, cid: str) -> Records:
        return Records.read(self.paths, cid)

    def create(self, spec: ContainerSpec) -> ContainerSpec:
        """Reserve the name, then write the spec and the runtime's config: of two creates of one
        name, exactly one wins. The spec as written: its named volumes made and their paths in, the
        container whose network it joins by its ID; a bridged one's networks made and checked, its
        host ports picked (of two creates of one port, exactly one wins)."""
        spec = self._joined(spec)
        if not spec.bridged:
            return self._create(spec)
        from conman_systemd.core.network_plan import locked, prepare

        with locked(self.paths):
            return self._create(prepare(self.paths, spec, self.all()))

    def _create(self, spec: ContainerSpec) -> ContainerSpec:
        self._reserve_name(spec.name, spec.id)
        try:
            os.makedirs(self.paths.containers, mode=0o700, exist_ok=True)  # root's alone, as names/
            os.mkdir(self.paths.container(spec.id), mode=0o700)
            etc_files.write(self.paths, spec)
            set_aside(self.paths, spec.id)
            spec = self._save_with_volumes(spec)
        except BaseException as e:
            import shutil

            shutil.rmtree(self.paths.container(spec.id), ignore_errors=True)
            os.unlink(self.paths.name_link(spec.name))
            if isinstance(e, OSError):
                raise ConmanError(
                    f"cannot write the state of container {spec.name} in {self.paths.root}: {e.strerror}",
                    hint="free some space there, or choose another --root",
                ) from None
            raise
        return spec

    def _joined(self, spec: ContainerSpec) -> ContainerSpec:
        """--network container:NAME by that container's ID (no such container: the error)."""
        if spec.network_of is None or is_id(spec.network_of):
            return spec
        return spec.replace(network=f"container:{self.resolve(spec.network_of).id}")

    def declare(self, spec: ContainerSpec) -> None:
        """A declared container at its unit's start: created, or (when a restart or an unclean end
        left it) its spec and OCI config rewritten from the definition in place: its back-off and
        its writable layer stay, as a restarted container keeps them."""
        spec = self._joined(spec)
        old = self.load(spec.id)
        if old is None:
            if os.path.isdir(self.paths.container(spec.id)):  # a half-made one: made again
                from conman_systemd.container.removal import remove_trees

                remove_trees(self.paths.container(spec.id))
            self.create(spec)
            return
        if not old.declared or old.name != spec.name:
            raise ConmanError(f"container {old.name} has the ID of declared container {spec.name}")
        if not spec.bridged:
            self._redeclare(old, spec)
            return
        from conman_systemd.core.network_plan import locked, prepare

        picked = {(p.container_port, p.protocol): p.host_port for p in old.ports}  # its own, kept
        ports = tuple(p.replace(host_port=p.host_port or picked.get((p.container_port, p.protocol), 0))
                      for p in spec.ports)  # fmt: skip
        with locked(self.paths):
            self._redeclare(old, prepare(self.paths, spec.replace(ports=ports), self.all()))

    def _redeclare(self, old: ContainerSpec, spec: ContainerSpec) -> None:
        etc_files.write(self.paths, spec)
        self._save_with_volumes(spec.replace(volumes=_same_anonymous(old, spec)))
        remove_records(self.paths, spec.id, ("error",))  # this start writes its own

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

    def rename(self, spec: ContainerSpec, name: str) -> None:
        """docker's rename: the new name is reserved first (of two, one wins), then the spec and
        the OCI config say it, then the old name goes. A running container's unit keeps the
        description and log identifier it started with, as docker's logs keep CONTAINER_NAME."""
        self._reserve_name(name, spec.id)
        self.save(spec.replace(name=name))
        _unlink_if(self.paths.name_link(spec.name), spec.id)

    def _save_with_volumes(self, spec: ContainerSpec) -> ContainerSpec:
        """Named volumes are made, and bind sources, before the spec that uses them is written;
        no volume goes meanwhile (see core/volumes.py)."""
        _make_bind_sources(spec)
        if not any(v.name or v.anonymous for v in spec.volumes):
            self.save(spec)
            return spec
        from conman_systemd.core.volumes import Volumes

        volumes = Volumes(self.paths)
        with volumes.locked(shared=True):
            resolved = volumes.resolve(spec)
            try:
                self.save(resolved)
            except BaseException:
                volumes.forget_anonymous(resolved, spec)
                raise
        return resolved

    def save(self, spec: ContainerSpec) -> None:
        """A changed spec of an existing container, with the OCI config the runtime reads then."""
        write_atomic(self.paths.oci_config(spec.id), fastjson.dumps(oci.config(spec, self.paths)))
        write_atomic(self.paths.spec(spec.id), spec.to_json())

    def locked(self, spec: ContainerSpec) -> Lock:
        """Serialise conman commands acting on one container (start, stop, rm...)."""
        return Lock(self.paths.lock(spec.id), spec.name)


class Lock:
    """An exclusive flock(2) on a container's lock file, held inside a `with` block."""

    def __init__(self, path: str, name: str) -> None:
        self.path = path
        self.name = name
        self.fd = -1

    def __enter__(self) -> None:
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            raise ConmanError(f"no such container: {self.name}") from None
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        os.close(self.fd)


def _unlink_if(link: str, target: str) -> None:
    try:
        if os.readlink(link) == target:
            os.unlink(link)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise


def _same_anonymous(old: ContainerSpec, new: ContainerSpec) -> tuple[Volume, ...]:
    """A declared container made again keeps its anonymous volumes (by destination)."""
    kept = {v.destination: v.name for v in old.volumes if v.anonymous}
    return tuple(v.replace(name=kept.get(v.destination, "")) if v.anonymous else v for v in new.volumes)


def _make_bind_sources(spec: ContainerSpec) -> None:
    """A bind's missing host directory is made, as docker makes it (root's, 0755)."""
    for volume in spec.volumes:
        if volume.name or volume.anonymous:
            continue
        try:
            os.makedirs(volume.source, mode=0o755, exist_ok=True)
        except OSError as e:
            raise ConmanError(
                f"cannot create {volume.source}, the source of volume {volume.destination}: {e.strerror}"
            ) from None

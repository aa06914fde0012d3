"""The volume store without systemd: made whole once, resolved into specs, removed only unused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from conman_systemd.container.paths import Paths
from conman_systemd.container.spec import ContainerSpec, Volume
from conman_systemd.core.volumes import Volumes
from conman_systemd.errors import ConmanError


def _spec(*volumes: Volume) -> ContainerSpec:
    return ContainerSpec(id="c" * 64, name="app", image="busybox", image_id="", rootfs="", command=("true",),
                         volumes=volumes)  # fmt: skip


def test_a_volume_is_made_once_and_stays_root_s(tmp_path: Path) -> None:
    volumes = Volumes(Paths(root=os.fspath(tmp_path), runroot=os.fspath(tmp_path / "run")))
    made = volumes.create("data", {"tier": "db"})
    assert volumes.create("data") == made  # docker's: the existing one
    assert stat.S_IMODE(os.stat(tmp_path / "volumes").st_mode) == 0o700
    assert (tmp_path / "volumes" / "data" / "_data").is_dir()
    assert [v.name for v in volumes.all()] == ["data"] and not list((tmp_path / "volumes").glob(".new-*"))
    with pytest.raises(ConmanError, match='^invalid volume name "a": use letters'):
        volumes.create("a")


def test_specs_get_their_volumes_and_a_used_one_stays(tmp_path: Path) -> None:
    paths = Paths(root=os.fspath(tmp_path), runroot=os.fspath(tmp_path / "run"))
    volumes = Volumes(paths)
    spec = volumes.resolve(_spec(Volume(source="/srv", destination="/srv"),
                                 Volume(source="", destination="/data", name="data"),
                                 Volume(source="", destination="/cache", anonymous=True)))  # fmt: skip
    bind, named, anonymous = spec.volumes
    assert bind == Volume(source="/srv", destination="/srv")
    assert named.source == paths.volume_data("data")
    assert len(anonymous.name) == 64 and anonymous.source == paths.volume_data(anonymous.name)
    assert volumes.find(anonymous.name) is not None and volumes.get(anonymous.name).anonymous
    with pytest.raises(ConmanError, match=r"^volume data is in use by container app \(cccccccccccc\)$"):
        volumes.remove("data", [spec])
    assert volumes.prune([spec], every=True) == []
    assert [name for name, _ in volumes.prune([], every=False)] == [anonymous.name]  # anonymous ones only
    assert [v.name for v in volumes.all()] == ["data"]
    volumes.remove("data", [])
    assert volumes.all() == []

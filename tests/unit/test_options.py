"""Option parsing: typed values out, one clear message for each bad value."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from conman_systemd.container.spec import Volume
from conman_systemd.core import options
from conman_systemd.errors import ConmanError


@pytest.mark.parametrize(("text", "number"), [("TERM", 15), ("SIGKILL", 9), ("sigint", 2), ("10", 10)])
def test_signals(text: str, number: int) -> None:
    assert options.parse_signal(text) == signal.Signals(number)


def test_env_takes_values_from_conman_environment_and_files(tmp_path: Path) -> None:
    f = tmp_path / "env"
    f.write_text("# comment\n\nB=2\nHOME\n")
    got = options.parse_env(
        ["A=1", "FROM_HERE", "MISSING"], [os.fspath(f)], {"FROM_HERE": "x", "HOME": "/h"}
    )
    assert got == ["B=2", "HOME=/h", "A=1", "FROM_HERE=x"]


def test_env_file_bad_line(tmp_path: Path) -> None:
    f = tmp_path / "env"
    f.write_text("=oops\n")
    with pytest.raises(ConmanError) as e:
        options.parse_env([], [os.fspath(f)], {})
    assert (
        e.value.message
        == f"invalid environment variable \"=oops\" in {f} line 1: the name must be non-empty, without spaces or '='"
    )


def test_volumes(tmp_path: Path) -> None:
    assert options.parse_volume(f"{tmp_path}:/data:ro") == Volume(
        source=os.fspath(tmp_path), destination="/data", read_only=True
    )
    assert options.parse_volume(f"{tmp_path}/:/data/") == Volume(
        source=os.fspath(tmp_path), destination="/data", read_only=False
    )


def test_users_from_the_image(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n")
    (tmp_path / "etc/group").write_text("root:x:0:\nstaff:x:50:\n")
    assert options.parse_user("app", os.fspath(tmp_path)) == (1000, 1000)
    assert options.parse_user("app:staff", os.fspath(tmp_path)) == (1000, 50)
    assert options.parse_user("7:8", os.fspath(tmp_path)) == (7, 8)
    assert options.parse_user("7", os.fspath(tmp_path)) == (7, 0)
    with pytest.raises(
        ConmanError, match=r'^invalid user "0:0:0": use UID\[:GID\] or USER\[:GROUP\] of the image$'
    ):
        options.parse_user("0:0:0", os.fspath(tmp_path))


@pytest.mark.parametrize(("text", "lines"), [("all", None), ("0", 0), ("25", 25)])
def test_tail(text: str, lines: int | None) -> None:
    assert options.parse_tail(text) == lines


@pytest.mark.parametrize("text", ["-1", "x", "", "1.5"])
def test_bad_tail(text: str) -> None:
    with pytest.raises(
        ConmanError, match=f'^invalid --tail "{re.escape(text)}": use a number of lines or all$'
    ):
        options.parse_tail(text)


@pytest.mark.parametrize(("text", "parsed"), [("no", ("no", 0)), ("on-failure:5", ("on-failure", 5)),
                                               ("always", ("always", 0))])  # fmt: skip
def test_restart(text: str, parsed: tuple[str, int]) -> None:
    assert options.parse_restart(text) == parsed


@pytest.mark.parametrize("text", ["always:3", "on-failure:x", "maybe", ""])
def test_bad_restart(text: str) -> None:
    with pytest.raises(ConmanError, match="invalid restart policy"):
        options.parse_restart(text)


@pytest.mark.parametrize("name", ["web", "a.b-c_d", "9"])
def test_good_names(name: str) -> None:
    assert options.validate_name(name) == name


@pytest.mark.parametrize("name", ["", "-x", "a b", "a/b", "_x"])
def test_bad_names(name: str) -> None:
    with pytest.raises(ConmanError, match="invalid container name"):
        options.validate_name(name)


@pytest.mark.parametrize("text", ["web", "my-host.example", "a" * 63, "a1.b2.c3", "x" * 30 + "." + "y" * 33])
def test_hostnames(text: str) -> None:
    assert options.parse_hostname(text) == text


@pytest.mark.parametrize(
    "text", ["", "a_b", "-a", "a-", "a..b", ".a", "a.", "a" * 64 + ".b", "x" * 65, "h\n"]
)
def test_bad_hostnames(text: str) -> None:
    with pytest.raises(ConmanError, match="^invalid hostname "):
        options.parse_hostname(text)


def test_stop_timeout_bounds() -> None:
    assert options.parse_stop_timeout(0) == 0 and options.parse_stop_timeout(2**31 - 1) == 2**31 - 1
    with pytest.raises(
        ConmanError, match=r"^invalid stop timeout 2147483648: it must be at most 2147483647 seconds$"
    ):
        options.parse_stop_timeout(2**31)


@pytest.mark.parametrize(
    ("dest", "shown"), [("/", "/"), ("/..", "/"), ("//", "/"), ("/dev", "/dev"), ("/sys/x", "/sys/x")]
)
def test_volumes_stay_off_what_the_runtime_mounts(dest: str, shown: str) -> None:
    message = f'invalid volume "/var:{dest}": the destination {shown} is not allowed: the runtime sets up /, /dev, /proc and /sys itself'
    with pytest.raises(ConmanError, match=f"^{re.escape(message)}$"):
        options.parse_volume(f"/var:{dest}")
    assert options.parse_volume("/var:/dev/x").destination == "/dev/x"


def test_volume_options_take_docker_s_selinux_letters_as_no_ops() -> None:
    from conman_systemd.container.spec import Volume
    from conman_systemd.core.options import parse_volume

    assert parse_volume("/var:/x:ro,Z") == Volume(source="/var", destination="/x", read_only=True)
    assert parse_volume("/var:/x:z") == Volume(source="/var", destination="/x", read_only=False)
    with pytest.raises(
        ConmanError,
        match='^invalid volume "/var:/x:ro,rw": the options are ro or rw, nocopy, z, Z, not "ro,rw"$',
    ):
        parse_volume("/var:/x:ro,rw")


def test_volumes_by_name_and_anonymous() -> None:
    from conman_systemd.container.spec import Volume
    from conman_systemd.core.mount_options import parse_mount
    from conman_systemd.core.options import parse_volume

    assert parse_volume("data:/x:ro,nocopy") == Volume(source="", destination="/x", read_only=True, name="data",
                                                       copy_up=False)  # fmt: skip
    assert parse_volume("/x/") == Volume(source="", destination="/x", anonymous=True)
    assert parse_mount("type=volume,source=db,target=/var/lib/db,readonly") == Volume(
        source="", destination="/var/lib/db", read_only=True, name="db"
    )
    assert parse_mount("type=volume,target=/x,volume-nocopy") == Volume(
        source="", destination="/x", anonymous=True, copy_up=False
    )
    for bad in ("x:/y", "-x:/y", "a/b:/y"):
        with pytest.raises(
            ConmanError, match="the source must be an absolute path on the host or a volume name"
        ):
            parse_volume(bad)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("nofile=1024:2048", ("nofile", 1024, 2048)),
        ("nproc=50", ("nproc", 50, 50)),
        ("core=-1", ("core", -1, -1)),
        ("memlock=64:-1", ("memlock", 64, -1)),
    ],  # fmt: skip
)
def test_ulimits(text: str, parsed: tuple[str, int, int]) -> None:
    from conman_systemd.core.options import parse_ulimit

    assert parse_ulimit(text) == parsed


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("nofile", "use NAME=SOFT[:HARD]"),
        ("files=1", "use NAME=SOFT[:HARD]"),
        ("nofile=a", "use NAME=SOFT[:HARD]"),
        ("nofile=3:2", "the soft limit must not exceed the hard one"),
        ("nofile=-1:5", "the soft limit must not exceed the hard one"),
        ("nofile=-2", "the soft limit must not exceed the hard one"),
    ],  # fmt: skip
)
def test_bad_ulimits(text: str, problem: str) -> None:
    from conman_systemd.core.options import parse_ulimit

    with pytest.raises(ConmanError) as e:
        parse_ulimit(text)
    assert e.value.message.startswith(f'invalid ulimit "{text}": {problem}')


def test_tmpfs_and_mount() -> None:
    from conman_systemd.container.spec import Tmpfs, Volume
    from conman_systemd.core.mount_options import parse_mount, parse_tmpfs

    assert parse_tmpfs("/cache") == Tmpfs(
        destination="/cache", options=("nosuid", "nodev", "noexec", "mode=1777")
    )
    assert parse_tmpfs("/c:size=1m,exec").options == ("nosuid", "nodev", "mode=1777", "size=1m", "exec")
    assert parse_mount("type=bind,source=/var,target=/d,readonly") == Volume(
        source="/var", destination="/d", read_only=True
    )
    tmpfs = Tmpfs(destination="/t", options=("nosuid", "nodev", "noexec", "mode=1777", "size=1m"))
    assert parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m") == tmpfs


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        ("tmpfs", "rel", 'invalid tmpfs "rel": the destination must be an absolute path'),
        (
            "tmpfs",
            "/sys/x",
            'invalid tmpfs "/sys/x": the destination /sys/x is not allowed: the runtime sets up /, /dev, /proc and /sys itself',
        ),
        ("tmpfs", "/x:a;b", 'invalid tmpfs "/x:a;b": options are words or KEY=VALUE, separated by commas'),
        (
            "mount",
            "type=volume,target=/x,volume-driver=nfs",
            'invalid mount "type=volume,target=/x,volume-driver=nfs": the only volume driver is local',
        ),
        (
            "mount",
            "type=bind,target=/x",
            'invalid mount "type=bind,target=/x": a bind needs source=ABSOLUTE-PATH',
        ),
        (
            "mount",
            "type=foo,target=/x",
            'invalid mount "type=foo,target=/x": the type must be bind, volume or tmpfs, not "foo"',
        ),
        (
            "mount",
            "type=tmpfs,target=/x,colour=red",
            'invalid mount "type=tmpfs,target=/x,colour=red": unknown option colour',
        ),
        ("mount", "type=tmpfs", 'invalid mount "type=tmpfs": give its target=PATH'),
    ],
)
def test_bad_tmpfs_and_mounts(parse: str, text: str, message: str) -> None:
    from conman_systemd.core.mount_options import parse_mount, parse_tmpfs

    with pytest.raises(ConmanError) as e:
        (parse_tmpfs if parse == "tmpfs" else parse_mount)(text)
    assert e.value.message == message


def test_the_image_s_volumes_are_anonymous_volumes_unless_a_mount_covers_them() -> None:
    from conman_systemd.container.spec import Tmpfs, Volume
    from conman_systemd.core.create import _with_image_volumes

    mine = (Volume(source="/srv", destination="/data"),)
    got = _with_image_volumes(
        mine, (Tmpfs(destination="/cache"),), ["/data", "/cache", "/var/db/", "/proc", "/var/db"]
    )
    assert got == (*mine, Volume(source="", destination="/var/db", anonymous=True))

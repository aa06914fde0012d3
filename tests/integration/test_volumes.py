"""Named and anonymous volumes (`-v NAME:DST`, `-v DST`, `--mount type=volume`, `conman volume`)."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import Conman

pytestmark = pytest.mark.systemd

LIST_TREE = "cd {} && find . -mindepth 1 -exec stat -c '%n %a %u:%g %F %Y' {{}} + | sort"


def test_a_named_volume_outlives_its_containers_and_starts_from_the_image(clean: Conman) -> None:
    # A new, empty volume gets what the image has at the mount point (modes, owners, times, links).
    clean.ok("run", "--rm", "-v", "usr:/usr", "busybox", "true")
    image_usr = clean.ok("run", "--rm", "busybox", "sh", "-c", LIST_TREE.format("/usr"))
    assert image_usr and clean.ok("run", "--rm", "-v", "usr:/data", "busybox", "sh", "-c",
                                  LIST_TREE.format("/data")) == image_usr  # fmt: skip
    # What a container writes stays for the next one; a volume with files is not copied to again.
    clean.ok(
        "run", "--rm", "-v", "usr:/data", "busybox", "sh", "-c", "rm -r /data/*; echo kept > /data/note"
    )
    assert clean.ok("run", "--rm", "-v", "usr:/usr:ro", "busybox", "ls", "/usr") == "note\n"
    bad = clean("run", "--rm", "-v", "usr:/usr:ro", "busybox", "touch", "/usr/x")
    assert bad.returncode == 1 and "Read-only file system" in bad.stderr
    # nocopy: the volume stays empty; --mount spells the same.
    clean.ok(
        "run", "--rm", "--mount", "type=volume,source=bare,target=/usr,volume-nocopy", "busybox", "true"
    )
    assert clean.ok("run", "--rm", "-v", "bare:/data", "busybox", "ls", "-A", "/data") == ""
    assert clean.ok("volume", "ls", "-q") == "bare\nusr\n"
    assert clean.ok("volume", "rm", "usr", "bare") == "usr\nbare\n"
    assert clean.ok("volume", "ls", "-q") == ""


def test_volume_commands(clean: Conman) -> None:
    assert clean.ok("volume", "create", "--label", "tier=db", "data") == "data\n"
    assert clean.ok("volume", "create", "data") == "data\n"  # docker's: an existing one is kept
    (info,) = json.loads(clean.ok("volume", "inspect", "data"))
    assert (info["Name"], info["Driver"], info["Labels"], info["Scope"]) == (
        "data",
        "local",
        {"tier": "db"},
        "local",
    )
    assert info["Mountpoint"] == "/var/lib/conman/volumes/data/_data"
    assert clean.ok("volume", "ls") == "DRIVER   VOLUME NAME\nlocal    data\n"
    assert (
        clean.ok("volume", "ls", "-q", "--filter", "label=tier=db", "--filter", "dangling=true") == "data\n"
    )
    cid = clean.ok("run", "-d", "--name", "db", "-v", "data:/var/lib/db", "busybox", "sleep", "1000").strip()
    assert clean.ok("volume", "ls", "-q", "--filter", "dangling=true") == ""
    mounts = json.loads(clean.ok("inspect", "-f", "{{json .Mounts}}", "db"))
    assert mounts == [{"Type": "volume", "Name": "data", "Source": info["Mountpoint"], "Driver": "local",
                       "Destination": "/var/lib/db", "Mode": "rw", "RW": True, "Propagation": ""}]  # fmt: skip
    busy = clean("volume", "rm", "data")
    assert (busy.returncode, busy.stdout, busy.stderr) == (
        125,
        "",
        f"Error: volume data is in use by container db ({cid[:12]})\nHint: remove the containers that use it first\n",
    )
    clean.ok("rm", "-f", "db")
    gone = clean("volume", "inspect", "nosuch")
    assert (gone.returncode, gone.stderr) == (
        125,
        "Error: no such volume: nosuch\nHint: see `conman volume ls`\n",
    )
    assert clean.ok("volume", "rm", "-f", "nosuch", "data") == "data\n"
    random_name = clean.ok("volume", "create").strip()
    assert len(random_name) == 64
    clean.ok("volume", "rm", random_name)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["volume", "create", "a"],
            'Error: invalid volume name "a": use letters, digits, _ . and -, starting with a '
            "letter or digit, at least 2 characters\n",
        ),
        (
            ["volume", "create", "-o", "type=nfs", "x1"],
            'Error: volume options are not supported ("type=nfs"): a local volume is a directory\n'
            "Hint: for a tmpfs use `--tmpfs` or `--mount type=tmpfs` on the container\n",
        ),
        (
            ["volume", "create", "-d", "nfs", "x1"],
            'Error: unknown volume driver "nfs": the only driver is local\n',
        ),
        (
            ["volume", "ls", "-f", "colour=red"],
            'Error: invalid filter "colour=red"\nHint: use name=TEXT, label=KEY[=VALUE] or dangling=true|false\n',
        ),
    ],
)
def test_bad_volume_commands(clean: Conman, args: list[str], error: str) -> None:
    bad = clean(*args)
    assert (bad.returncode, bad.stdout, bad.stderr) == (125, "", error)
    assert clean.ok("volume", "ls", "-q") == ""


def test_anonymous_volumes_go_with_run_rm_and_rm_v_or_prune(clean: Conman) -> None:
    # The image's /tmp (1777) is copied up with its mode.
    assert clean.ok("run", "--rm", "-v", "/tmp", "busybox", "stat", "-c", "%a", "/tmp") == "1777\n"
    assert clean.ok("volume", "ls", "-q") == ""
    clean.ok("run", "-d", "--name", "keeps", "-v", "/scratch", "busybox", "sleep", "1000")
    (mount,) = json.loads(clean.ok("inspect", "-f", "{{json .Mounts}}", "keeps"))
    assert mount["Type"] == "volume" and len(mount["Name"]) == 64
    assert clean.ok("inspect", "-f", "{{json .HostConfig.Binds}}", "keeps") == "[]\n"
    clean.ok("rm", "-f", "keeps")  # docker's rm keeps anonymous volumes
    assert clean.ok("volume", "ls", "-q") == mount["Name"] + "\n"
    clean.ok("volume", "create", "named")
    pruned = clean.ok("volume", "prune")
    assert pruned.startswith(f"Deleted Volumes:\n{mount['Name']}\n\nTotal reclaimed space: ")
    assert clean.ok("volume", "ls", "-q") == "named\n"
    clean.ok("run", "-d", "--name", "gone", "-v", "/scratch", "busybox", "sleep", "1000")
    clean.ok("rm", "-f", "-v", "gone")
    assert clean.ok("volume", "prune", "--all").startswith("Deleted Volumes:\nnamed\n\n")
    assert clean.ok("volume", "ls", "-q") == ""

"""Privileges without a runtime: capabilities by docker's rules, the seccomp profile converted for
the container, and every bad value's one line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from conman_systemd.container import security
from conman_systemd.container.spec import ContainerSpec
from tests.unit.test_cli import conman, store_busybox_image


def make(**kw: Any) -> ContainerSpec:
    base = ContainerSpec(id="a" * 64, name="w", image="i", image_id="b" * 64, rootfs="/r", command=("x",))
    return base.replace(**kw)


def test_capabilities_follow_docker_s_rules() -> None:
    assert security.capabilities(make()) == list(security.DEFAULT_CAPS)
    assert security.capabilities(make(cap_drop=("ALL",))) == []
    assert security.capabilities(make(cap_drop=("ALL",), cap_add=("CAP_NET_RAW",))) == ["CAP_NET_RAW"]
    assert "CAP_NET_RAW" not in security.capabilities(make(cap_drop=("CAP_NET_RAW",)))
    assert security.capabilities(make(cap_add=("ALL",))) == list(security.known_caps())
    assert security.capabilities(make(privileged=True)) == list(security.known_caps())


PROFILE = {
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
    "syscalls": [
        {"names": ["read", "unshare", "mount", "clone"], "action": "SCMP_ACT_ALLOW", "includes": {}, "excludes": {}},
        {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64"]}},
        {"names": ["chroot"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_CHROOT"]}},
        {"names": ["chroot"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_SYS_CHROOT"]}, "errnoRet": 1},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}], "comment": "x"},
    ],
}  # fmt: skip


def test_the_profile_is_converted_for_the_machine_and_capabilities() -> None:
    out = security.convert(PROFILE, list(security.DEFAULT_CAPS), "x86_64")
    assert out["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
    assert (out["defaultAction"], out["defaultErrnoRet"]) == ("SCMP_ACT_ERRNO", 38)
    names = [(r["names"], r["action"]) for r in out["syscalls"]]
    assert names[:4] == [(["read"], "SCMP_ACT_ALLOW"), (["arch_prctl"], "SCMP_ACT_ALLOW"),
                         (["chroot"], "SCMP_ACT_ALLOW"), (["personality"], "SCMP_ACT_ALLOW")]  # fmt: skip
    # without CAP_SYS_ADMIN: no unshare, no mount, and clone without namespace flags only
    assert out["syscalls"][-2:] == [
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0x7E020000, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
    ]  # fmt: skip
    admin = security.convert(PROFILE, ["CAP_SYS_ADMIN"], "aarch64")
    assert admin["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    assert [r["names"] for r in admin["syscalls"]][:2] == [["read", "unshare", "mount", "clone"], ["chroot"]]
    assert admin["syscalls"][1]["action"] == "SCMP_ACT_ERRNO"  # no CAP_SYS_CHROOT: its ERRNO rule


def test_dry_run_config_has_the_filter_a_cgroup_namespace_and_masks(tmp_path: Path) -> None:
    store_busybox_image(tmp_path)
    proc = conman("--root", os.fspath(tmp_path), "run", "--dry-run", "busybox", "true")
    config = json.loads(proc.stdout.partition("# OCI config\n")[2])
    assert {"type": "cgroup"} in config["linux"]["namespaces"]
    assert "/sys/devices/virtual/powercap" in config["linux"]["maskedPaths"]
    if os.path.exists(security.DEFAULT_PROFILE):  # containers-common's (scripts/setup.sh installs it)
        assert config["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    privileged = conman("--root", os.fspath(tmp_path), "run", "--dry-run", "--privileged", "busybox", "true")
    config = json.loads(privileged.stdout.partition("# OCI config\n")[2])
    assert "seccomp" not in config["linux"] and config["linux"]["maskedPaths"] == []


BAD = [
    (("--cap-add", "bogus"), 'unknown capability "bogus": use a name such as NET_ADMIN, or ALL'),
    (("--security-opt", "apparmor=x"),
     'invalid --security-opt "apparmor=x": use no-new-privileges, seccomp=unconfined or seccomp=FILE'),
    (("--security-opt", "seccomp=/nonexistent.json"),
     "seccomp profile /nonexistent.json not found\nHint: give a profile's path, or unconfined"),
    (("--device", "/dev/nosuch"), "device /dev/nosuch: No such file or directory"),
    (("--device", "/dev/null:/dev/x:rwx"), 'invalid device "/dev/null:/dev/x:rwx": use /dev/HOST[:/dev/CONTAINER][:rwm]'),
    (("--device", "/etc/passwd"), 'invalid device "/etc/passwd": use /dev/HOST[:/dev/CONTAINER][:rwm]'),
]  # fmt: skip


@pytest.mark.parametrize(("flags", "message"), BAD)
def test_a_bad_privilege_flag_is_one_line(tmp_path: Path, flags: tuple[str, ...], message: str) -> None:
    store_busybox_image(tmp_path)
    proc = conman("--root", os.fspath(tmp_path), "create", *flags, "busybox", "true")
    assert (proc.returncode, proc.stdout, proc.stderr) == (125, "", f"Error: {message}\n")


def test_init_is_the_host_s_catatonit_bound_in_as_pid_1(tmp_path: Path) -> None:
    store_busybox_image(tmp_path)
    proc = conman("--root", os.fspath(tmp_path), "run", "--dry-run", "--init", "busybox", "sleep", "1")
    config = json.loads(proc.stdout.partition("# OCI config\n")[2])
    assert config["process"]["args"] == ["/run/conman-init", "--", "sleep", "1"]
    assert {"destination": "/run/conman-init", "type": "bind", "source": security.find_init(),
            "options": ["rbind", "ro"]} in config["mounts"]  # fmt: skip

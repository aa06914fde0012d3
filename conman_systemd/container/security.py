"""A container's privileges in its OCI config: capabilities, the seccomp filter, devices.

Defaults are docker's: its 14 capabilities, and a seccomp allowlist. The filter is the profile
containers-common ships (/usr/share/containers/seccomp.json, podman's), converted to the OCI form
for this machine's architecture and the container's capabilities, and made as strict as docker's
where podman's is looser: without CAP_SYS_ADMIN no new namespaces (clone's flags, unshare, setns)
and no mounts, so `unshare -U -r -m` fails as in docker. io_uring and the kernel keyring (add_key)
are not in the allowlist. `--privileged` has every capability, no filter, and no masked paths.
"""

from __future__ import annotations

import os

from conman_systemd import fastjson
from conman_systemd.errors import ConmanError, quoted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.container.spec import ContainerSpec

DEFAULT_PROFILE = "/usr/share/containers/seccomp.json"

# docker's default capabilities.
DEFAULT_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)  # fmt: skip
# Every capability by number (linux/capability.h); a kernel knows those up to cap_last_cap.
ALL_CAPS = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)  # fmt: skip


def parse_capability(text: str) -> str:
    """NET_ADMIN, cap_net_admin or ALL, as docker takes them: CAP_NET_ADMIN or ALL."""
    upper = text.strip().upper()
    if upper == "ALL":
        return upper
    name = upper if upper.startswith("CAP_") else f"CAP_{upper}"
    if name not in ALL_CAPS:
        raise ConmanError(f"unknown capability {quoted(text)}: use a name such as NET_ADMIN, or ALL")
    return name


def known_caps() -> tuple[str, ...]:
    """The capabilities a container can be given here: those of our bounding set (the kernel's,
    less what a container or VM we run in withheld; the runtime cannot grant more)."""
    try:
        with open("/proc/self/status") as f:
            bounding = next(int(line.split()[1], 16) for line in f if line.startswith("CapBnd:"))
    except (OSError, ValueError, StopIteration):
        return ALL_CAPS
    return tuple(name for bit, name in enumerate(ALL_CAPS) if bounding >> bit & 1)


def capabilities(spec: ContainerSpec) -> list[str]:
    """docker's rules: drop, then add; ALL in either means every capability."""
    if spec.privileged or "ALL" in spec.cap_add:
        return list(known_caps())
    caps = [] if "ALL" in spec.cap_drop else [c for c in DEFAULT_CAPS if c not in spec.cap_drop]
    return caps + [c for c in spec.cap_add if c not in caps and c in known_caps()]


_ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x",
           "i686": "x86", "riscv64": "riscv64"}  # fmt: skip
# Namespaces a clone may create only with CAP_SYS_ADMIN (docker's mask): NS, UTS, IPC, USER, PID,
# NET, CGROUP.
CLONE_NEW_MASK = 0x7E020000
ADMIN_ONLY = frozenset({"unshare", "setns", "mount", "umount", "umount2", "pivot_root", "clone3",
                        "mount_setattr", "move_mount", "open_tree", "fsopen", "fsmount",
                        "fsconfig"})  # fmt: skip


def _applies(rule: dict[str, Any], caps: set[str], arch: str) -> bool:
    inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
    if inc.get("arches") and arch not in inc["arches"]:
        return False
    if inc.get("caps") and not set(inc["caps"]) <= caps:
        return False
    if exc.get("arches") and arch in exc["arches"]:
        return False
    return not (exc.get("caps") and set(exc["caps"]) & caps)


def _oci_rule(rule: dict[str, Any], names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"names": names, "action": rule["action"]}
    if rule.get("args"):
        out["args"] = [{k: a[k] for k in ("index", "value", "valueTwo", "op")} for a in rule["args"]]
    if "errnoRet" in rule:
        out["errnoRet"] = rule["errnoRet"]
    return out


def convert(profile: dict[str, Any], caps: list[str], machine: str) -> dict[str, Any]:
    """A containers-format profile (includes/excludes by capability and architecture) as the
    OCI config's linux.seccomp for these capabilities on this machine."""
    arch = _ARCHES.get(machine, machine)
    held = set(caps)
    admin = "CAP_SYS_ADMIN" in held
    syscalls = []
    for rule in profile.get("syscalls") or []:
        if not _applies(rule, held, arch):
            continue
        names = list(rule["names"])
        if rule["action"] == "SCMP_ACT_ALLOW" and not admin:
            names = [n for n in names if n not in ADMIN_ONLY and (n != "clone" or rule.get("args"))]
        if names:
            syscalls.append(_oci_rule(rule, names))
    if not admin:  # docker's clone rule: no namespace flags
        syscalls.append(
            {
                "names": ["clone"],
                "action": "SCMP_ACT_ALLOW",
                "args": [{"index": 0, "value": CLONE_NEW_MASK, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
            }
        )
        # clone3 hides its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone
        syscalls.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38})  # fmt: skip
    architectures: list[str] = []
    for entry in profile.get("archMap") or []:  # SCMP_ARCH_X86_64 for x86_64, _AARCH64 for aarch64
        if entry["architecture"] == f"SCMP_ARCH_{machine.upper()}":
            architectures = [entry["architecture"], *entry.get("subArchitectures", [])]
    return {"defaultAction": profile.get("defaultAction", "SCMP_ACT_ERRNO"),
            **({"defaultErrnoRet": profile["defaultErrnoRet"]} if "defaultErrnoRet" in profile else {}),
            "architectures": architectures, "syscalls": syscalls}  # fmt: skip


def seccomp(spec: ContainerSpec, caps: list[str]) -> dict[str, Any] | None:
    """The filter for the container: None when unconfined (or privileged), or when the default
    profile is not installed (containers-common; `conman system check` says so)."""
    if spec.privileged or spec.seccomp == "unconfined":
        return None
    path = spec.seccomp or DEFAULT_PROFILE
    try:
        with open(path) as f:
            profile = fastjson.loads(f.read())
    except FileNotFoundError:
        if spec.seccomp:
            raise ConmanError(f"seccomp profile {path} not found") from None
        return None
    except (OSError, ValueError) as e:
        raise ConmanError(f"cannot read the seccomp profile {path}: {e}") from None
    return convert(profile, caps, os.uname().machine)


def parse_security_opt(text: str) -> str:
    """docker's --security-opt: no-new-privileges[=true|false], seccomp=unconfined|FILE."""
    key, _, value = text.partition("=")
    if key == "no-new-privileges" and value in ("", "true", "false"):
        return text
    if key == "seccomp" and value:
        if value != "unconfined" and not os.path.isfile(value):
            raise ConmanError(
                f"seccomp profile {value} not found", hint="give a profile's path, or unconfined"
            )
        return text
    raise ConmanError(
        f"invalid --security-opt {quoted(text)}: use no-new-privileges, seccomp=unconfined or seccomp=FILE"
    )


def parse_device(text: str) -> str:
    """docker's --device HOST[:CONTAINER][:PERMISSIONS] (rwm), normalised to all three parts."""
    parts = text.split(":")
    host = parts[0]
    inside = parts[1] if len(parts) > 1 and parts[1].startswith("/") else host
    perms = parts[-1] if len(parts) > 1 and not parts[-1].startswith("/") else "rwm"
    if len(parts) > 3 or not host.startswith("/dev/") or not perms or not set(perms) <= set("rwm"):
        raise ConmanError(f"invalid device {quoted(text)}: use /dev/HOST[:/dev/CONTAINER][:rwm]")
    try:
        mode = os.stat(host).st_mode
    except OSError as e:
        raise ConmanError(f"device {host}: {e.strerror}") from None
    import stat

    if not (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)):
        raise ConmanError(f"{host} is not a device")
    return f"{host}:{inside}:{perms}"


def devices(spec: ContainerSpec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(linux.devices, the device cgroup's allow rules) of --device; the host's nodes as they are now."""
    import stat

    nodes, rules = [], []
    for item in spec.devices:
        host, inside, perms = item.split(":")
        st = os.stat(host)
        kind = "c" if stat.S_ISCHR(st.st_mode) else "b"
        major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
        nodes.append({"path": inside, "type": kind, "major": major, "minor": minor,
                      "fileMode": stat.S_IMODE(st.st_mode), "uid": 0, "gid": 0})  # fmt: skip
        rules.append({"allow": True, "type": kind, "major": major, "minor": minor, "access": perms})
    return nodes, rules


# Static builds only: the init runs in the container's root file system, whatever libc it has.
INITS = ("/usr/bin/catatonit", "/usr/libexec/podman/catatonit", "/usr/bin/tini-static")
INIT_PATH = "/run/conman-init"  # where the container sees it (podman's is /run/podman-init)


def find_init() -> str:
    for path in INITS:
        if os.access(path, os.X_OK):
            return path
    raise ConmanError(
        "--init needs catatonit on the host", hint="apt-get install catatonit (or tini-static)"
    )

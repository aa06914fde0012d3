"""What a sandbox boots: its unit files, its masks and its mounts, as pure data (no I/O)."""

from __future__ import annotations

import os
import re

SYSTEMD = "/usr/lib/systemd/systemd"
TARGET = "conman-sandbox.target"
NAME_PREFIX = "conman-sandbox-"
NAME_RE = re.compile(rf"^{NAME_PREFIX}(\d+)-[0-9a-f]+$")

# Units that would touch the host through filesystems, sysctls or devices the sandbox shares
# with it (unmasked, a boot wiped the host's /tmp: tmpfiles-setup runs `D /tmp`), or that only
# make sense on a machine of its own (logins, gettys, time sync).
MASKED_UNITS = (
    "systemd-tmpfiles-setup.service",
    "systemd-tmpfiles-setup-dev.service",
    "systemd-tmpfiles-setup-dev-early.service",
    "systemd-tmpfiles-clean.service",
    "systemd-tmpfiles-clean.timer",
    "systemd-sysctl.service",
    "systemd-sysusers.service",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
    "proc-sys-fs-binfmt_misc.mount",
    "systemd-modules-load.service",
    "kmod-static-nodes.service",
    "systemd-firstboot.service",
    "systemd-machine-id-commit.service",
    "systemd-random-seed.service",
    "systemd-repart.service",
    "systemd-pcrphase.service",
    "systemd-pcrphase-sysinit.service",
    "systemd-pcrphase-initrd.service",
    "systemd-update-utmp.service",
    "systemd-update-utmp-runlevel.service",
    "systemd-journal-flush.service",
    "systemd-pstore.service",
    "systemd-timesyncd.service",
    "systemd-remount-fs.service",
    "systemd-udevd.service",
    "systemd-udevd-control.socket",
    "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service",
    "systemd-udev-settle.service",
    "systemd-hwdb-update.service",
    "systemd-journald-audit.socket",
    "systemd-boot-update.service",
    "systemd-fsck-root.service",
    "systemd-hostnamed.service",
    "systemd-networkd.service",
    "systemd-resolved.service",
    "dev-hugepages.mount",
    "dev-mqueue.mount",
    "sys-kernel-config.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "sys-fs-fuse-connections.mount",
    "tmp.mount",
    "getty.target",
    "console-getty.service",
    "systemd-logind.service",
    "systemd-ask-password-console.path",
    "systemd-ask-password-wall.path",
    "systemd-initctl.socket",
    "systemd-initctl.service",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "man-db.timer",
    "fstrim.timer",
    "e2scrub_all.timer",
    "e2scrub_reap.service",
    "dpkg-db-backup.timer",
    "logrotate.timer",
)

# The targets the sandbox boots through; whatever the image enabled under them is masked too
# (timers, postgresql, ...): only the units conman needs should start.
WANTS_DIRS = (
    "sysinit.target.wants",
    "basic.target.wants",
    "sockets.target.wants",
    "timers.target.wants",
    "paths.target.wants",
    "local-fs.target.wants",
)

TARGET_UNIT = """\
[Unit]
Description=conman sandbox: the system bus, the journal and transient units
Requires=basic.target dbus.socket systemd-journald.socket
After=basic.target dbus.socket systemd-journald.socket
AllowIsolate=yes
"""

# The journal lives in the sandbox's own /run and dies with it. One file large enough for a whole
# test run: journald 252 can store an entry twice when a file fills up mid-write and it retries
# in a new one (systemd issue 29016); tests check conman's order and completeness, not that.
JOURNALD_CONF = "[Journal]\nStorage=volatile\nRuntimeMaxUse=2G\nRuntimeMaxFileSize=1G\n"


def enabled_units(etc_systemd: str = "/etc/systemd/system") -> list[str]:
    """Units the image enabled under the targets the sandbox boots through."""
    found = []
    for wants in WANTS_DIRS:
        try:
            found += os.listdir(os.path.join(etc_systemd, wants))
        except OSError:
            continue
    return found


def masks(etc_systemd: str = "/etc/systemd/system") -> list[str]:
    return sorted(set(MASKED_UNITS) | set(enabled_units(etc_systemd)))


GENERATOR = "/run/systemd/system-generators/conman-generator"


def generator_script(python: str) -> str:
    """conman's generator for the sandbox's systemd, run by conman's own interpreter: declared
    containers work in a sandbox (definitions in /run/conman/containers, the sandbox's own)."""
    return (
        f"#!{python} -I\nimport sys\n\nfrom conman_systemd.declared.generator import main\n\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )


def sandbox_name(pid: int, token: str) -> str:
    return f"{NAME_PREFIX}{pid}-{token}"


def owner_pid(name: str) -> int | None:
    """The launcher pid encoded in a sandbox cgroup name, or None when it is not one of ours."""
    m = NAME_RE.match(name)
    return int(m.group(1)) if m else None

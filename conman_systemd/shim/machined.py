"""A running container registered with systemd-machined, so `machinectl list`, `machinectl status
NAME` and `systemd-cgls` show it as a container: its unit, its leader (the container's init), its
root. machined drops it when its unit ends. Best effort after the start is done: without machined
(or a bus) the container runs all the same, and --debug says why it is not registered.
"""

from __future__ import annotations

import os

from conman_systemd.container.spec import ContainerSpec
from conman_systemd.dbus.wire import Message, method_call
from conman_systemd.log import debug

MACHINED = "org.freedesktop.machine1"
MANAGER_PATH = "/org/freedesktop/machine1"
MANAGER_IFACE = "org.freedesktop.machine1.Manager"
SERVICE = "conman"  # what machinectl shows as the machine's service
TIMEOUT = 5.0


def register_machine(spec: ContainerSpec, leader: int, root: str) -> Message:
    """RegisterMachine(name, id: 16 bytes, service, class, leader, root directory): for the
    leader's own unit, which machined then follows."""
    machine_id = bytes.fromhex(spec.id[:32])
    return method_call(MACHINED, MANAGER_PATH, MANAGER_IFACE, "RegisterMachine", "sayssus",
                       (spec.name, machine_id, SERVICE, "container", leader, root))  # fmt: skip


def register_in_background(spec: ContainerSpec, leader: int, root: str) -> None:
    """Register from a child of our own and go on at once: machined may take a second to start
    (D-Bus activation), and the container's init, our child until we exit, must not wait for it
    (systemd notices its end only once it is re-parented). The child is in the unit's cgroup: a
    stop ends it too."""
    if os.fork() == 0:
        try:
            register(spec, leader, root)
        finally:
            os._exit(0)


def register(spec: ContainerSpec, leader: int, root: str) -> None:
    from conman_systemd.dbus.connection import Connection, DBusError
    from conman_systemd.dbus.systemd import SYSTEM_BUS
    from conman_systemd.dbus.wire import WireError

    try:
        conn = Connection.connect(SYSTEM_BUS, hello=True, timeout=TIMEOUT)
    except (OSError, ValueError) as e:
        debug(f"shim: not registered with machined: no system bus ({e})")
        return
    try:
        conn.call(register_machine(spec, leader, root), TIMEOUT)
        debug(f"shim: registered with machined as {spec.name}")
    except (DBusError, OSError, WireError) as e:
        debug(f"shim: not registered with machined: {e}")
    finally:
        conn.close()

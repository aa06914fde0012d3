"""systemd's Manager and Unit interfaces as pure message builders (no I/O).

Only the methods conman calls, each with the signature systemd documents in
org.freedesktop.systemd1(5). No introspection at run time.
"""

from __future__ import annotations

from conman_systemd.dbus.wire import Message, method_call

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    # One property for the unit: (name, (signature, value)).
    Property = tuple[str, tuple[str, Any]]

SYSTEMD = "org.freedesktop.systemd1"
MANAGER_PATH = "/org/freedesktop/systemd1"
MANAGER_IFACE = "org.freedesktop.systemd1.Manager"
UNIT_IFACE = "org.freedesktop.systemd1.Unit"
SERVICE_IFACE = "org.freedesktop.systemd1.Service"
PROPERTIES_IFACE = "org.freedesktop.DBus.Properties"


def signal_rule(path: str, interface: str, member: str) -> str:
    """A bus match rule for one of systemd's signals (a direct connection gets all of them)."""
    return f"type='signal',sender='{SYSTEMD}',path='{path}',interface='{interface}',member='{member}'"


def job_removed_rule() -> str:
    return signal_rule(MANAGER_PATH, MANAGER_IFACE, "JobRemoved")


def properties_changed_rule(unit_path: str) -> str:
    return signal_rule(unit_path, PROPERTIES_IFACE, "PropertiesChanged")


def unit_path(unit: str) -> str:
    """The object path of a unit, escaped as systemd's bus_label_escape() does."""
    escaped = "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):02x}" for c in unit)
    return f"/org/freedesktop/systemd1/unit/{escaped}"


def _manager(member: str, signature: str = "", body: tuple[Any, ...] = ()) -> Message:
    return method_call(SYSTEMD, MANAGER_PATH, MANAGER_IFACE, member, signature, body)


def get_property(path: str, interface: str, name: str) -> Message:
    return method_call(SYSTEMD, path, PROPERTIES_IFACE, "Get", "ss", (interface, name))


def get_all_properties(path: str, interface: str) -> Message:
    return method_call(SYSTEMD, path, PROPERTIES_IFACE, "GetAll", "s", (interface,))


def manager_version() -> Message:
    return get_property(MANAGER_PATH, MANAGER_IFACE, "Version")


def system_state() -> Message:
    return get_property(MANAGER_PATH, MANAGER_IFACE, "SystemState")


def subscribe() -> Message:
    # Without Subscribe, systemd sends no JobRemoved or PropertiesChanged to a bus client.
    return _manager("Subscribe")


def start_transient_unit(unit: str, properties: list[Property], mode: str = "fail") -> Message:
    return _manager("StartTransientUnit", "ssa(sv)a(sa(sv))", (unit, mode, properties, []))


def start_unit(unit: str, mode: str = "replace") -> Message:
    return _manager("StartUnit", "ss", (unit, mode))


def freeze_unit(unit: str) -> Message:
    return _manager("FreezeUnit", "s", (unit,))


def thaw_unit(unit: str) -> Message:
    return _manager("ThawUnit", "s", (unit,))


def set_unit_properties(unit: str, properties: list[Property]) -> Message:
    """Changed while the unit runs (runtime=true): a later start gets the transient unit anew."""
    return _manager("SetUnitProperties", "sba(sv)", (unit, True, properties))


def stop_unit(unit: str, mode: str = "replace") -> Message:
    return _manager("StopUnit", "ss", (unit, mode))


def restart_unit(unit: str, mode: str = "replace") -> Message:
    return _manager("RestartUnit", "ss", (unit, mode))


def kill_unit(unit: str, whom: str, signal: int) -> Message:
    return _manager("KillUnit", "ssi", (unit, whom, signal))


def reset_failed_unit(unit: str) -> Message:
    return _manager("ResetFailedUnit", "s", (unit,))


def list_units_by_names(names: list[str]) -> Message:
    return _manager("ListUnitsByNames", "as", (names,))


def list_units_by_patterns(states: list[str], patterns: list[str]) -> Message:
    return _manager("ListUnitsByPatterns", "asas", (states, patterns))


def ping() -> Message:
    """A call that does nothing but come back: org.freedesktop.DBus.Peer.Ping."""
    return method_call(SYSTEMD, MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping")


def add_match(rule: str) -> Message:
    return method_call(
        "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s", (rule,)
    )

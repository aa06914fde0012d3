"""systemd's Manager and Unit interfaces as pure message builders (no I/O; jeepney's sans-I/O core).

Only the methods conman calls, each with the signature systemd documents in
org.freedesktop.systemd1(5). No introspection at run time.
"""

from __future__ import annotations

from typing import Any

from jeepney import DBusAddress, HeaderFields, MatchRule, Message, new_method_call

__all__ = ["HeaderFields"]

SYSTEMD = "org.freedesktop.systemd1"
MANAGER_IFACE = "org.freedesktop.systemd1.Manager"
UNIT_IFACE = "org.freedesktop.systemd1.Unit"
SERVICE_IFACE = "org.freedesktop.systemd1.Service"
PROPERTIES_IFACE = "org.freedesktop.DBus.Properties"
MANAGER = DBusAddress("/org/freedesktop/systemd1", bus_name=SYSTEMD, interface=MANAGER_IFACE)

# One property for the unit: (name, (signature, value)).
Property = tuple[str, tuple[str, Any]]


def unit_path(unit: str) -> str:
    """The object path of a unit, escaped as systemd's bus_label_escape() does."""
    escaped = "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):02x}" for c in unit)
    return f"/org/freedesktop/systemd1/unit/{escaped}"


def _props(path: str) -> DBusAddress:
    return DBusAddress(path, bus_name=SYSTEMD, interface=PROPERTIES_IFACE)


def get_property(path: str, interface: str, name: str) -> Message:
    return new_method_call(_props(path), "Get", "ss", (interface, name))


def get_all_properties(path: str, interface: str) -> Message:
    return new_method_call(_props(path), "GetAll", "s", (interface,))


def manager_version() -> Message:
    return get_property(MANAGER.object_path, MANAGER_IFACE, "Version")


def subscribe() -> Message:
    # Without Subscribe, systemd does not emit JobRemoved to us.
    return new_method_call(MANAGER, "Subscribe")


def start_transient_unit(unit: str, properties: list[Property], mode: str = "fail") -> Message:
    return new_method_call(MANAGER, "StartTransientUnit", "ssa(sv)a(sa(sv))", (unit, mode, properties, []))


def start_unit(unit: str, mode: str = "replace") -> Message:
    return new_method_call(MANAGER, "StartUnit", "ss", (unit, mode))


def stop_unit(unit: str, mode: str = "replace") -> Message:
    return new_method_call(MANAGER, "StopUnit", "ss", (unit, mode))


def kill_unit(unit: str, whom: str, signal: int) -> Message:
    return new_method_call(MANAGER, "KillUnit", "ssi", (unit, whom, signal))


def reset_failed_unit(unit: str) -> Message:
    return new_method_call(MANAGER, "ResetFailedUnit", "s", (unit,))


def list_units_by_names(names: list[str]) -> Message:
    return new_method_call(MANAGER, "ListUnitsByNames", "as", (names,))


def list_units_by_patterns(states: list[str], patterns: list[str]) -> Message:
    return new_method_call(MANAGER, "ListUnitsByPatterns", "asas", (states, patterns))


# No sender= in the rules: jeepney also matches them locally, against the sender's unique name.
def job_removed_rule() -> MatchRule:
    return MatchRule(type="signal", interface=MANAGER_IFACE, member="JobRemoved", path=MANAGER.object_path)


def unit_properties_changed_rule(unit: str) -> MatchRule:
    return MatchRule(
        type="signal", interface=PROPERTIES_IFACE, member="PropertiesChanged", path=unit_path(unit)
    )

"""What systemd says about a unit: from a ListUnits row, GetAll, or the PropertiesChanged signals."""

from __future__ import annotations

from conman_systemd.dbus import messages
from conman_systemd.frozen import Frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from conman_systemd.dbus.wire import Message

# ListUnits* rows: (name, description, load, active, sub, following, path, job id, job type, job path)
_ACTIVE, _SUB = 3, 4
# D-Bus property -> UnitState field
_PROPERTIES = {
    "ActiveState": "active_state",
    "SubState": "sub_state",
    "MainPID": "main_pid",
    "NRestarts": "n_restarts",
    "Result": "result",
    "StatusText": "status_text",
    "ExecMainCode": "exec_main_code",
    "ExecMainStatus": "exec_main_status",
}
CLD_EXITED, CLD_KILLED, CLD_DUMPED = 1, 2, 3  # ExecMainCode, as waitid(2)'s si_code


class UnitState(Frozen):
    """A unit as systemd knows it ("inactive" and nothing else when it is not loaded)."""

    loaded: bool = False
    active_state: str = "inactive"
    sub_state: str = "dead"
    main_pid: int = 0
    n_restarts: int = 0
    result: str = ""
    status_text: str = ""
    exec_main_code: int = 0
    exec_main_status: int = 0

    @property
    def running(self) -> bool:
        """Active, or on its way in or out (a restart in between counts too)."""
        return self.active_state in ("active", "reloading", "activating", "deactivating")

    @property
    def exit_code(self) -> int | None:
        """How the main process ended, as docker numbers it (128+N for signal N); None if unknown."""
        if self.exec_main_code == CLD_EXITED:
            return self.exec_main_status
        if self.exec_main_code in (CLD_KILLED, CLD_DUMPED):
            return 128 + self.exec_main_status
        return None

    def updated(self, props: dict[str, tuple[str, Any]]) -> UnitState:
        """This state with D-Bus properties ({name: (signature, value)}) applied."""
        changes = {_PROPERTIES[k]: v[1] for k, v in props.items() if k in _PROPERTIES}
        return self.replace(loaded=True, **changes) if changes else self


def state_from_row(row: tuple[Any, ...]) -> UnitState:
    return UnitState(loaded=True, active_state=str(row[_ACTIVE]), sub_state=str(row[_SUB]))


class UnitWatch:
    """One unit's state, kept current by the signals systemd sends while conman waits on it."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.state = UnitState()
        # Whether state is whole: read back from systemd, or followed since before the unit was
        # loaded. Signals alone, caught in mid-run, tell only what changed.
        self.known = False

    def update(self, signal: Message) -> None:
        if signal.member == "PropertiesChanged" and signal.interface == messages.PROPERTIES_IFACE:
            _interface, changed, _invalidated = signal.body
            self.state = self.state.updated(changed)
        elif signal.member == "UnitRemoved":
            self.state = self.state.replace(loaded=False)

    def refresh(self, fresh: UnitState) -> None:
        """A state read back from systemd. A unit already collected (--rm) reads as not loaded:
        then what the signals told of its end stays."""
        self.known = True
        if fresh.loaded:
            self.state = fresh
        else:
            ended = "failed" if self.state.active_state == "failed" else "inactive"
            self.state = self.state.replace(loaded=False, active_state=ended, sub_state="dead")

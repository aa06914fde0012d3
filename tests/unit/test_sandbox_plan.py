import os
from pathlib import Path

from conman_systemd.sandbox import plan


def test_masks_cover_units_that_touch_the_host() -> None:
    masks = plan.masks("/nonexistent")
    for unit in (
        "systemd-tmpfiles-setup.service",
        "systemd-sysctl.service",
        "tmp.mount",
        "systemd-udev-trigger.service",
        "systemd-logind.service",
        "getty.target",
    ):
        assert unit in masks


def test_units_the_image_enabled_are_masked(tmp_path: Path) -> None:
    (tmp_path / "timers.target.wants").mkdir()
    (tmp_path / "timers.target.wants" / "custom.timer").write_text("")
    (tmp_path / "multi-user.target.wants").mkdir()
    (tmp_path / "multi-user.target.wants" / "postgresql.service").write_text("")
    masks = plan.masks(os.fspath(tmp_path))
    assert "custom.timer" in masks
    # multi-user.target is never booted, so its units need no mask.
    assert "postgresql.service" not in masks


def test_names_encode_the_launcher_pid() -> None:
    name = plan.sandbox_name(1234, "ab12")
    assert name == "conman-sandbox-1234-ab12"
    assert plan.owner_pid(name) == 1234
    assert plan.owner_pid("conman-sandbox-x") is None
    assert plan.owner_pid("system.slice") is None


def test_target_pulls_the_bus_and_the_journal() -> None:
    assert "dbus.socket" in plan.TARGET_UNIT and "systemd-journald.socket" in plan.TARGET_UNIT
    assert "Storage=volatile" in plan.JOURNALD_CONF

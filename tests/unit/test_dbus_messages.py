from conman_systemd.dbus import messages


def test_unit_path_escapes_like_systemd() -> None:
    assert (
        messages.unit_path("conman-ab12.service") == "/org/freedesktop/systemd1/unit/conman_2dab12_2eservice"
    )
    assert messages.unit_path("a_b") == "/org/freedesktop/systemd1/unit/a_5fb"


def test_start_transient_unit_has_systemds_signature() -> None:
    msg = messages.start_transient_unit("x.service", [("Description", ("s", "hi"))])
    assert msg.signature == "ssa(sv)a(sa(sv))"
    assert msg.body == ("x.service", "fail", [("Description", ("s", "hi"))], [])


def test_kill_unit_signature() -> None:
    msg = messages.kill_unit("x.service", "all", 9)
    assert msg.signature == "ssi"
    assert msg.body == ("x.service", "all", 9)

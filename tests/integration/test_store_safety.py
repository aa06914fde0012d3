"""The state store against other local users and hostile references: nothing outside it is reached."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Conman

pytestmark = pytest.mark.systemd

NOBODY = "setpriv --reuid 65534 --regid 65534 --clear-groups"


def test_conman_makes_its_store_root_s_alone(clean: Conman) -> None:
    clean.sh("rm -rf /var/lib/conman/containers /var/lib/conman/names")  # clean: nothing in them
    clean.ok("create", "--name", "first", "busybox", "true")
    modes = clean.sh(
        "stat -c '%a %n' /var/lib/conman/containers /var/lib/conman/images /var/lib/conman/names"
    )
    assert modes.stdout.split("\n") == [
        "700 /var/lib/conman/containers", "700 /var/lib/conman/images", "700 /var/lib/conman/names", ""
    ]  # fmt: skip


def test_the_store_is_root_s_alone_however_it_was_made(clean: Conman) -> None:
    # As an older conman or a hand-made --root left them: open to every user.
    opened = clean.sh(
        "cd /var/lib/conman && mkdir -p names containers volumes"
        " && chmod 0755 . images images/layers containers names volumes"
    )
    assert opened.returncode == 0, opened.stderr
    try:
        setuid_file = clean.sh("ls -d /var/lib/conman/images/layers/*/bin/busybox | head -n1").stdout.strip()
        assert clean.sh(f"{NOBODY} stat {setuid_file}").returncode == 0  # reachable: the defect

        clean.ok("ps")  # any command puts it right; the --root itself is the administrator's
        assert clean.sh("stat -c '%a %n' /var/lib/conman /var/lib/conman/*").stdout.split("\n") == [
            "755 /var/lib/conman", "700 /var/lib/conman/containers", "700 /var/lib/conman/images",
            "700 /var/lib/conman/names", "700 /var/lib/conman/volumes", "",
        ]  # fmt: skip
        denied = clean.sh(f"{NOBODY} stat {setuid_file}")
        assert denied.returncode != 0 and "Permission denied" in denied.stderr
    finally:
        clean.sh("chmod 0700 /var/lib/conman")


def test_a_reference_never_reaches_outside_the_store(clean: Conman) -> None:
    cid = clean.ok("create", "--name", "real", "busybox", "true").strip()
    # A spec outside the store that claims an ID naming another directory, reached by a path or
    # by a link planted among the names.
    planted = clean.sh(f"""
        mkdir -p /var/tmp/victim /var/tmp/evil && touch /var/tmp/victim/precious
        sed 's|"id": *"{cid}"|"id": "../../../../var/tmp/victim"|' /var/lib/conman/containers/{cid}/spec.json \
            > /var/tmp/evil/spec.json
        grep -q victim /var/tmp/evil/spec.json
        ln -sfn /var/tmp/evil /var/tmp/link && ln -sfn /var/tmp/evil /var/lib/conman/names/planted
    """)
    assert planted.returncode == 0, planted.stderr
    try:
        for ref in ("/var/tmp/link", "../../../var/tmp/link", "planted", ".."):
            proc = clean("rm", "-f", ref)
            assert (proc.returncode, proc.stderr) == (
                125, f"Error: no such container: {ref}\nHint: list containers with `conman ps -a`\n"
            ), ref  # fmt: skip
        assert clean.sh("test -f /var/tmp/victim/precious").returncode == 0
        assert clean.ok("ps", "-aq") == cid[:12] + "\n"
    finally:
        clean.sh("rm -rf /var/tmp/victim /var/tmp/evil /var/tmp/link /var/lib/conman/names/planted")


def test_a_full_id_wins_over_a_name_equal_to_it(clean: Conman) -> None:
    first = clean.ok("create", "busybox", "true").strip()
    second = clean.ok("create", "--name", first, "busybox", "true").strip()
    assert clean.ok("inspect", "-f", "{{.Id}}", first).strip() == first  # as docker: the ID first
    clean.ok("rm", "-f", first)
    assert clean.ok("ps", "-aq") == second[:12] + "\n"
    assert clean.ok("inspect", "-f", "{{.Id}}", first).strip() == second  # now the name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("web\n", 'Error: invalid container name "web\\n": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*\n'),
        ("a" * 300, "Error: invalid container name: 300 characters, at most 128\n"),
    ],
    ids=["newline", "300 characters"],
)
def test_a_name_that_cannot_be_one_is_refused(clean: Conman, name: str, message: str) -> None:
    proc = clean("run", "--name", name, "busybox", "true")
    assert (proc.returncode, proc.stderr, proc.stdout) == (125, message, "")
    assert clean.leftovers() == ""

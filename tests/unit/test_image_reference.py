"""Image references: what docker and podman read, and the names conman stores."""

from __future__ import annotations

import pytest

from conman_systemd.errors import ConmanError
from conman_systemd.image import reference

D = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("alpine", "docker.io/library/alpine:latest"),
        ("alpine:3.19", "docker.io/library/alpine:3.19"),
        ("library/alpine", "docker.io/library/alpine:latest"),
        ("user/app:v1", "docker.io/user/app:v1"),
        ("docker.io/alpine", "docker.io/library/alpine:latest"),
        ("quay.io/org/app:1.0", "quay.io/org/app:1.0"),
        ("127.0.0.1:5000/app", "127.0.0.1:5000/app:latest"),
        ("localhost/app:dev", "localhost/app:dev"),
        ("localhost:5000/a/b/c:x_Y-1.2", "localhost:5000/a/b/c:x_Y-1.2"),
        ("my-app__x.y", "docker.io/library/my-app__x.y:latest"),
        (f"alpine@{D}", f"docker.io/library/alpine@{D}"),
        (f"alpine:3@{D}", "docker.io/library/alpine:3"),
    ],
)
def test_references_are_stored_fully_qualified(text: str, stored: str) -> None:
    assert reference.parse(text).name == stored


def test_a_digest_pins_what_is_pulled() -> None:
    ref = reference.parse(f"alpine:3@{D}")
    assert (ref.tag, ref.digest, ref.source) == ("3", D, f"docker.io/library/alpine@{D}")


def test_names_made_here_are_local_as_podman_has_them() -> None:
    assert reference.local("web").name == "localhost/web:latest"
    assert reference.local("quay.io/x/web:2").name == "quay.io/x/web:2"


def test_a_short_name_is_looked_up_locally_first() -> None:
    assert [r.name for r in reference.candidates("web")] == [
        "localhost/web:latest",
        "docker.io/library/web:latest",
    ]
    assert [r.name for r in reference.candidates("quay.io/x/web")] == ["quay.io/x/web:latest"]


HINT = "use [REGISTRY/]NAME[:TAG][@sha256:DIGEST], the name in lower case"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Alpine", 'invalid image name "Alpine"'),
        ("Bad Name", 'invalid image name "Bad Name"'),
        ("a//b", 'invalid image name "a//b"'),
        ("a-", 'invalid image name "a-"'),
        ("a..b", 'invalid image name "a..b"'),
        ("", 'invalid image name ""'),
        ("a:", 'invalid image name "a:": a tag is up to 128 letters, digits, _ . -'),
        ("a:-x", 'invalid image name "a:-x": a tag is up to 128 letters, digits, _ . -'),
        ("a:" + "x" * 129, f'invalid image name "a:{"x" * 129}": a tag is up to 128 letters, digits, _ . -'),
        (
            "a@sha256:12",
            'invalid image name "a@sha256:12": a digest is sha256: and 64 lower-case hex digits',
        ),
        (
            "a@md5:" + "0" * 32,
            f'invalid image name "a@md5:{"0" * 32}": a digest is sha256: and 64 lower-case hex digits',
        ),
        (
            "bad_host.io:99999/x",
            'invalid image name "bad_host.io:99999/x": "bad_host.io:99999" is not a registry host',
        ),
        ("a\nb", 'invalid image name "a\\nb"'),
        ("x" * 256, f'invalid image name "{"x" * 256}"'),
    ],
)
def test_bad_references_are_refused_with_one_line(text: str, message: str) -> None:
    with pytest.raises(ConmanError) as e:
        reference.parse(text)
    assert (e.value.message, e.value.hint) == (message, HINT)


def test_id_prefixes() -> None:
    assert reference.is_id_prefix("abcd") and reference.is_id_prefix("sha256:" + "a" * 64)
    assert not reference.is_id_prefix("abc") and not reference.is_id_prefix("xyz12")


def test_familiar_names_are_docker_s() -> None:
    assert [reference.familiar(n) for n in ("docker.io/library/alpine:3", "docker.io/user/app:1",
            "localhost/web:latest", "quay.io/x/y:2", "127.0.0.1:5000/a:b")] == [
        "alpine:3", "user/app:1", "web:latest", "quay.io/x/y:2", "127.0.0.1:5000/a:b"]  # fmt: skip

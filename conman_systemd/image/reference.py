"""Image references as docker and podman read them: [REGISTRY/]PATH[:TAG][@sha256:HEX].

Every name conman stores is fully qualified: a registry, a path, a tag. A name without a registry
means docker.io when pulled (`alpine` is docker.io/library/alpine, as docker has it) and
localhost when made here (`image import`, `image tag`), as podman keeps local images apart from
pulled ones; a short name looks in both, localhost first. Parsed by hand: `conman run` reads
every image name, and `re` costs it ~4 ms to import.
"""

from __future__ import annotations

from conman_systemd.errors import ConmanError, quoted
from conman_systemd.frozen import Frozen

DOCKER_HUB = "docker.io"
LOCAL = "localhost"
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_ALNUM = _LOWER_ALNUM | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HEX = frozenset("0123456789abcdef")
_TAG_CHARS = _ALNUM | frozenset("_.-")
_HOST_CHARS = _ALNUM | frozenset(".-")
MAX_NAME = 255


class Reference(Frozen):
    registry: str  # docker.io, localhost, 127.0.0.1:5000
    path: str  # library/alpine
    tag: str = ""  # "" with a digest alone
    digest: str = ""  # sha256:<hex>, or ""

    @property
    def repository(self) -> str:
        return f"{self.registry}/{self.path}"

    @property
    def name(self) -> str:
        """REGISTRY/PATH:TAG, the form names are stored in (the digest when there is no tag)."""
        return f"{self.repository}:{self.tag}" if self.tag else f"{self.repository}@{self.digest}"

    @property
    def source(self) -> str:
        """What a registry is asked for: the digest pins it when given."""
        return f"{self.repository}@{self.digest}" if self.digest else self.name


def _path_component_ok(part: str) -> bool:
    """[a-z0-9]+ joined by one of `.`, `_`, `__` or any run of `-` (distribution's grammar)."""
    if not part or part[0] not in _LOWER_ALNUM or part[-1] not in _LOWER_ALNUM:
        return False
    run = ""
    for c in part:
        if c in _LOWER_ALNUM:
            if run not in ("", ".", "_", "__") and set(run) != {"-"}:
                return False
            run = ""
        elif c in "._-":
            run += c
        else:
            return False
    return True


def _host_ok(host: str) -> bool:
    name, colon, port = host.partition(":")
    if colon and not (port.isdigit() and 0 < int(port) < 65536):
        return False
    labels = name.split(".")
    return all(
        label and _HOST_CHARS.issuperset(label) and label[0] != "-" and label[-1] != "-" for label in labels
    )


def _looks_like_registry(first: str) -> bool:
    return "." in first or ":" in first or first == LOCAL


def parse(text: str, *, default_registry: str = DOCKER_HUB) -> Reference:
    """The reference `text` names; a missing tag is latest unless a digest is given."""
    bad = f"invalid image name {quoted(text)}"
    hint = "use [REGISTRY/]NAME[:TAG][@sha256:DIGEST], the name in lower case"
    rest, at, digest = text.partition("@")
    if at and not (digest.startswith("sha256:") and len(digest) == 71 and _HEX.issuperset(digest[7:])):
        raise ConmanError(f"{bad}: a digest is sha256: and 64 lower-case hex digits", hint=hint)
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    tag = ""
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not (0 < len(tag) <= 128 and tag[0] not in ".-" and _TAG_CHARS.issuperset(tag)):
            raise ConmanError(f"{bad}: a tag is up to 128 letters, digits, _ . -", hint=hint)
    parts = rest.split("/")
    registry = default_registry
    if len(parts) > 1 and _looks_like_registry(parts[0]):
        registry = parts.pop(0)
        if not _host_ok(registry):
            raise ConmanError(f"{bad}: {quoted(registry)} is not a registry host", hint=hint)
    if not all(map(_path_component_ok, parts)) or len(rest) > MAX_NAME:
        raise ConmanError(bad, hint=hint)
    if registry == DOCKER_HUB and len(parts) == 1:
        parts.insert(0, "library")
    return Reference(
        registry=registry, path="/".join(parts), tag=tag or ("" if at else "latest"), digest=digest
    )


def is_qualified(text: str) -> bool:
    """Whether text names its registry (`localhost/x`, `quay.io/x`), not left to the defaults."""
    first, slash, _ = text.partition("/")
    return bool(slash) and _looks_like_registry(first)


def local(text: str) -> Reference:
    """A name given to an image made here: localhost/ unless text names a registry."""
    return parse(text, default_registry=LOCAL)


def candidates(text: str) -> list[Reference]:
    """The stored names a user's reference may mean, the first that exists wins: a short name
    is local first, then docker.io's."""
    if is_qualified(text):
        return [parse(text)]
    return [parse(text, default_registry=LOCAL), parse(text)]


def familiar(name: str) -> str:
    """A stored name as docker shows it, without the registries a short name means anyway."""
    for prefix in (f"{DOCKER_HUB}/library/", f"{DOCKER_HUB}/", f"{LOCAL}/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def is_id_prefix(text: str) -> bool:
    """Whether text could be an image ID or its prefix (sha256: allowed), not a name."""
    hexpart = text.removeprefix("sha256:")
    return 4 <= len(hexpart) <= 64 and _HEX.issuperset(hexpart)

"""Moving images in and out through skopeo: registries, docker and OCI archives, OCI layouts.

skopeo copies into a staging OCI layout whose blobs live in the store's own blob directory
(`--dest-shared-blob-dir`): a blob the store has is not fetched again, and nothing is copied
twice. The store then verifies and unpacks the layers and records the image. Saving goes the
other way: a staging layout that names one manifest, blobs read from the store.
"""

from __future__ import annotations

import os

from conman_systemd import fastjson, runner
from conman_systemd.container.paths import write_atomic
from conman_systemd.errors import CommandFailed, ConmanError
from conman_systemd.image import reference
from conman_systemd.image.content import remove_tree
from conman_systemd.image.record import MANIFEST_TYPE
from conman_systemd.image.store import ImageStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from conman_systemd.image.record import Image

SKOPEO = "skopeo"
_STAGE_TAG = "image"
SAVE_FORMATS = ("docker-archive", "oci-archive")


def _loopback(host: str) -> bool:
    name = host.rpartition(":")[0] if host.count(":") == 1 else host
    return name == "localhost" or name.startswith("127.") or name in ("[::1]", "::1")


class Registry:
    """How to talk to a registry: skopeo's --src-tls-verify, --src-creds, --src-authfile. TLS is
    required unless told otherwise, or the registry is on the loopback (docker's rule: 127.0.0.0/8
    is an insecure registry by default)."""

    def __init__(
        self, tls_verify: bool | None = None, creds: str | None = None, authfile: str | None = None
    ) -> None:
        self.tls_verify = tls_verify
        self.creds = creds
        self.authfile = authfile

    def options(self, host: str) -> list[str]:
        verify = self.tls_verify if self.tls_verify is not None else not _loopback(host)
        opts = [] if verify else ["--src-tls-verify=false"]
        opts += ["--src-creds", self.creds] if self.creds else []
        return opts + (["--src-authfile", self.authfile] if self.authfile else [])


def skopeo_message(stderr: str, source: str = "") -> str:
    """skopeo's own error, without its log decoration (time=... level=fatal msg="...") and the
    source the message names anyway."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "skopeo failed"
    start = last.find('msg="')
    if start >= 0:
        last = last[start + 5 :].removesuffix('"').replace('\\"', '"')
    return last.removeprefix(f"initializing source {source}: ")


def _skopeo(args: Sequence[str], what: str, progress: int | None, source: str = "") -> None:
    if runner.find_binary(SKOPEO) is None:
        raise ConmanError(f"{what}: skopeo is not installed", hint="install it: apt-get install skopeo")
    quiet = [] if progress is not None else ["--quiet"]  # an option of `skopeo copy`
    try:
        runner.run([SKOPEO, args[0], *quiet, *args[1:]], show=progress)
    except CommandFailed as e:
        raise ConmanError(f"{what}: {skopeo_message(e.stderr, source)}") from None


def _stage(store: ImageStore) -> str:
    staging = store.scratch()
    os.mkdir(staging, 0o700)
    return staging


def _staged_manifest(staging: str) -> str:
    index = fastjson.loads(open(os.path.join(staging, "index.json")).read())
    manifests = index.get("manifests") or []
    if len(manifests) != 1:
        raise ConmanError(f"skopeo left {len(manifests)} manifests where one was expected")
    return str(manifests[0]["digest"])


def copy_in(
    store: ImageStore,
    source: str,
    what: str,
    *,
    names: list[str],
    registry: Registry | None = None,
    progress: int | None = None,
    repository: str = "",
) -> Image:
    """Copy the image at skopeo's `source` (docker://..., docker-archive:..., oci:...) into the
    store, named `names`. The caller holds the store's lock."""
    staging = _stage(store)
    try:
        host = repository.partition("/")[0]
        options = registry.options(host) if registry else []
        dest = f"oci:{staging}:{_STAGE_TAG}"
        # Uncompressed layers (a docker-archive's) stay so: skopeo would gzip them, for nothing.
        args = ["copy", *options, "--dest-oci-accept-uncompressed-layers", "--dest-shared-blob-dir"]
        _skopeo([*args, store.blobs, source, dest], what, progress, source)
        manifest = _staged_manifest(staging)
        digests = [f"{repository}@{manifest}"] if repository else []
        return store.add(manifest, names, source, digests)
    finally:
        remove_tree(staging)


def pull(store: ImageStore, ref: str, registry: Registry, progress: int | None) -> Image:
    name = reference.parse(ref)
    with store.locked():
        return copy_in(
            store,
            f"docker://{name.source}",
            f"cannot pull {ref}",
            names=[name.name] if name.tag else [],
            registry=registry,
            progress=progress,
            repository=name.repository,
        )


def save(store: ImageStore, image: Image, name: str, output: str, fmt: str) -> None:
    """Write image to output as a docker-archive (as `docker save`) or an oci-archive."""
    if not image.manifest:
        raise ConmanError(
            f"image {image.display_name} was imported by an older conman and has no layers to save",
            hint="import its root file system again with `conman image import`",
        )
    with store.locked():
        staging = _stage(store)
        try:
            manifest_size = os.path.getsize(store.blob(image.manifest))
            descriptor = {"mediaType": MANIFEST_TYPE, "digest": image.manifest, "size": manifest_size}
            descriptor["annotations"] = {"org.opencontainers.image.ref.name": _STAGE_TAG}
            write_atomic(os.path.join(staging, "oci-layout"), '{"imageLayoutVersion": "1.0.0"}')
            index = {"schemaVersion": 2, "manifests": [descriptor]}
            write_atomic(os.path.join(staging, "index.json"), fastjson.dumps(index))
            dest = f"{fmt}:{output}" + (f":{name}" if name else "")
            source = f"oci:{staging}:{_STAGE_TAG}"
            args = ["copy", "--src-shared-blob-dir", store.blobs, source, dest]
            _skopeo(args, f"cannot save {image.display_name}", None)
        finally:
            remove_tree(staging)

"""Images as `image ls`, `image inspect` and `image history` show them, in docker's shapes."""

from __future__ import annotations

import time

from conman_systemd.cli.columns import ago, created_at, size, table
from conman_systemd.image.record import Image, parse_time
from conman_systemd.image.store import ImageStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _repository_tag(name: str) -> tuple[str, str]:
    repository, _, tag = name.rpartition(":")
    return (repository, tag) if "/" not in tag else (name, "<none>")


HEADERS = {"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
           "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE"}  # fmt: skip


def ls_rows(images: list[Image], *, full_ids: bool) -> list[dict[str, str]]:
    """A row per name (per image without one), with docker's `images --format` fields."""
    now = time.time()
    rows = []
    for image in images:
        for repository, tag in [_repository_tag(n) for n in image.names] or [("<none>", "<none>")]:
            rows.append({
                "Repository": repository,
                "Tag": tag,
                "Digest": image.manifest or "<none>",
                "ID": f"sha256:{image.id}" if full_ids else image.short_id,
                "CreatedSince": f"{ago(now - image.created)} ago" if image.created else "N/A",
                "CreatedAt": created_at(image.created),
                "Size": size(image.size),
            })  # fmt: skip
    return rows


def ls_template(digests: bool) -> str:
    digest = "{{.Digest}}\t" if digests else ""
    return "table {{.Repository}}\t{{.Tag}}\t" + digest + "{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"


def _rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def inspect_dict(store: ImageStore, image: Image) -> dict[str, Any]:
    config: dict[str, Any] = {
        "User": image.user,
        "ExposedPorts": {p: {} for p in image.exposed_ports} or None,
        "Env": image.env,
        "Entrypoint": image.entrypoint or None,
        "Cmd": image.cmd or None,
        "Volumes": {v: {} for v in image.volumes} or None,
        "WorkingDir": image.workdir,
        "Labels": image.labels or None,
        "StopSignal": image.stop_signal or None,
    }
    return {
        "Id": f"sha256:{image.id}",
        "RepoTags": image.names,
        "RepoDigests": image.digests,
        "Created": _rfc3339(image.created),
        "Config": {k: v for k, v in config.items() if v is not None},
        "Architecture": image.architecture,
        "Os": image.os,
        "Size": image.size,
        "RootFS": {"Type": "layers", "Layers": image.layers},
        "History": image.history,
        "Manifest": image.manifest,
        "Source": image.source,
        "LowerDirs": image.rootfs.split(":"),
    }


def history_rows(image: Image, sizes: list[int], *, full: bool, quiet: bool) -> str:
    """One row per history entry, newest first; the newest carries the image's ID. sizes: of the
    image's layers, base first, matched to the entries that made a layer."""
    layer_sizes = iter(sizes)
    entries = []
    for entry in image.history or [{"created_by": image.source}]:
        layer = "0B" if entry.get("empty_layer") else size(next(layer_sizes, 0))
        entries.append((entry, layer))
    entries.reverse()
    ids = [image.id if full else image.short_id] + ["<missing>"] * (len(entries) - 1)
    if quiet:
        return "\n".join(ids)
    now = time.time()
    rows = [["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"]]
    for image_id, (entry, layer) in zip(ids, entries, strict=True):
        created_by = str(entry.get("created_by") or "")
        if not full and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        when = parse_time(str(entry.get("created") or ""))
        created = f"{ago(now - when)} ago" if when else "N/A"
        rows.append([image_id, created, created_by, layer, str(entry.get("comment") or "")])
    return table(rows)

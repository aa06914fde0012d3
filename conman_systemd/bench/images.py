"""Images of real size: `run --rm true` from a 100 MB image next to busybox, and loading and pulling
that image, conman next to podman.

The big image is busybox plus a layer of 100 MB of random bytes in 1 MiB files (random: gzip
cannot shrink it, so a pull moves all of it). It is saved once as a docker-archive (what both
engines load) and pushed once to a registry on 127.0.0.1 (the reference registry, Debian's
docker-registry), which both engines pull from over plain HTTP. Before each load or pull the
engine's copy is removed, untimed, so every round stores the image anew.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request

from conman_systemd.bench.measure import Contender, Tables, measure, table
from conman_systemd.bench.setup import Setup, sh

BIG_MB = 100
BIG = "bench-big"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry:
    """docker-registry on 127.0.0.1, its storage and config under directory."""

    def __init__(self, directory: str) -> None:
        self.host = f"127.0.0.1:{_free_port()}"
        config = os.path.join(directory, "registry.yml")
        with open(config, "w") as f:
            f.write(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                f"    rootdirectory: {directory}/registry\nhttp:\n  addr: {self.host}\n"
            )
        self.proc = subprocess.Popen(
            ["docker-registry", "serve", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not self._answers():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise SystemExit("bench: docker-registry did not start")
            time.sleep(0.02)  # polling a readiness signal, not timing anything

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def _big_rootfs(setup: Setup) -> str:
    rootfs = os.path.join(setup.dir, "big-rootfs")
    shutil.copytree(setup.rootfs, rootfs, symlinks=True)
    data = os.path.join(rootfs, "data")
    os.makedirs(data)
    for n in range(BIG_MB):
        with open(os.path.join(data, f"blob{n:03d}"), "wb") as f:
            f.write(os.urandom(1 << 20))
    return rootfs


def images(setup: Setup, rounds: int, tables: Tables) -> dict[str, object]:
    if shutil.which("docker-registry") is None or shutil.which("skopeo") is None:
        print("(skopeo or docker-registry is not installed: no image tables)")
        return {}
    sh(["conman", "image", "import", BIG, _big_rootfs(setup)])
    archive = os.path.join(setup.dir, "big.tar")
    sh(["conman", "image", "save", "-o", archive, BIG])
    registry = Registry(setup.dir)
    remote = f"{registry.host}/bench/big:1"
    try:
        sh(
            [
                "skopeo",
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
                f"docker-archive:{archive}",
                f"docker://{remote}",
            ]
        )
        out: dict[str, object] = {}
        title = f"run --rm true, busybox and a {BIG_MB} MB image"
        out[title] = samples = measure(_runs(setup), rounds)
        tables.append(table(title, samples, "conman run --rm busybox"))
        contenders, prepare = _transfers(setup, archive, remote)
        title = f"load and pull of a {BIG_MB} MB image (docker-archive; registry on 127.0.0.1)"
        out[title] = samples = measure(contenders, max(3, rounds // 5), warmup=1, prepare=prepare)
        tables.append(table(title, samples, "conman load"))
        return out
    finally:
        registry.stop()
        for ref in (BIG, remote):
            sh(["conman", "rmi", ref], check=False)
        sh(["conman", "image", "prune"], check=False)


def _runs(setup: Setup) -> dict[str, Contender]:
    engines = {"conman": ["conman", "run", "--rm"]}
    if setup.podman:
        sh([*setup.podman_cmd(), "load", "-q", "-i", os.path.join(setup.dir, "big.tar")])
        engines["podman"] = [*setup.podman_cmd(), "run", "--rm", "--network=none"]
    contenders: dict[str, Contender] = {}
    for engine, argv in engines.items():
        for image, name in (("bench-busybox", "busybox"), (BIG, f"{BIG_MB} MB")):
            contenders[f"{engine} run --rm {name}"] = _runner([*argv, image, "true"])
    return contenders


def _runner(argv: list[str]) -> Contender:
    return lambda i: sh(argv)


def _transfers(setup: Setup, archive: str, remote: str) -> tuple[dict[str, Contender], dict[str, Contender]]:
    def conman_gone(i: int) -> None:
        for ref in (BIG, f"docker.io/library/{BIG}", remote):
            sh(["conman", "rmi", ref], check=False)
        sh(["conman", "image", "prune"])

    def podman_gone(i: int) -> None:
        sh([*setup.podman_cmd(), "rmi", "-f", f"localhost/{BIG}:latest", remote], check=False)

    contenders: dict[str, Contender] = {
        "conman load": lambda i: sh(["conman", "load", "-q", "-i", archive]),
        "conman pull": lambda i: sh(["conman", "pull", "-q", remote]),
    }
    prepare: dict[str, Contender] = {"conman load": conman_gone, "conman pull": conman_gone}
    if setup.podman:
        podman = setup.podman_cmd()
        contenders["podman load"] = lambda i: sh([*podman, "load", "-q", "-i", archive])
        contenders["podman pull"] = lambda i: sh([*podman, "pull", "-q", "--tls-verify=false", remote])
        prepare.update({"podman load": podman_gone, "podman pull": podman_gone})
    return contenders, prepare

"""What the benchmarks need: the image for each engine, a bundle for the floor, and which `conman`
(and which Python behind it) is timed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

from conman_systemd.image.rootfs import build_busybox

RUNTIMES = ("crun", "runc")
SLEEP = ["sleep", "1000"]


def sh(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


def describe_entry() -> str:
    """The `conman` an install puts on PATH, and the interpreter its first line names."""
    path = shutil.which("conman")
    if path is None:
        raise SystemExit("bench: no `conman` on PATH; install the package first")
    with open(path, "rb") as f:
        first = f.readline().decode(errors="replace").strip()
    if not first.startswith("#!") or "python" not in first:
        return f"{path} (not a Python entry point: {first[:60]!r}; e.g. a pyenv shim, which adds ~50 ms)"
    python = first[2:].split()[0]
    version = sh([python, "-c", "import sys; print(sys.version.split()[0])"]).stdout.strip()
    return f"{path}, run by {python} (Python {version})"


class Setup:
    """The image imported into conman (and podman), and a bundle for `systemd-run + runtime run`."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="conman-bench-", dir="/var/tmp")
        self.rootfs = os.path.join(self.dir, "rootfs")
        build_busybox(self.rootfs)
        sh(["conman", "image", "import", "bench-busybox", self.rootfs])
        self.bundle = os.path.join(self.dir, "bundle")
        os.makedirs(self.bundle)
        sh(["runc", "spec", "--bundle", self.bundle])
        with open(os.path.join(self.bundle, "config.json")) as f:
            config = json.load(f)
        config["root"] = {"path": self.rootfs, "readonly": True}
        config["process"].update(terminal=False, args=["true"])
        with open(os.path.join(self.bundle, "config.json"), "w") as f:
            json.dump(config, f)
        self.conman_ids: set[str] = set()  # every container the benchmark made, removed at the end
        self.podman = shutil.which("podman") is not None
        if self.podman:
            # podman keeps its storage and network config here (the sandbox's /etc is read-only
            # and its /var/tmp private): nothing of it outlives the benchmark.
            net = os.path.join(self.dir, "podman-net")
            os.makedirs(net)
            conf = os.path.join(self.dir, "containers.conf")
            with open(conf, "w") as f:
                f.write(f'[network]\nnetwork_config_dir="{net}"\n')
            os.environ["CONTAINERS_CONF"] = conf
            tar = os.path.join(self.dir, "rootfs.tar")
            sh(["tar", "-C", self.rootfs, "-cf", tar, "."])
            sh([*self.podman_cmd(), "import", "-q", tar, "bench-busybox"])

    def podman_cmd(self, runtime: str | None = None) -> list[str]:
        argv = ["podman", "--root", os.path.join(self.dir, "podman-root"),
                "--runroot", os.path.join(self.dir, "podman-runroot")]  # fmt: skip
        return [*argv, "--runtime", runtime] if runtime else argv

    def run_d(self, engine: str, runtime: str, *args: str, command: list[str] | None = None) -> str:
        """Start a detached container; its ID."""
        command = command or SLEEP
        if engine == "conman":
            cid = sh(
                ["conman", "run", *args, "--runtime", runtime, "bench-busybox", *command]
            ).stdout.strip()
            self.conman_ids.add(cid)
            return cid
        argv = [*self.podman_cmd(runtime), "run", *args, "--network=none", "bench-busybox", *command]
        return sh(argv).stdout.strip()

    def remove(self, engine: str, ids: list[str]) -> None:
        if engine == "conman":
            for n in range(0, len(ids), 50):
                sh(["conman", "rm", "-f", *ids[n : n + 50]], check=False)
            self.conman_ids.difference_update(ids)
        elif ids:
            sh([*self.podman_cmd(), "rm", "-f", "-t", "0", *ids], check=False)

    def close(self) -> None:
        self.remove("conman", sorted(self.conman_ids))
        sh(["conman", "image", "rm", "bench-busybox"], check=False)
        if self.podman:
            sh([*self.podman_cmd(), "rm", "-f", "-a", "-t", "0"], check=False)
            sh([*self.podman_cmd(), "rmi", "-f", "-a"], check=False)
            sh([*self.podman_cmd(), "system", "reset", "-f"], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

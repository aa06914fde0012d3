"""A real, throwaway image registry for the tests: Debian's docker-registry ("distribution")
on 127.0.0.1:<free port>, plain HTTP, no auth, storage in a directory of the test's own.

Debian's package also installs and enables docker-registry.service (WantedBy=multi-user.target,
port 5000, auth through htpasswd); nothing here uses it, and the sandbox boots its own target,
not multi-user.target, so it is not started there either.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

REGISTRY_BIN = "/usr/bin/docker-registry"
READY_TIMEOUT = 10.0

CONFIG = """\
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: {host}
"""


class Registry:
    """A running registry; `host` is "127.0.0.1:PORT" for docker://HOST/name:tag references."""

    def __init__(self, host: str, proc: subprocess.Popen[bytes], log: IO[bytes], log_path: Path) -> None:
        self.host = host
        self.proc = proc
        self._log = log
        self.log_path = log_path

    @property
    def port(self) -> int:
        return int(self.host.rsplit(":", 1)[1])

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Terminates the registry (its own pid only) and waits for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    # No proxies: an http_proxy in the environment must not take 127.0.0.1 elsewhere.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=1) as response:
            return int(response.status) == 200
    except urllib.error.HTTPError as e:
        return e.code == 401  # up, and asking for credentials
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _bcrypt(password: str) -> str:
    """libxcrypt's bcrypt (Python's crypt module is deprecated, bcrypt is no stdlib module)."""
    import ctypes

    libcrypt = ctypes.CDLL("libcrypt.so.1")
    libcrypt.crypt_gensalt.restype = libcrypt.crypt.restype = ctypes.c_char_p
    libcrypt.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = libcrypt.crypt_gensalt(b"$2b$", 5, None, 0)
    hashed: bytes = libcrypt.crypt(password.encode(), salt)
    return hashed.decode()


def _htpasswd(workdir: Path, users: dict[str, str]) -> str:
    """The auth section of a registry that takes these users (bcrypt, as the registry wants)."""
    path = workdir / "htpasswd"
    path.write_text("".join(f"{user}:{_bcrypt(password)}\n" for user, password in users.items()))
    return f"auth:\n  htpasswd:\n    realm: conman-tests\n    path: {path}\n"


def start_registry(workdir: Path, users: dict[str, str] | None = None) -> Registry:
    """Starts a registry storing under `workdir` and returns once /v2/ answers (10 s at most);
    with users, it asks for their credentials (basic auth)."""
    if not Path(REGISTRY_BIN).exists():
        raise AssertionError(f"{REGISTRY_BIN} is missing (apt-get install docker-registry)")
    workdir.mkdir(parents=True, exist_ok=True)
    host = f"127.0.0.1:{free_port()}"
    config = workdir / "registry.yml"
    config.write_text(
        CONFIG.format(root=workdir / "storage", host=host) + (_htpasswd(workdir, users) if users else "")
    )
    log_path = workdir / "registry.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [REGISTRY_BIN, "serve", str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
    )
    registry = Registry(host, proc, log, log_path)
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if _answers(f"http://{host}/v2/"):
            return registry
        exited = proc.poll()
        if exited is not None or time.monotonic() > deadline:
            registry.stop()
            why = f"exited {exited}" if exited is not None else f"not ready after {READY_TIMEOUT:g} s"
            raise AssertionError(f"docker-registry on {host} {why}; its log:\n{log_path.read_text()}")
        time.sleep(0.02)

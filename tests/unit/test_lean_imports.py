"""What runs on every container start imports little, and the shim keeps to its own room."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
PACKAGE = TOP / "conman_systemd"
HEAVY = ("typing", "enum", "json", "re", "subprocess", "socket", "dataclasses", "inspect", "shutil", "click",
         "jeepney", "datetime", "selectors", "contextlib", "collections")  # fmt: skip


def loaded_after(imports: str, *flags: str) -> set[str]:
    code = f"import sys; sys.path.insert(0, {str(TOP)!r}); {imports}; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize("module", ["main", "start", "stop", "finish", "interactive", "io_server"])
def test_the_shim_starts_lean(module: str) -> None:
    """The shim runs as `python3 -I -S`: standard library only, and none of its heavy parts."""
    loaded = loaded_after(f"import conman_systemd.shim.{module}", "-I", "-S")
    assert sorted(loaded & set(HEAVY)) == []
    assert not any(m.startswith(("click", "jeepney")) for m in loaded)


def test_the_io_server_holds_only_what_serving_needs() -> None:
    """One stays in memory per -i/-t container."""
    loaded = loaded_after("import conman_systemd.shim.io_server", "-I", "-S")
    ours = {m for m in loaded if m.startswith("conman_systemd")}
    assert ours == {
        "conman_systemd", "conman_systemd.shim", "conman_systemd.shim.io_server", "conman_systemd.shim.exits",
        "conman_systemd.shim.unix", "conman_systemd.container", "conman_systemd.container.attach_proto",
    }  # fmt: skip
    assert "ctypes" not in loaded and "os" in loaded


def test_run_and_ps_import_only_what_they_need() -> None:
    """`conman run` and `conman ps` (the fast path, foreground following included) load neither
    click nor anything heavy, `re` and `enum` included (-S: what the interpreter's own site adds is
    not ours to judge)."""
    loaded = loaded_after(
        "import conman_systemd.cli, conman_systemd.cli.fast, conman_systemd.cli.run, conman_systemd.cli.ps, "
        "conman_systemd.core.run, conman_systemd.core.attaching, conman_systemd.dbus.systemd",
        "-S",
    )
    assert sorted(loaded & set(HEAVY)) == []


def test_the_command_is_a_plain_script() -> None:
    """The wrapper installers write for an entry point imports re; ours imports the CLI alone."""
    script = (TOP / "bin" / "conman").read_text()
    assert script.splitlines()[0] == "#!/usr/bin/python3"
    assert [line for line in script.splitlines() if "import" in line] == [
        "from conman_systemd.cli import main"
    ]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_nothing_outside_the_shim_imports_it() -> None:
    outside = [p for p in PACKAGE.rglob("*.py") if "shim" not in p.relative_to(PACKAGE).parts]
    users = {
        str(p.relative_to(TOP))
        for p in outside
        if any(m.startswith("conman_systemd.shim") for m in _imports(p))
    }
    assert users == set()


def test_the_shims_modules_import_no_cycle() -> None:
    modules = {p.stem: _imports(p) for p in (PACKAGE / "shim").glob("*.py")}
    edges = {
        m: {i.rsplit(".", 1)[1] for i in deps if i.startswith("conman_systemd.shim.")}
        for m, deps in modules.items()
    }

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        return any(
            n == target or (n not in seen and reaches(n, target, seen | {n})) for n in edges.get(start, ())
        )

    assert [m for m in edges if reaches(m, m, set())] == []

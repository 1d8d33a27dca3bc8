"""The sans-IO core must stay free of I/O: no trio, socket, asyncio or selectors."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import zmtp.protocol

FORBIDDEN = {"trio", "socket", "asyncio", "selectors"}
PROTOCOL_DIR = Path(zmtp.protocol.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value).split(".")[0])
    return names


def test_no_io_imports_under_protocol() -> None:
    files = sorted(PROTOCOL_DIR.rglob("*.py"))
    assert len(files) >= 8
    for path in files:
        bad = imported_modules(path) & FORBIDDEN
        assert not bad, f"{path.relative_to(PROTOCOL_DIR)} imports {sorted(bad)}"


def test_import_does_not_pull_in_trio() -> None:
    code = (
        "import sys, zmtp.protocol; "
        "bad = sorted({'trio', 'socket', 'asyncio', 'selectors'} & set(sys.modules)); "
        "print(bad); sys.exit(1 if 'trio' in bad else 0)"
    )
    root = PROTOCOL_DIR.parent.parent
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr

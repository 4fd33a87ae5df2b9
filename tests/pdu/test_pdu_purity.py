"""smsc.pdu stays pure: no Twisted, by static imports and at run time (STYLE B1)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import smsc.pdu

PDU_DIR = Path(smsc.pdu.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_under_smsc_pdu_imports_twisted() -> None:
    files = sorted(PDU_DIR.rglob("*.py"))
    assert files
    offenders = {
        str(f.relative_to(PDU_DIR)): sorted(m for m in imported_modules(f) if m.split(".")[0] == "twisted")
        for f in files
    }
    assert {f: m for f, m in offenders.items() if m} == {}


def test_importing_smsc_pdu_loads_no_twisted() -> None:
    modules = sorted(
        "smsc.pdu." + f.stem for f in PDU_DIR.glob("*.py") if f.stem != "__init__"
    )
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'twisted' or m.startswith('twisted.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        cwd=PDU_DIR.parent.parent,
    )
    assert "smsc.pdu.codec" in modules
    assert result.stdout.strip() == "[]"

"""The layers stay clean: ``store`` and ``mfa`` never import Textual (or Rich) or the UI, and the
UI reaches the store only through ``mfa``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "store": {"textual", "rich", "tui", "admin_cli", "mfa"},
    "mfa": {"textual", "rich", "tui", "admin_cli", "argparse", "getpass"},
    "tui": {"store"},
    "admin_cli": {"textual", "rich", "tui", "store"},
}
DOMAIN = ("store", "mfa", "admin_cli")
"""The packages that must load without Textual (the domain and the headless admin commands)."""
QUIET = ("store", "mfa")
"""The packages that never print: they return results and the front ends show them."""


def _imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_source_file_imports_a_layer_it_must_not() -> None:
    offenders = []
    for package, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            bad = _imported_roots(path) & forbidden
            if bad:
                offenders.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert offenders == []


def test_importing_the_domain_loads_no_textual_at_run_time() -> None:
    # Catches indirect imports too: load every domain module in a clean interpreter.
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for package in DOMAIN
        for p in (ROOT / package).rglob("*.py")
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'tui')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def _output_uses(path: Path) -> list[tuple[int, str]]:
    """``print(...)`` calls and ``sys.stdout`` / ``sys.stderr`` uses in a source file, by line."""
    streams = {"stdout", "stderr", "__stdout__", "__stderr__"}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "print"
        ):
            found.append((node.lineno, "print()"))
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in streams
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            found.append((node.lineno, f"sys.{node.attr}"))
        elif isinstance(node, ast.ImportFrom) and node.module == "sys":
            found.extend((node.lineno, f"sys.{a.name}") for a in node.names if a.name in streams)
    return sorted(found)


def test_the_domain_and_the_store_never_print() -> None:
    # import-linter sees imports, not calls: a print() in mfa would write over the terminal UI.
    offenders = [
        f"{path.relative_to(ROOT)}:{line} {use}"
        for package in QUIET
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, use in _output_uses(path)
    ]
    assert offenders == []


def test_the_print_check_sees_prints_and_streams(tmp_path: Path) -> None:
    source = tmp_path / "noisy.py"
    source.write_text(
        "import sys\nfrom sys import stderr\nprint('x')\nsys.stdout.write('y')\n",
        encoding="utf-8",
    )
    assert _output_uses(source) == [(2, "sys.stderr"), (3, "print()"), (4, "sys.stdout")]

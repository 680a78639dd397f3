"""The layout rules of the design card that code can check."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UDF_FILES = sorted((ROOT / "udfs").rglob("*.py"))


@pytest.mark.parametrize("path", UDF_FILES, ids=[str(p.relative_to(ROOT)) for p in UDF_FILES])
def test_kernels_never_import_duckdb(path):
    """udfs/ is engine-agnostic: the same kernels must serve another engine later."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        assert not any(n == "duckdb" or n.startswith("duckdb.") for n in names), (
            f"{path}:{node.lineno} imports duckdb")


def test_create_function_is_called_only_by_the_binder():
    callers = [p for p in (ROOT / "extension").rglob("*.py")
               if "create_function(" in p.read_text(encoding="utf-8")]
    assert [p.name for p in callers] == ["binder.py"]


def test_every_sql_file_has_a_logic_test_or_a_pytest():
    """One test per sql/ file: tests/sql/<area>/<name>.test, or a pytest naming the macro."""
    pytests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py"))
    for sql in (ROOT / "sql").rglob("*.sql"):
        if "recipes" in sql.parts:
            continue
        logic = ROOT / "tests" / "sql" / sql.parent.name / f"{sql.stem}.test"
        assert logic.exists() or f"{sql.stem}(" in pytests, f"no test for {sql}"


def test_ruff_finds_nothing():
    """The lint rules in pyproject.toml hold for the whole tree (ruff is a test dependency)."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise",
                           str(ROOT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr

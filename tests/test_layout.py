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


def _package_modules() -> dict[str, Path]:
    """Every module of the installed package, by import name (extension/ is ``corpusql``)."""
    mods = {}
    for folder, name in (("extension", "corpusql"), ("udfs", "corpusql.udfs")):
        for p in (ROOT / folder).rglob("*.py"):
            parts = [x for x in p.relative_to(ROOT / folder).with_suffix("").parts
                     if x != "__init__"]
            mods[".".join([name, *parts])] = p
    return mods


def _imports(module: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """The package modules ``module`` imports, at the top or inside functions alike."""
    out = set()
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name in mods)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: None if is_pkg else -1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = {f"{target}.{a.name}" for a in node.names} & set(mods)
            out.update(subs)
            if len(subs) < len(node.names) and target in mods:
                out.add(target)
    out.discard(module)
    return out


def test_no_import_cycles():
    """No module reaches itself through imports, counting imports inside functions: a cycle
    hidden in a function is still a cycle (``from . import x`` depends on ``x``, not on the
    package)."""
    mods = _package_modules()
    graph = {m: _imports(m, p, mods) for m, p in mods.items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(m: str, chain: list[str]) -> None:
        state[m] = 1
        for dep in sorted(graph[m]):
            if state.get(dep) == 1:
                cycles.append(" -> ".join(chain[chain.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, [*chain, dep])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("path", UDF_FILES, ids=[str(p.relative_to(ROOT)) for p in UDF_FILES])
def test_kernels_never_import_the_binding(path):
    """udfs/ is the ground floor: it never reaches up into corpusql's engine binding."""
    mods = _package_modules()
    module = next(m for m, p in mods.items() if p == path)
    upstairs = {d for d in _imports(module, path, mods) if not d.startswith("corpusql.udfs")}
    assert not upstairs, f"{path} imports {sorted(upstairs)}"


def test_only_jit_modules_import_numba():
    """What numba compiles lives in ``*_jit.py`` modules, one kind of file."""
    for path in (ROOT / "udfs").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        uses = any(isinstance(n, ast.ImportFrom) and (n.module or "").startswith("numba")
                   or isinstance(n, ast.Import) and any(a.name.startswith("numba")
                                                        for a in n.names)
                   for n in ast.walk(tree))
        assert not uses or path.stem.endswith("_jit"), f"{path} imports numba"


CATALOG_FILES = sorted((ROOT / "extension" / "catalog").glob("*.py"))


@pytest.mark.parametrize("path", CATALOG_FILES, ids=[p.name for p in CATALOG_FILES])
def test_catalog_modules_stay_small(path):
    """The catalog is split by responsibility (datasets, staging, sync, verify, access, secrets,
    routes, the CLI), each module under 300 lines."""
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n < 300, f"{path.name} has {n} lines; split it by responsibility"

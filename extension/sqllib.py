"""The SQL library loader: ``sql/**/*.sql`` -> TEMP macros and views, in dependency order.

Every library file holds one public macro or view named like the file, under a comment header::

    -- exact_dup_groups(tbl, text_col, id_col, normalize := true, keep_by := NULL)
    --
    -- What it returns, in prose.
    --
    -- tables: tbl                        (parameters that name a table or view)
    -- columns: text_col, id_col, keep_by  (parameters that name a column)
    -- returns: id, group_id, group_size, is_kept
    -- requires: text_fingerprint          (Python UDFs; absent for pure SQL)
    -- depends: other_macro                (other library files it calls)
    -- source: where the definition comes from
    -- duckdb-only: constructs with no portable equivalent, if any

Files are written with plain ``CREATE OR REPLACE MACRO`` so ``.read`` works in the stock DuckDB
shell; the loader creates them TEMP so nothing is written to a user's database file. Statements
are split with DuckDB's own ``extract_statements``; after creation the header is checked against
what DuckDB reports. A macro's version is a hash of its normalized body.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import duckdb

from . import sqlparse
from .errors import FunctionArgumentError

HEADER_KEYS = ("tables", "columns", "returns", "requires", "depends", "source", "duckdb-only")
SKIP_DIRS = {"recipes"}
_CREATE_RE = re.compile(
    r"^\s*CREATE\s+(OR\s+REPLACE\s+)?(TEMP\s+|TEMPORARY\s+)?(MACRO|VIEW)\s+([A-Za-z_][\w]*)",
    re.IGNORECASE,
)
_CALL_RE = re.compile(r"^([A-Za-z_]\w*)\s*(?:\((.*)\))?\s*$")


class SqlLibraryError(FunctionArgumentError):
    """A library file is malformed or disagrees with its header."""


@dataclass(frozen=True)
class SqlObject:
    """One library file, parsed."""

    name: str
    path: str
    kind: str  # 'macro' or 'view'
    call: str
    params: tuple[str, ...]
    doc: str
    returns: tuple[str, ...]
    requires: tuple[str, ...]
    depends: tuple[str, ...]
    source: str
    duckdb_only: str
    body: str = field(repr=False)
    #: Python UDFs needed through ``depends`` (transitively), filled in by the loader.
    requires_via_depends: tuple[str, ...] = field(default=(), repr=False)

    @property
    def pure_sql(self) -> bool:
        """True when neither this file nor anything it depends on needs a Python UDF."""
        return not self.requires and not self.requires_via_depends

    @property
    def version(self) -> str:
        return body_version(self.body)

    @property
    def summary(self) -> str:
        return self.doc.split("\n\n")[0].replace("\n", " ").strip()


def body_version(body: str) -> str:
    """12 hex digits of sha256 over the body with comments removed and whitespace collapsed."""
    text = re.sub(r"--[^\n]*", " ", body)
    text = " ".join(text.split())
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip() and v.strip() != "-")


def parse_file(path: str, text: str) -> SqlObject:
    """Parse one library file's header and statement."""
    lines = text.splitlines()
    header: list[str] = []
    i = 0
    while i < len(lines) and (lines[i].startswith("--") or not lines[i].strip()):
        if lines[i].startswith("--"):
            header.append(lines[i][2:].removeprefix(" "))
        i += 1
    if not header:
        raise SqlLibraryError(f"{path}:1: missing header comment (the call, then returns: ...)")
    call = header[0].strip()
    m = _CALL_RE.match(call)
    if not m:
        raise SqlLibraryError(f"{path}:1: first header line must be the call, got {call!r}")
    name, arglist = m.group(1), m.group(2)
    stem = Path(path).stem
    if name != stem:
        raise SqlLibraryError(f"{path}:1: header names {name!r} but the file is {stem!r}")
    params = tuple(a.split(":=")[0].strip() for a in (arglist or "").split(",") if a.strip())
    fields: dict[str, str] = {}
    doc_lines: list[str] = []
    for line in header[1:]:
        key, sep, value = line.partition(":")
        if sep and key.strip() in HEADER_KEYS:
            fields[key.strip()] = value.strip()
        elif not fields:
            doc_lines.append(line)
    if "returns" not in fields:
        raise SqlLibraryError(f"{path}: header has no 'returns:' line")
    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        raise SqlLibraryError(f"{path}: {exc}") from exc
    if len(statements) != 1:
        raise SqlLibraryError(
            f"{path}: holds {len(statements)} statements; a library file holds exactly one"
        )
    body = statements[0].query
    cm = _CREATE_RE.match(_strip_comments(body))
    if not cm:
        raise SqlLibraryError(f"{path}: the statement must be CREATE OR REPLACE MACRO/VIEW {name}")
    if cm.group(2):
        raise SqlLibraryError(f"{path}: write CREATE OR REPLACE without TEMP; the loader adds it")
    if cm.group(4) != name:
        raise SqlLibraryError(f"{path}: creates {cm.group(4)!r}, expected {name!r}")
    return SqlObject(
        name=name,
        path=path,
        kind=cm.group(3).lower(),
        call=call,
        params=params,
        doc="\n".join(doc_lines).strip(),
        returns=_split_list(fields["returns"]),
        requires=_split_list(fields.get("requires", "")),
        depends=_split_list(fields.get("depends", "")),
        source=fields.get("source", ""),
        duckdb_only=fields.get("duckdb-only", ""),
        body=body,
    )


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def library_root():
    return resources.files("corpusql.sql")


def _iter_files(root) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def walk(node, rel: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.is_dir():
                if child.name in SKIP_DIRS or child.name.startswith(("_", ".")):
                    continue
                walk(child, f"{rel}{child.name}/")
            elif child.name.endswith(".sql"):
                out.append((f"sql/{rel}{child.name}", child.read_text(encoding="utf-8")))

    walk(root, "")
    return out


#: Macros users added with corpusql.register_macro: (path, text), in the library files' format.
_USER_FILES: list[tuple[str, str]] = []


@lru_cache(maxsize=1)
def library() -> tuple[SqlObject, ...]:
    """Every library object (sql/ and the users' registered macros), in dependency order."""
    objs = [parse_file(path, text) for path, text in _iter_files(library_root()) + _USER_FILES]
    return tuple(_toposort(objs))


def add_user_file(path: str, text: str) -> SqlObject:
    """Add a user's macro (library file format) to :func:`library`; returns it parsed."""
    obj = parse_file(path, text)
    if obj.name in library_by_name():
        raise SqlLibraryError(f"{path}: {obj.name!r} is already defined in "
                              f"{library_by_name()[obj.name].path}")
    _USER_FILES.append((path, text))
    library.cache_clear()
    try:
        library()  # its depends must resolve
    except SqlLibraryError:
        _USER_FILES.pop()
        library.cache_clear()
        raise
    return library_by_name()[obj.name]


def _toposort(objs: list[SqlObject]) -> list[SqlObject]:
    by_name: dict[str, SqlObject] = {}
    for o in objs:
        if o.name in by_name:
            raise SqlLibraryError(f"{o.path}: {o.name!r} is also defined in {by_name[o.name].path}")
        by_name[o.name] = o
    order: list[SqlObject] = []
    state: dict[str, int] = {}

    def visit(o: SqlObject, chain: tuple[str, ...]) -> None:
        if state.get(o.name) == 2:
            return
        if state.get(o.name) == 1:
            raise SqlLibraryError(f"{o.path}: dependency cycle {' -> '.join(chain + (o.name,))}")
        state[o.name] = 1
        for dep in o.depends:
            if dep not in by_name:
                raise SqlLibraryError(f"{o.path}: depends on {dep!r}, which no sql/ file defines")
            visit(by_name[dep], chain + (o.name,))
        state[o.name] = 2
        order.append(o)

    for o in objs:
        visit(o, ())
    resolved: dict[str, SqlObject] = {}
    for o in order:  # dependencies come first
        via = {r for d in o.depends for r in resolved[d].requires + resolved[d].requires_via_depends}
        resolved[o.name] = replace(o, requires_via_depends=tuple(sorted(via)))
    return [resolved[o.name] for o in order]


def check_references(obj: SqlObject, udf_names: set[str], lib_names: set[str]) -> None:
    """The header's requires/depends must list exactly the functions the body calls."""
    called = sqlparse.calls(sqlparse.macro_body(obj.body) if obj.kind == "macro" else obj.body)
    called.discard(obj.name)
    for kind, declared, known in (
        ("requires", set(obj.requires), udf_names),
        ("depends", set(obj.depends), lib_names),
    ):
        used = called & known
        if used - declared:
            raise SqlLibraryError(
                f"{obj.path}: calls {', '.join(sorted(used - declared))} but the header's "
                f"'{kind}:' does not list it"
            )
        if declared - used:
            raise SqlLibraryError(
                f"{obj.path}: header '{kind}:' lists {', '.join(sorted(declared - used))}, "
                "which the body never calls"
            )


def temp_statement(obj: SqlObject) -> str:
    """The file's statement rewritten to create a TEMP object."""
    body = obj.body.lstrip()
    if not _CREATE_RE.match(body):  # the statement starts with comments
        body = _strip_comments(obj.body)
    return _CREATE_RE.sub(
        lambda m: f"CREATE OR REPLACE TEMP {m.group(3).upper()} {m.group(4)}", body, count=1
    )


def check_created(con: duckdb.DuckDBPyConnection, obj: SqlObject) -> None:
    """Compare the header with what DuckDB reports for the created object."""
    if obj.kind == "macro":
        rows = con.execute(
            "SELECT function_type, parameters FROM duckdb_functions() "
            "WHERE function_name = ? AND database_name = 'temp'",
            [obj.name],
        ).fetchall()
        if not rows:
            raise SqlLibraryError(f"{obj.path}: DuckDB reports no macro {obj.name!r} after loading")
        params = tuple(rows[0][1])
        if params != obj.params:
            raise SqlLibraryError(
                f"{obj.path}: header parameters {obj.params} but DuckDB reports {params}"
            )
    else:
        cols = tuple(r[0] for r in con.execute(f"DESCRIBE {obj.name}").fetchall())
        if cols != obj.returns:
            raise SqlLibraryError(
                f"{obj.path}: header 'returns:' {obj.returns} but the view has columns {cols}"
            )


def load_library(con: duckdb.DuckDBPyConnection, *, check: bool = True) -> None:
    """Create every library object on ``con`` as a TEMP macro or view."""
    from .functions import REGISTRY

    objs = library()
    udf_names = {f.name for f in REGISTRY}
    lib_names = {o.name for o in objs}
    for obj in objs:
        if check:
            check_references(obj, udf_names, lib_names)
            missing = set(obj.requires) - udf_names
            if missing:
                raise SqlLibraryError(f"{obj.path}: requires unknown functions {sorted(missing)}")
        try:
            con.execute(temp_statement(obj))
        except duckdb.Error as exc:
            raise SqlLibraryError(f"{obj.path}: {exc}") from exc
        if check:
            check_created(con, obj)


def persist_pure_sql(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Write the pure-SQL library objects into the database file, for the stock shell and BI tools.

    Returns the names written. Objects that need Python UDFs are skipped: the stock shell cannot
    run them.
    """
    names = []
    for obj in library():
        if obj.pure_sql and all(library_by_name()[d].pure_sql for d in obj.depends):
            con.execute(obj.body)
            names.append(obj.name)
    return names


def library_by_name() -> dict[str, SqlObject]:
    return {o.name: o for o in library()}

"""``corpusql run recipe.sql --engine spark OUT``: a DuckDB recipe run on Spark, outputs materialized.

A recipe is a DuckDB SQL script (``sql/recipes/demo.sql``). On Spark each statement is read
with DuckDB's grammar, its library macro calls are expanded (``corpusql.spark.expand``) and it
is rendered as Spark SQL, with these meanings:

- ``CREATE [OR REPLACE] [TEMP] TABLE t AS SELECT ...``: a temp view over the result, computed at
  once and held by the executors (``localCheckpoint``: a table is computed once, as in DuckDB,
  and later statements plan against its rows, not against the plans before it);
- ``INSERT INTO t SELECT ...``: ``t`` redefined as ``t UNION ALL (the SELECT)``, by position,
  computed and held the same way;
- ``CREATE [OR REPLACE] [TEMP] VIEW v AS SELECT ...``: a temp view (computed when read);
- a plain ``SELECT``: run, and its rows handed to ``on_result``.

A statement with no Spark form gets a variant beside it, in the comment lines just above it::

    -- spark:
    --     INSERT INTO t SELECT ... (Spark SQL, indented four spaces; library macros allowed)

DuckDB reads the comment as a comment. Directives in comment lines name what a run reads and
writes on an engine without corpusql's catalog:

- ``-- input docs = corpusql/data/sample.parquet``: the temp view ``docs`` reads that Parquet
  (a path starting ``corpusql/`` is inside the installed package; others are relative to the
  recipe's folder); ``inputs={'docs': path}`` (``--input docs=PATH``) overrides it;
- ``-- output train: SELECT ... ORDER BY id, epoch``: after the recipe, ``OUT/train`` is
  materialized from that query, rows in that order (``corpusql.spark.materialize``),
  continued on following comment lines indented four spaces;
- ``-- removal_log: demo_removed``: the recipe's log of removed documents (id, step, reason),
  kept beside every output for ``release_diff`` (``removal_log=`` of ``corpusql.materialize``).

Outputs are published as the DuckDB recipe runs publish theirs (``corpusql demo``,
corpusql.releases): each run adds a version ``OUT/train/vNNNN/`` and moves
``OUT/train/current``, keeping ``keep`` versions (``--keep``, else
``$CORPUSQL_KEEP_VERSIONS``, else 5); an older unversioned output becomes ``v0001`` first.
``versioned=False`` (``--unversioned``) replaces ``OUT/train`` in place and refuses a
versioned release. The takedowns recorded in the catalog ``lake`` (``--db``, else
``$CORPUSQL_DB``) leave their rows out of the ``-- input`` views, as the catalog's views do on
DuckDB (corpusql.spark.takedown_inputs), and they and those in the previous version's manifest
are applied to every output.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from ..materializer import Result
from ..scripts import ScriptError
from .dialect import LibraryDuckDB, LibrarySpark

_VARIANT = re.compile(r"^--\s*spark:")
_INDENTED = re.compile(r"^--\s{4,}(\S.*)$")
_INPUT = re.compile(r"^--\s*input\s+(\w+)\s*=\s*(\S+)\s*$")
_OUTPUT = re.compile(r"^--\s*output\s+(\w+)\s*:\s*(\S.*)$")
_REMOVALS = re.compile(r"^--\s*removal_log\s*:\s*(\w+)\s*$")


@dataclass
class Output:
    """One declared output: its folder name under OUT, its query and the rows' total order."""

    name: str
    query: str
    order_by: str = "ALL"
    removal_log: str | None = None


@dataclass
class Statement:
    """One recipe statement: the SQL run on Spark, where it starts, and whether it is a variant."""

    sql: str
    line: int
    variant: bool = False


@dataclass
class RunResult:
    """What ``run_recipe`` did: the statements run, each output's materialize ``Result`` and
    the rows of each input left out for the catalog's takedowns."""

    statements: int
    outputs: dict[str, Result] = field(default_factory=dict)
    hidden: dict[str, int] = field(default_factory=dict)  # input view -> rows taken down


def _comment_block(lines: list[str], i: int) -> tuple[str, int]:
    """The text of the indented comment lines from ``lines[i]`` on, and the index after."""
    parts = []
    while i < len(lines) and _INDENTED.match(lines[i].strip()):
        parts.append(_INDENTED.match(lines[i].strip()).group(1))
        i += 1
    return "\n".join(parts), i


def directives(sql: str, base: Path) -> tuple[dict[str, str], list[Output]]:
    """The recipe's ``-- input`` paths and ``-- output`` queries (see the module docstring)."""
    inputs: dict[str, str] = {}
    outputs: list[Output] = []
    removals = None
    lines = sql.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        m = _INPUT.match(line)
        if m:
            inputs[m.group(1)] = _input_path(m.group(2), base)
            continue
        m = _OUTPUT.match(line)
        if m:
            more, i = _comment_block(lines, i)
            outputs.append(_output(m.group(1), m.group(2) + ("\n" + more if more else "")))
        m = _REMOVALS.match(line)
        if m:
            removals = m.group(1)
    for o in outputs if removals else []:
        o.removal_log = removals
    return inputs, outputs


def _input_path(given: str, base: Path) -> str:
    if given.startswith("corpusql/"):
        return str(resources.files("corpusql").joinpath(given[len("corpusql/"):]))
    return str((base / given).resolve())


def _output(name: str, query: str) -> Output:
    """Split a trailing ORDER BY off the query: it is the output's order."""
    tree = sqlglot.parse_one(query, read="duckdb")
    order = tree.args.get("order")
    if order is None:
        return Output(name, query.strip())
    tree.set("order", None)
    keys = ", ".join(k.sql(dialect="duckdb") for k in order.expressions)
    return Output(name, tree.sql(dialect="duckdb"), keys)


def statements(sql: str) -> list[Statement]:
    """The recipe's statements in order, each replaced by its ``-- spark:`` variant if any."""
    out = []
    offset = 0
    for stmt in duckdb.extract_statements(sql):
        lines = stmt.query.strip().splitlines()
        first = next((ln.strip() for ln in lines if not ln.strip().startswith("--")), "")
        start = sql.find(first[:40], offset) if first else -1
        offset = max(offset, start)
        line = sql.count("\n", 0, start) + 1 if start >= 0 else 0
        variant = None
        for i, ln in enumerate(lines):
            if _VARIANT.match(ln.strip()):
                variant, _ = _comment_block(lines, i + 1)
                break
        body = "\n".join(ln for ln in lines if not ln.strip().startswith("--")).strip()
        if variant:
            out.append(Statement(variant, line, True))
        elif body:
            out.append(Statement(body, line))
    return out


def _render(spark, select: exp.Expression) -> str:
    """Spark SQL of a statement's query, library calls expanded (native ones as views).

    A variant's tree, read with Spark's grammar, is expanded as read: rendering it and reading
    it again upper-cased its macro calls (SPLIT_SUMMARY(...)), which the expansion missed."""
    from .library import native_hook, render_spark
    from .render import _Counter, _expand_nested

    return render_spark(_expand_nested(select, _Counter(native_hook(spark)), "spark"))


def _table(spark, df, name: str):
    """``df`` computed once and held by the executors (``localCheckpoint``), as the view ``name``.

    The checkpoint also cuts the plan: a table's view is a scan of its rows, not the plans of every
    stage before it (Spark's analyzer walks a view's whole plan at each use, and a recipe's later
    stages nest all earlier ones: the demo's near-dup stage spent minutes in analysis)."""
    df = df.localCheckpoint(eager=True)
    df.createOrReplaceTempView(name)
    return df


def run_statement(spark, st: Statement, on_result=None) -> None:
    """Run one recipe statement on ``spark`` (meanings in the module docstring)."""
    tree = sqlglot.parse_one(st.sql, read=LibrarySpark if st.variant else LibraryDuckDB)
    if isinstance(tree, exp.Create) and tree.kind in ("TABLE", "VIEW") and \
            isinstance(tree.expression, exp.Query):
        name = tree.this.name if isinstance(tree.this, exp.Table) else tree.this.this.name
        df = spark.sql(_render(spark, tree.expression))
        if tree.kind == "TABLE":
            _table(spark, df, name)
        else:
            df.createOrReplaceTempView(name)
        return
    if isinstance(tree, exp.Insert) and isinstance(tree.expression, exp.Query):
        target = tree.this
        if not isinstance(target, exp.Table):
            raise ValueError("INSERT INTO with a column list has no Spark form here")
        name = target.name
        old = spark.table(name)
        new = spark.sql(_render(spark, tree.expression))
        if len(new.columns) != len(old.columns):
            raise ValueError(f"INSERT INTO {name} gives {len(new.columns)} columns, {name} has "
                             f"{len(old.columns)}")
        _table(spark, old.union(new.toDF(*old.columns)), name)
        return
    if isinstance(tree, exp.Query):
        df = spark.sql(_render(spark, tree))
        if on_result is not None:
            on_result(st.sql, df.columns, [tuple(r) for r in df.collect()])
        return
    raise ValueError(f"no Spark form for {type(tree).__name__} statements: add a `-- spark:` "
                     "variant beside it (Spark SQL in comment lines indented four spaces)")


def run_recipe(spark, path: str | os.PathLike, out_dir: str | os.PathLike | None = None, *,
               inputs: dict[str, str] | None = None, overwrite: bool = False,
               on_result=None, versioned: bool = True, keep: int | None = None,
               lake=None) -> RunResult:
    """Run the recipe at ``path`` on ``spark``, then materialize its ``-- output`` queries under
    ``out_dir`` (each with the recipe recorded in its manifest); returns what was written.

    ``inputs`` ({view: Parquet path}) override the recipe's ``-- input`` directives.
    ``versioned`` (default), ``keep`` and ``lake`` (the catalog database whose takedowns
    apply): see the module docstring; ``overwrite`` applies to ``versioned=False``.
    """
    from ..releases import prepare
    from .finish import catalog_connection
    from .materialize import materialize

    p = Path(path)
    try:
        sql = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScriptError(f"{p}: no such SQL file") from None
    declared, outputs = directives(sql, p.parent.absolute())
    if out_dir is not None:  # before the recipe: a refusal costs nothing
        if keep is not None and not versioned:
            raise ScriptError(f"--keep {keep} applies to versioned releases: drop "
                              "--unversioned (versioned=False)")
        for o in outputs:
            prepare(Path(out_dir) / o.name, versioned)
    with catalog_connection(lake) as catalog:
        result = _run(spark, p, sql, {**declared, **(inputs or {})}, catalog, on_result)
        if out_dir is None:
            return result
        if not outputs:
            raise ScriptError(f"{p}: declares no outputs (`-- output NAME: SELECT ...`), so "
                              f"there is nothing to write to {out_dir}")
        for o in outputs:
            result.outputs[o.name] = materialize(
                spark, o.query, Path(out_dir) / o.name, order_by=o.order_by,
                overwrite=overwrite, recipe=sql, versioned=versioned, keep=keep, lake=catalog,
                removal_log=o.removal_log)
    return result


def _run(spark, p: Path, sql: str, inputs: dict[str, str], catalog, on_result) -> RunResult:
    """The recipe's inputs as views (without what the catalog's takedowns find), then its
    statements."""
    from ..takedown_apply import recorded_in_db
    from .takedown_inputs import without_taken_down

    takedowns = recorded_in_db(catalog) if catalog is not None else []
    hidden = {}
    for name, where in inputs.items():
        df, hidden[name] = without_taken_down(spark, spark.read.parquet(where), takedowns)
        df.createOrReplaceTempView(name)
    steps = statements(sql)
    for n, st in enumerate(steps, 1):
        try:
            run_statement(spark, st, on_result)
        except Exception as exc:  # noqa: BLE001 - Spark, sqlglot and corpusql errors alike
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            what = "its `-- spark:` variant" if st.variant else "statement"
            raise ScriptError(f"{p}:{st.line}: statement {n} ({what}) on Spark: {first}") \
                from exc
    return RunResult(len(steps), hidden={k: n for k, n in hidden.items() if n})


def cli_run(args, show) -> int:
    """``corpusql run SCRIPT [OUT] --engine spark [--master URL] [--input NAME=PATH]
    [--unversioned] [--keep N] [--db LAKE]``."""
    if args.engine != "spark":
        raise ValueError(f"an OUT_DIR ({args.out_dir}) is written only with --engine spark; on "
                         "duckdb use `corpusql materialize QUERY OUT --setup SCRIPT`")
    from .session import session

    inputs = {}
    for given in args.input or []:
        name, sep, where = given.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--input {given!r}: write NAME=PATH")
        inputs[name.strip()] = where.strip()
    lake = args.db or os.environ.get("CORPUSQL_DB") or None
    spark = session(args.master)
    result = run_recipe(spark, args.script, args.out_dir, inputs=inputs,
                        overwrite=args.overwrite, on_result=lambda _s, c, r: show(c, r),
                        versioned=not args.unversioned, keep=args.keep, lake=lake)
    for name, n in result.hidden.items():
        print(f"input {name}: {n} rows left out (takedowns recorded in {lake})")
    for name, out in result.outputs.items():
        for line in out.recovered:
            print(line)
        where = "" if args.unversioned else f", current -> {out.out_dir.name}"
        print(f"{out.out_dir}: {out.status}, {out.rows} rows in {len(out.files)} files "
              f"(output {name}, engine spark{where})")
    return 0

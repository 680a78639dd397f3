"""The SQL library on Spark: table macros expanded at the call site, scalar macros as functions.

Spark SQL functions cannot take a table name (``IDENTIFIER(tbl)`` inside a SQL table function's
body is refused), so corpusql expands each table-macro call itself before Spark sees it::

    corpusql.spark.sql(spark, "SELECT * FROM split_summary('docs', split_col := 'fold')")
    corpusql.spark.split_summary(spark, "docs", split_col="fold")      # the same, as a DataFrame

Arguments are named with ``:=`` (as in DuckDB) or ``=>`` (as in Spark). Table arguments name a
table or view Spark knows (``createOrReplaceTempView``, a catalog table); column arguments name
one of its columns. The rendering is in :mod:`corpusql.spark.render` and
:mod:`corpusql.spark.dialect`; docs/spark-sql-library.md lists how each macro runs on Spark.
"""

from __future__ import annotations

import itertools
import re

import sqlglot
from sqlglot import exp

from .dialect import LibrarySpark, spark_sql, to_spark
from .render import (
    MacroCallError,
    _Counter,
    _expand_nested,
    _fold,
    bind,
    expand_call,
    library_macros,
    spec,
)


class NotOnSpark(MacroCallError):
    """A library macro uses a DuckDB-only construct that has no Spark form yet."""


def expand(statement: str) -> str:
    """``statement`` (Spark SQL calling library macros) as plain Spark SQL."""
    try:
        tree = sqlglot.parse_one(statement, read=LibrarySpark)
    except sqlglot.errors.ParseError as e:
        raise MacroCallError(f"cannot parse the statement: {e}") from e
    return render_spark(_expand_nested(tree, _Counter(), "spark"))


def render_spark(tree: exp.Expression) -> str:
    """Spark SQL of an expanded tree (kernel calls in generators made direct, see below)."""
    return to_spark(tree.copy()).transform(_direct_kernel_calls).sql(dialect=LibrarySpark)


def _direct_kernel_calls(node: exp.Expression) -> exp.Expression:
    """A kernel call inside ``unnest`` (Spark: a generator) or taking a lambda's result (an
    ordered ``list()``) as a call of its private UDF.

    Spark refuses SQL functions inside generators (UNSUPPORTED_SQL_UDF_USAGE) and around
    higher-order functions (LAMBDA_FUNCTION_WITH_SQL_UDF), and each kernel
    is a SQL function wrapping the private Arrow UDF ``__corpusql_<name>`` (corpusql.spark's
    binder): inside a generator the private UDF is called with every argument in order, defaults
    filled in and each cast to the parameter's Spark type.
    """
    if not isinstance(node, exp.Anonymous) or not (
            node.find_ancestor(exp.Explode, exp.Unnest, exp.Inline) or node.find(exp.Lambda)):
        return node
    from ..functions import REGISTRY

    rows = {f.name: f for f in REGISTRY}
    f = rows.get(node.name.lower())
    if f is None:
        return node
    from .binder import PRIVATE_PREFIX
    from .types import spark_literal, spark_type

    names = [p.name for p in f.params]
    given: dict[str, exp.Expression] = {}
    for i, arg in enumerate(node.expressions):
        if isinstance(arg, exp.Kwarg | exp.PropertyEQ):
            given[arg.this.name] = arg.expression
        else:
            given[names[i]] = arg
    args = []
    for p in f.params:
        t = spark_type(p.sql_type)
        if p.name in given:
            arg = given[p.name]
        elif p.required:
            raise MacroCallError(f"{f.name}() needs {p.name!r}")
        else:
            arg = sqlglot.parse_one(spark_literal(p.default, t), read="spark")
        args.append(exp.Cast(this=arg, to=exp.DataType.build(t.ddl, dialect="spark")))
    return exp.Anonymous(this=PRIVATE_PREFIX + f.name, expressions=args)


def sql(spark, statement: str):
    """Run ``statement`` on ``spark`` with every library macro call expanded (those in
    :data:`NATIVE` run as DataFrames, see :func:`native_hook`); a DataFrame."""
    try:
        tree = sqlglot.parse_one(statement, read=LibrarySpark)
    except sqlglot.errors.ParseError as e:
        raise MacroCallError(f"cannot parse the statement: {e}") from e
    return spark.sql(render_spark(_expand_nested(tree, _Counter(native_hook(spark)), "spark")))


#: Table macros with a distributed implementation in corpusql.spark.dedup, the same answer as
#: the expanded SQL: near_dup_clusters' SQL form labels components with the connected_components
#: kernel over one list of every edge (one row, on one executor) and its nested self-joins take
#: Spark's analyzer minutes to plan; the DataFrame form runs large-star / small-star rounds.
NATIVE = ("near_dup_clusters", "semantic_dup_clusters")
#: semantic_dup_clusters (corpusql.spark.semantic) runs the macro's own kernels on the driver:
#: its DuckDB form needs ``query_table``, ``r[col]`` and ``error()``, and the semdedup_pairs
#: kernel takes every vector in one call there too.
#: Per native macro: the column parameter holding the data, and the name its id check uses
#: (None: the macro does not check its ids).
_NATIVE_ARGS = {"near_dup_clusters": ("text_col", "near_dup_candidates"),
                "semantic_dup_clusters": ("emb_col", None)}

#: Prefix of the temp views that hold a native call's result (one per call, per session).
NATIVE_VIEW_PREFIX = "__corpusql_native_"
_native_ids = itertools.count(1)


def _python_value(arg: exp.Expression):
    """A constant argument as a Python value, or raise ValueError when it is not one."""
    arg = _fold(arg.copy())
    if isinstance(arg, exp.Null):
        return None
    if isinstance(arg, exp.Boolean):
        return arg.this
    if isinstance(arg, exp.Literal) and arg.is_string:
        return arg.name
    if isinstance(arg, exp.Literal):
        return float(arg.name) if any(c in arg.name for c in ".eE") else int(arg.name)
    if isinstance(arg, exp.Neg) and isinstance(arg.this, exp.Literal):
        return -_python_value(arg.this)
    raise ValueError(arg.sql(dialect=LibrarySpark))


def native_hook(spark):
    """The expansion hook (render._Counter's ``native``) for a session: a call of a
    :data:`NATIVE` macro whose arguments are constants and whose table Spark knows runs as
    corpusql.spark.dedup's DataFrame, held in a temp view whose name replaces the call; any
    other call returns None and is expanded as SQL. The ids are checked as the macro checks
    them (unique, not NULL), with the macro's message."""
    from . import dedup, semantic

    views = {}

    def hook(name: str, args: list[exp.Expression]) -> str | None:
        if name not in NATIVE:
            return None
        try:
            values = {k: _python_value(v) for k, v in bind(spec(name), args).items()}
        except ValueError:
            return None
        key = repr(sorted(values.items()))
        if key in views:
            return views[key]
        tbl = values.pop("tbl")
        if not spark.catalog.tableExists(tbl):  # e.g. a CTE of the statement: expand as SQL
            return None
        docs = spark.table(tbl)
        data_col, checked_as = _NATIVE_ARGS[name]
        if checked_as:
            _check_ids(docs, values["id_col"], f"{checked_as}: {tbl}.{values['id_col']}")
        module = semantic if name == "semantic_dup_clusters" else dedup
        df = getattr(module, name)(spark, docs, values.pop(data_col), values.pop("id_col"),
                                   **values)
        view = f"{NATIVE_VIEW_PREFIX}{name}_{next(_native_ids)}"
        df.createOrReplaceTempView(view)
        views[key] = view
        return view

    return hook


def _check_ids(docs, id_col: str, what: str) -> None:
    """Fail as near_dup_ids_checked does when ``docs.id_col`` has a NULL or a repeated id."""
    from pyspark.sql import functions as F

    col = F.col(f"`{id_col}`")
    row = docs.agg(F.count(F.lit(1)).alias("n"), F.count(col).alias("ids"),
                   F.count_distinct(col).alias("distinct")).first()
    if row["n"] > row["ids"]:
        raise MacroCallError(f"{what} has {row['n'] - row['ids']} NULL ids; ids must be unique "
                             "and not NULL")
    if row["distinct"] < row["ids"]:
        example = (docs.groupBy(col.alias("id")).count().where("count > 1")
                   .orderBy("id").first()["id"])
        raise MacroCallError(f"{what} is not unique: {row['ids'] - row['distinct']} repeated "
                             f"ids, e.g. {example}")


def _literal(value) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise MacroCallError(f"cannot pass a Python {type(value).__name__} ({value!r}) to a library "
                         "macro: pass text, a number, a bool or None")


def _arguments(args, kwargs) -> list[exp.Expression]:
    nodes = [_literal(a) for a in args]
    return nodes + [exp.PropertyEQ(this=exp.to_identifier(k), expression=_literal(v))
                    for k, v in kwargs.items()]


def call_sql(name: str, *args, **kwargs) -> str:
    """The Spark SQL of ``SELECT * FROM name(args...)`` with Python values as arguments."""
    s = spec(name)
    nodes = _arguments(args, kwargs)
    if not library_macros()[name]:
        raise MacroCallError(f"{name}() is a scalar macro: call it in Spark SQL ({s.obj.call})")
    return render_spark(expand_call(name, nodes, engine="spark"))


def call(spark, name: str, *args, **kwargs):
    """The table macro ``name`` on ``spark`` as a DataFrame: ``call(spark, 'split_summary',
    'docs')``; the same as each ``corpusql.spark.<macro>(spark, ...)``. A :data:`NATIVE` macro
    runs as its DataFrame (see :func:`native_hook`)."""
    if name in NATIVE:
        view = native_hook(spark)(name, _arguments(args, kwargs))
        if view is not None:
            return spark.table(view)
    return spark.sql(call_sql(name, *args, **kwargs))


def table_function(name: str):
    """``corpusql.spark.<name>``: the table macro as a Python function returning a DataFrame."""
    s = spec(name)

    def run(spark, *args, **kwargs):
        return call(spark, name, *args, **kwargs)

    run.__name__ = run.__qualname__ = name
    run.__doc__ = f"{s.obj.call}\n\n{s.obj.doc}\n\nOn Spark: returns a DataFrame."
    return run


def macro_attribute(name: str):
    """The module attribute ``corpusql.spark.<name>`` for a library table macro."""
    if name.startswith("_") or library_macros().get(name) is not True:
        raise AttributeError(f"module 'corpusql.spark' has no attribute {name!r}")
    return table_function(name)


def scalar_function_sql(name: str) -> str:
    """``CREATE OR REPLACE TEMPORARY FUNCTION`` for a scalar macro, with DEFAULT parameters.

    Parameter types are read from the defaults (a required parameter is a DOUBLE); the body is the
    macro's expression rendered for Spark. Library kernels it calls must be registered first.
    """
    s = spec(name)
    params = []
    for p in s.params:
        if p.default is None:
            params.append(f"{p.name} DOUBLE")
            continue
        default = sqlglot.parse_one(p.default, read="duckdb")
        params.append(f"{p.name} {_type_of(default)} DEFAULT {default.sql(dialect=LibrarySpark)}")
    from ..sqlparse import LibraryDuckDB

    body = sqlglot.parse_one(s.body_sql, read=LibraryDuckDB)
    returns = s.obj.returns[0].split()[0].upper() if s.obj.returns else "VARCHAR"
    returns = {"VARCHAR": "STRING", "TEXT": "STRING"}.get(returns, returns)
    return (f"CREATE OR REPLACE TEMPORARY FUNCTION {name}({', '.join(params)}) "
            f"RETURNS {returns} RETURN {spark_sql(body)}")


def _type_of(literal: exp.Expression) -> str:
    if isinstance(literal, exp.Boolean):
        return "BOOLEAN"
    if isinstance(literal, exp.Literal) and literal.is_string:
        return "STRING"
    if isinstance(literal, exp.Literal) and re.fullmatch(r"-?\d+", literal.name):
        return "INT"
    return "DOUBLE"

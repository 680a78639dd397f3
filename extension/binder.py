"""The one place that calls ``create_function``: registry rows -> Arrow UDFs + TEMP macros.

Each row becomes a private UDF ``__corpusql_<name>`` (positional, all parameters) and a TEMP macro
``<name>`` with the real parameter names, ``:=`` defaults and a COMMENT from the kernel docstring.
TEMP objects live in the connection's temp catalog, so nothing is written to the database file.

Kernels that buffer across rows take a keyword ``memory_budget`` (bytes, None for no limit).
Kernels cannot read session variables, so their macro passes the connection's variable
``corpusql_memory_budget`` (set by ``corpusql.connect``) as one more, hidden, UDF argument.
"""

from __future__ import annotations

import inspect
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .registry import Function, Param, sql_literal
from .udfs.paths import PathGuard, enforce

PRIVATE_PREFIX = "__corpusql_"
#: The hidden last argument of kernels that take ``memory_budget``: the connection's budget.
BUDGET_ARG = "TRY_CAST(getvariable('corpusql_memory_budget') AS BIGINT)"


def takes_budget(f: Function) -> bool:
    """True when ``f``'s kernel has a ``memory_budget`` keyword (the binder passes the budget)."""
    return "memory_budget" in inspect.signature(f.kernel).parameters


def private_name(name: str) -> str:
    return PRIVATE_PREFIX + name


def _constant(f: Function, p: Param, arr: pa.ChunkedArray | pa.Array) -> Any:
    """The single value of a constant argument column, or a clear error.

    DuckDB passes a constant as a full column. Scalars are checked to be equal on every row;
    lists (which can be thousands of terms long on every row) are checked by their lengths and
    their first, middle and last rows.
    """
    if len(arr) == 0:
        return p.default
    value = arr[0].as_py()
    if len(arr) > 1:
        if pa.types.is_nested(arr.type):
            arr = _as_array(arr)
            varies = arr.null_count not in (0, len(arr))
            if not varies and arr.null_count == 0 and pa.types.is_list(arr.type):
                lengths = pc.list_value_length(arr)
                varies = pc.min(lengths).as_py() != pc.max(lengths).as_py()
            if not varies:
                varies = any(arr[i].as_py() != value for i in (len(arr) // 2, len(arr) - 1))
        else:
            varies = arr.null_count not in (0, len(arr)) or (
                arr.null_count == 0 and pc.count_distinct(arr).as_py() != 1)
        if varies:
            raise ValueError(
                f"{f.name}: parameter {p.name} must be a constant, but it varies between rows"
            )
    return value


def _as_array(arr: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        if arr.num_chunks == 1:
            return arr.chunk(0)
        return arr.combine_chunks()
    return arr


def call_kernel(f: Function, columns: list[pa.Array], constants: dict[str, Any]) -> pa.Array:
    """Apply the NULL policy around ``f.kernel`` and return its result (engine-agnostic).

    With ``null="null"`` the kernel sees only rows whose column arguments are all non-NULL, and
    the other rows come back NULL; with ``null="kernel"`` it sees every row.
    """
    if f.null != "null" or not any(c.null_count for c in columns):
        return f.kernel(*columns, **constants)
    n = len(columns[0])
    valid = np.ones(n, dtype=bool)
    for c in columns:
        if c.null_count:
            valid &= np.asarray(c.is_valid())
    if not valid.any():
        return pa.nulls(n)
    keep = pa.array(valid)
    result = f.kernel(*[pc.filter(c, keep) for c in columns], **constants)
    positions = pa.array(np.cumsum(valid) - 1, mask=~valid)
    return pc.take(result, positions)


def make_udf(f: Function, out_type: pa.DataType, guard: PathGuard | None = None):
    """The Arrow UDF of ``f``; with ``guard``, kernels may open only the files it allows."""
    cols = [p for p in f.params if p.column]
    consts = [p for p in f.params if not p.column]
    ncol = len(cols)
    budget = takes_budget(f)

    def udf(*args: pa.ChunkedArray) -> pa.Array:
        columns = [_as_array(a) for a in args[:ncol]]
        constants = {}
        if budget and len(args) > len(f.params):  # called from SQL: the hidden budget argument
            args, last = args[:-1], args[-1]
            constants["memory_budget"] = last[0].as_py() if len(last) else None
        for p, a in zip(consts, args[ncol:]):
            value = _constant(f, p, a)
            p.check(f.name, value)
            constants[p.name] = value
        if f.validate is not None:
            f.validate(**constants)
        if guard is None:
            result = call_kernel(f, columns, constants)
        else:
            with enforce(guard):
                result = call_kernel(f, columns, constants)
        if isinstance(result, pa.ChunkedArray):
            result = result.combine_chunks()
        if result.type == pa.null():
            return pa.nulls(len(result), out_type)
        if result.type != out_type:
            result = result.cast(out_type)
        return result

    names = [p.name for p in f.params] + (["memory_budget"] if budget else [])
    udf.__signature__ = inspect.Signature(  # DuckDB checks the arity
        [inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY) for n in names]
    )
    udf.__name__ = private_name(f.name)
    udf.__doc__ = f.kernel.__doc__
    return udf


_ARROW_TYPES: dict[str, pa.DataType] = {}


def arrow_type(con: duckdb.DuckDBPyConnection, sql_type: str) -> pa.DataType:
    """The Arrow type DuckDB expects back for ``sql_type`` (asked of DuckDB once per type)."""
    t = _ARROW_TYPES.get(sql_type)
    if t is None:
        t = con.sql(f"SELECT NULL::{sql_type} AS x").to_arrow_table().schema.field(0).type
        if t == pa.string_view():
            t = pa.string()
        _ARROW_TYPES[sql_type] = t
    return t


def macro_sql(f: Function) -> str:
    """The TEMP macro that exposes ``f`` with named parameters and defaults."""
    params = []
    for p in f.params:
        params.append(p.name if p.required else f"{p.name} := {sql_literal(p.default)}")
    args = ", ".join(f"CAST({p.name} AS {p.sql_type})" if p.cast else p.name for p in f.params)
    if takes_budget(f):
        args = f"{args}, {BUDGET_ARG}" if args else BUDGET_ARG
    return (
        f"CREATE OR REPLACE TEMP MACRO {f.name}({', '.join(params)}) AS "
        f"{private_name(f.name)}({args})"
    )


#: Every UDF callable handed to DuckDB, kept for the life of the process: a database instance
#: shared by several connections keeps calling a UDF after the connection that registered it
#: has closed, and DuckDB holds no reference of its own (freeing it crashed the process).
_UDFS: dict[str, Any] = {}
#: The same for the guarded callables of role connections (one set per role connection).
_GUARDED: list[Any] = []


def _registered(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT function_name FROM duckdb_functions() "
        "WHERE starts_with(function_name, ?) AND database_name = 'system'",
        [PRIVATE_PREFIX]).fetchall()
    return {r[0] for r in rows}


def bind(con: duckdb.DuckDBPyConnection, registry, guard: PathGuard | None = None) -> None:
    """Register every row of ``registry`` on ``con``.

    UDFs live in the database instance, which DuckDB shares between connections to the same file
    in one process: a second ``corpusql.connect`` to that file reuses the UDFs the first one
    registered (same process, same registry) and adds only its own TEMP macros.

    ``guard`` (role connections, which have an instance of their own): every kernel runs under
    it, so the files kernels open (models, tokenizers) must be among the paths it allows.
    """
    present = _registered(con)
    if guard is not None and present:
        raise RuntimeError("a guarded connection needs a database instance of its own, but this "
                           "one already has corpusql functions registered")
    for f in registry:
        if private_name(f.name) not in present:
            if guard is None:
                udf = _UDFS.setdefault(f.name, make_udf(f, arrow_type(con, f.returns)))
            else:
                udf = make_udf(f, arrow_type(con, f.returns), guard)
                _GUARDED.append(udf)
            con.create_function(
                private_name(f.name),
                udf,
                [duckdb.sqltype(p.sql_type) for p in f.params]
                + ([duckdb.sqltype("BIGINT")] if takes_budget(f) else []),
                duckdb.sqltype(f.returns),
                type="arrow",
                null_handling="special",
                side_effects=not f.deterministic,
            )
        con.execute(macro_sql(f))
        con.execute(f"COMMENT ON MACRO {f.name} IS {sql_literal(f.doc)}")

"""Your own functions in corpusql: an Arrow kernel or a SQL macro, registered beside the built-ins.

``corpusql.register`` adds a kernel to the same registry the built-in functions come from, so it
is bound like them (vectorized Arrow UDF, named constants with ``:=`` defaults, the NULL policy,
range checks), listed by ``corpusql_functions()``, recorded with its version in manifests, and
registered on Spark by ``corpusql.spark.session()``/``register()``. ``corpusql.register_macro``
does the same for a SQL macro written like the files in sql/. See docs/extending.md.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

from .registry import Function, Param, RegistryError, _check_row

#: SQL types of constants inferred from a Python default (give ``types=`` for anything else).
_DEFAULT_TYPES = ((bool, "BOOLEAN"), (int, "BIGINT"), (float, "DOUBLE"), (str, "VARCHAR"))
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _constant_type(kernel: Callable, name: str, default: Any) -> str:
    for py, sql in _DEFAULT_TYPES:
        if isinstance(default, py):
            return sql
    if isinstance(default, (list, tuple)) and all(isinstance(v, str) for v in default):
        return "VARCHAR[]"
    raise RegistryError(f"{kernel.__qualname__}: constant {name} = {default!r}: give its SQL type "
                        f"in types={{{name!r}: ...}}")


def _caller() -> str:
    """file:line of the first caller outside this module (where the user registered)."""
    for frame in inspect.stack()[1:]:
        if frame.filename != __file__:
            return f"{frame.filename}:{frame.lineno}"
    return "?"


def function_row(kernel: Callable, *, name: str | None = None, returns: str,
                 columns: Mapping[str, str] | None = None, types: Mapping[str, str] | None = None,
                 null: str = "null", deterministic: bool = True) -> Function:
    """The registry row of ``kernel``, read from its signature (the single source of its
    parameters and defaults): parameters without a default are columns (Arrow arrays; SQL type
    from ``columns``, VARCHAR when not given), keyword-only parameters with a default are
    constants (SQL type from ``types`` or from the default's Python type)."""
    name = name or kernel.__name__
    if not _NAME.match(name):
        raise RegistryError(f"function name {name!r} must be lower-case snake_case")
    columns, types = dict(columns or {}), dict(types or {})
    params = []
    for p in inspect.signature(kernel).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise RegistryError(f"{name}: *{p.name} parameters cannot be SQL parameters")
        if p.default is p.empty:
            if p.kind == p.KEYWORD_ONLY:
                raise RegistryError(f"{name}: keyword-only parameter {p.name} needs a default")
            params.append(Param(p.name, columns.pop(p.name, "VARCHAR")))
        elif p.kind == p.KEYWORD_ONLY:
            sql_type = types.pop(p.name, None) or _constant_type(kernel, p.name, p.default)
            params.append(Param(p.name, sql_type, p.default, column=False,
                                nullable=p.default is None))
        else:
            raise RegistryError(f"{name}: parameter {p.name} has a default but is not "
                                "keyword-only: write constants after `*`")
    unknown = sorted(set(columns) | set(types))
    if unknown:
        raise RegistryError(f"{name}: {', '.join(unknown)} named in columns=/types= but not "
                            f"parameters of {kernel.__qualname__}")
    row = Function(name, kernel, tuple(params), returns, null=null, deterministic=deterministic,
                   where=_caller())
    _check_row(row)
    return row


def _open(connections) -> list:
    """The connections of a weak set that are still open (closed ones are dropped from it)."""
    import duckdb

    out = []
    for con in list(connections):
        try:
            con.execute("SELECT 1")
        except duckdb.ConnectionException:
            connections.discard(con)
        else:
            out.append(con)
    return out


def register(kernel: Callable | None = None, /, *, name: str | None = None, returns: str,
             columns: Mapping[str, str] | None = None, types: Mapping[str, str] | None = None,
             null: str = "null", deterministic: bool = True):
    """Register ``kernel`` (a function of Arrow arrays with a docstring) as SQL function ``name``
    (default: the kernel's name) returning SQL type ``returns``; usable as a decorator,
    ``@corpusql.register(returns="BIGINT")``. See :func:`function_row` for how parameters are
    read. The function is bound on every open corpusql connection without a role and on every
    connection opened later; role connections bind only what existed when they opened.
    Returns the kernel unchanged."""

    def add(k: Callable) -> Callable:
        from .binder import bind
        from .connect import UNGUARDED
        from .functions import REGISTRY
        from .introspect import create_listing

        row = function_row(k, name=name, returns=returns, columns=columns, types=types,
                           null=null, deterministic=deterministic)
        REGISTRY.add(row)
        for con in _open(UNGUARDED):
            bind(con, [row])
            create_listing(con)
        return k

    return add if kernel is None else add(kernel)


def register_macro(sql: str) -> str:
    """Register a SQL macro written like a file in sql/: a header comment (the call, a summary,
    then ``returns:``, and ``requires:``/``depends:`` naming the corpusql functions and macros
    it calls) and one ``CREATE OR REPLACE MACRO`` statement. It is created on every open corpusql
    connection without a role and every later one, listed by ``corpusql_functions()``, and
    expanded on Spark like the library's macros. Returns the macro's name."""
    from .connect import UNGUARDED
    from .functions import REGISTRY
    from .introspect import create_listing
    from .sqllib import (
        add_user_file,
        check_created,
        check_references,
        library,
        parse_file,
        temp_statement,
    )

    m = re.match(r"\s*--\s*([A-Za-z_]\w*)\s*\(", sql)
    if not m:
        raise RegistryError("register_macro: the SQL must start with the header comment "
                            "'-- name(params)', as the files in sql/ do")
    path = f"registered/{hashlib.sha256(sql.encode()).hexdigest()[:8]}/{m.group(1)}.sql"
    text = sql.strip() + "\n"
    check_references(parse_file(path, text), {f.name for f in REGISTRY},
                     {o.name for o in library()})
    obj = add_user_file(path, text)
    for con in _open(UNGUARDED):
        con.execute(temp_statement(obj))
        check_created(con, obj)
        create_listing(con)
    return obj.name

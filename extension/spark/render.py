"""The SQL library rendered for another engine: each macro's header and body, read by corpusql.

A library macro (sql/**/*.sql) is read from its file, not from DuckDB: the header's first line
gives the parameters and their ``:=`` defaults, ``tables:`` the parameters that name a table and
``columns:`` those that name a column. A call such as ``near_dup_clusters('docs', 'text', 'id',
threshold := 0.9)`` is *expanded*: the body with every parameter replaced by its argument
(``query_table(tbl)`` by the table ``docs``, ``r[text_col]`` by the column ``r.text``, other
parameters by the argument's expression), its CTEs renamed so they cannot hide a user's table,
and every library macro it calls expanded the same way (table macros as subqueries, scalar macros
inline). The result is one plain query that any engine with the kernels can run; ``spark_sql``
renders it for Spark.
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass
from functools import cache

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.simplify import simplify

from ..errors import FunctionArgumentError
from ..sqllib import SqlLibraryError, SqlObject, library_by_name
from ..sqlparse import LibraryDuckDB, macro_body, split_args


class MacroCallError(FunctionArgumentError):
    """A library macro was called with arguments it cannot take; the message says which."""


@dataclass(frozen=True)
class Param:
    name: str
    default: str | None  # SQL text of the default; None when the parameter is required


@dataclass(frozen=True)
class MacroSpec:
    """One library macro as corpusql reads it: parameters, identifier parameters, parsed body."""

    obj: SqlObject
    params: tuple[Param, ...]
    tables: frozenset[str]
    columns: frozenset[str]
    body_sql: str

    @property
    def name(self) -> str:
        return self.obj.name

    def body(self) -> exp.Expression:
        """A fresh parse of the body (the query of a table macro, the expression of a scalar)."""
        return _parse_body(self.name)


def _header_list(obj: SqlObject, key: str) -> frozenset[str]:
    for line in _header_lines(obj):
        k, sep, value = line.partition(":")
        if sep and k.strip() == key:
            return frozenset(v.strip() for v in value.split(",") if v.strip() and v.strip() != "-")
    return frozenset()


def _header_lines(obj: SqlObject, *, raw: bool = False) -> list[str]:
    from importlib import resources

    rel = obj.path.removeprefix("sql/")
    text = resources.files("corpusql.sql").joinpath(rel).read_text(encoding="utf-8")
    out = []
    for line in text.splitlines():
        if not line.startswith("--") and line.strip():
            break
        out.append(line[3:] if raw else line[2:].strip())
    return out


#: The part of a body a ``spark:`` variant replaces when it names no CTE.
MAIN = "(select)"


@cache
def variants(name: str, engine: str) -> dict[str, str]:
    """Per-engine variants kept in the macro's header: {CTE name or '(select)': SQL}.

    A variant is a header block ``-- spark: docs`` followed by the replacement body of CTE
    ``docs`` indented by at least four spaces (``-- spark: (select)`` replaces the final SELECT).
    It is written like the body (the library's DuckDB SQL, same parameters) and used only when
    rendering for that engine; DuckDB never reads it.
    """
    out: dict[str, str] = {}
    current = None
    for raw in _header_lines(spec(name).obj, raw=True):
        key, sep, value = raw.strip().partition(":")
        if sep and key == engine and not raw.startswith("    "):
            current = value.strip()
            out[current] = ""
        elif current is not None and raw.startswith("    "):
            out[current] += raw + "\n"
        else:
            current = None
    return out


def _unquote(name: str) -> str:
    return name[1:-1] if len(name) > 1 and name[0] == name[-1] == '"' else name


@cache
def spec(name: str) -> MacroSpec:
    """The library macro ``name`` as corpusql reads it (raises for unknown names, with a hint)."""
    objs = library_by_name()
    if name not in objs:
        near = difflib.get_close_matches(name, objs, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise MacroCallError(f"no library macro {name!r}{hint}")
    obj = objs[name]
    if obj.kind != "macro":
        raise MacroCallError(f"{obj.path}: {name!r} is a view, not a macro")
    m = _CALL_ARGS_RE.match(obj.call)
    params = []
    for arg in split_args(m.group(1) if m else ""):
        pname, sep, default = arg.partition(":=")
        params.append(Param(_unquote(pname.strip()), default.strip() if sep else None))
    try:
        body_sql = macro_body(obj.body)
    except ValueError as exc:
        raise SqlLibraryError(f"{obj.path}: {exc}") from exc
    names = {p.name for p in params}
    tables, columns = _header_list(obj, "tables"), _header_list(obj, "columns")
    for key, declared in (("tables", tables), ("columns", columns)):
        if declared - names:
            raise SqlLibraryError(f"{obj.path}: header '{key}:' lists "
                                  f"{', '.join(sorted(declared - names))}, not a parameter")
    return MacroSpec(obj, tuple(params), tables, columns, body_sql)


_CALL_ARGS_RE = re.compile(r"^[A-Za-z_]\w*\s*\((.*)\)\s*$")


@cache
def _parsed_body(name: str) -> exp.Expression:
    s = spec(name)
    text = s.body_sql
    if re.match(r"TABLE\b", text, re.IGNORECASE):
        text = text[5:]
    try:
        return sqlglot.parse_one(text, read=LibraryDuckDB)
    except sqlglot.errors.ParseError as exc:
        raise SqlLibraryError(f"{s.obj.path}: sqlglot cannot read the body: {exc}") from exc


def _parse_body(name: str) -> exp.Expression:
    return _parsed_body(name).copy()


def is_table_macro(name: str) -> bool:
    s = spec(name)
    return bool(re.match(r"TABLE\b", s.body_sql, re.IGNORECASE))


def library_macros() -> dict[str, bool]:
    """Every library macro's name -> True for table macros, False for scalar ones."""
    return {o.name: is_table_macro(o.name) for o in library_by_name().values() if o.kind == "macro"}


# ---------------------------------------------------------------- identifier parameters, inferred


def used_identifiers(name: str) -> tuple[set[str], set[str]]:
    """(table parameters, column parameters) as the body uses them: ``query_table(p)``,
    ``alias[p]``, or passed on in such a place of a library macro it calls."""
    s = spec(name)
    names = {p.name for p in s.params}
    tables: set[str] = set()
    columns: set[str] = set()
    body = _parse_body(name)
    for node in body.walk():
        if isinstance(node, exp.Anonymous) and node.name.lower() == "query_table":
            tables.update(c.name for c in node.find_all(exp.Column))
        elif isinstance(node, exp.Bracket):
            columns.update(a.name for a in node.expressions if isinstance(a, exp.Column))
        elif isinstance(node, exp.Anonymous) and node.name in library_macros():
            inner = spec(node.name)
            bound = _bind_names(inner, node.expressions)
            for pname, arg in bound.items():
                if isinstance(arg, exp.Column) and not arg.table:
                    if pname in inner.tables:
                        tables.add(arg.name)
                    if pname in inner.columns:
                        columns.add(arg.name)
    return tables & names, columns & names


# ---------------------------------------------------------------- binding a call


def _bind_names(s: MacroSpec, args: list[exp.Expression]) -> dict[str, exp.Expression]:
    """Call arguments -> {parameter: argument}, without defaults; errors name the macro."""
    names = [p.name for p in s.params]
    bound: dict[str, exp.Expression] = {}
    positional = True
    for i, arg in enumerate(args):
        if isinstance(arg, exp.PropertyEQ | exp.Kwarg | exp.EQ) and isinstance(
                arg.this, exp.Identifier | exp.Var | exp.Column):
            positional = False
            key = arg.this.name
            if key not in names:
                near = difflib.get_close_matches(key, names, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise MacroCallError(f"{s.name}() has no parameter {key!r}{hint} "
                                     f"(parameters: {', '.join(names)})")
            if key in bound:
                raise MacroCallError(f"{s.name}(): parameter {key!r} is given twice")
            bound[key] = arg.expression
        else:
            if not positional:
                raise MacroCallError(f"{s.name}(): a positional argument follows a named one")
            if i >= len(names):
                raise MacroCallError(f"{s.name}() takes at most {len(names)} arguments "
                                     f"({', '.join(names)}), got {len(args)}")
            bound[names[i]] = arg
    return bound


def bind(s: MacroSpec, args: list[exp.Expression]) -> dict[str, exp.Expression]:
    """Call arguments -> every parameter's expression (defaults filled in), checked."""
    bound = _bind_names(s, args)
    for p in s.params:
        if p.name not in bound:
            if p.default is None:
                raise MacroCallError(f"{s.name}() needs {p.name!r} (call: {s.obj.call})")
            bound[p.name] = sqlglot.parse_one(p.default, read=LibraryDuckDB)
    for p in s.tables | s.columns:
        arg = bound[p]
        kind = "table" if p in s.tables else "column"
        if isinstance(arg, exp.Null):  # an optional table or column, left out
            continue
        if not (isinstance(arg, exp.Literal) and arg.is_string):
            raise MacroCallError(
                f"{s.name}(): {p} names a {kind} and must be a quoted name such as 'docs', "
                f"got {arg.sql(dialect=LibraryDuckDB)}")
    return bound


# ---------------------------------------------------------------- expansion


def _fold(arg: exp.Expression) -> exp.Expression:
    """A table-name expression folded to a literal: ``coalesce(NULL, 'a')`` is ``'a'``."""
    arg = simplify(arg)
    if isinstance(arg, exp.Coalesce):
        for a in [arg.this, *arg.expressions]:
            if not isinstance(a, exp.Null):
                return _fold(a)
    return arg


class _Counter:
    """The state of one statement's expansion: a counter naming CTEs apart, and ``native``, an
    optional hook ``(macro name, call arguments) -> view name or None`` that runs a call as a
    view computed another way (corpusql.spark.library.native_hook) instead of expanding it."""

    def __init__(self, native=None) -> None:
        self.n = itertools.count(1)
        self.native = native


def expand_call(name: str, args: list[exp.Expression], counter: _Counter | None = None,
                engine: str = "duckdb") -> exp.Expression:
    """The body of library macro ``name`` with ``args`` substituted and nested calls expanded:
    a query for a table macro, an expression for a scalar one. ``engine`` picks the header's
    variants (see :func:`variants`)."""
    counter = counter or _Counter()
    s = spec(name)
    values = bind(s, args)
    body = _with_variants(name, _parse_body(name), engine)
    if engine == "spark":
        _check_portable(name, body)
    cte_names = {cte.alias_or_name for cte in body.find_all(exp.CTE)}
    prefix = f"{name}_{next(counter.n)}__"
    rename = {c: prefix + c for c in cte_names}

    # first the macro's own names (before any argument can bring a user's table name in):
    # its CTEs, and text naming one of them in query_table() or in a nested table macro's call
    for cte in body.find_all(exp.CTE):
        cte.set("alias", exp.TableAlias(this=exp.to_identifier(rename[cte.alias_or_name]),
                                        columns=cte.args["alias"].args.get("columns")))
    for table in body.find_all(exp.Table):
        if table.db == "recurring" and table.name in rename:  # a keyed recursive CTE's last rows
            table.set("this", exp.to_identifier(rename[table.name]))
        elif not table.db and table.name in rename and not isinstance(table.this, exp.Anonymous):
            if not table.args.get("alias"):  # `FROM cte ... cte.col` keeps working
                table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
            table.set("this", exp.to_identifier(rename[table.name]))
    macros = library_macros()
    for call in list(body.find_all(exp.Anonymous)):
        if call.name in macros or call.name.lower() == "query_table":
            for lit in call.find_all(exp.Literal):
                if lit.is_string and lit.name in rename:
                    lit.replace(exp.Literal.string(rename[lit.name]))

    def substitute(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous) \
                and node.this.name.lower() == "query_table":
            (arg,) = node.this.expressions
            arg = _fold(arg.copy().transform(substitute))
            if not (isinstance(arg, exp.Literal) and arg.is_string):
                raise MacroCallError(f"{name}(): query_table() of {arg.sql(LibraryDuckDB)} "
                                     "is not a table name")
            table = exp.to_table(arg.name, dialect=LibraryDuckDB)
            if node.args.get("alias"):
                table.set("alias", node.args["alias"])
            return table
        if isinstance(node, exp.Bracket) and len(node.expressions) == 1 \
                and isinstance(node.expressions[0], exp.Column) \
                and node.expressions[0].name in s.columns and not node.expressions[0].table:
            value = values[node.expressions[0].name]
            if isinstance(value, exp.Null):
                return exp.Null()
            col = exp.column(exp.to_identifier(value.name, quoted=True))
            if isinstance(node.this, exp.Column):
                col.set("table", node.this.this.copy())
                return col
            return exp.Dot(this=node.this, expression=col.this)
        if isinstance(node, exp.Column) and not node.table and node.name in values \
                and not isinstance(node.parent, exp.Bracket | exp.Dot):
            return values[node.name].copy()
        return node

    body = body.transform(substitute)
    return _expand_nested(body, counter, engine)


class NotPortable(MacroCallError):
    """A library macro uses a DuckDB-only construct that has no variant for the engine yet."""


def _check_portable(name: str, body: exp.Expression) -> None:
    """Refuse constructs Spark SQL lacks, naming the macro, the construct and the fix."""
    found = []
    for node in body.walk():
        if isinstance(node, exp.Union) and node.args.get("by_name"):
            found.append("UNION ALL BY NAME (an optional column)")
        elif isinstance(node, exp.Anonymous) and node.name.lower() == "generate_subscripts":
            found.append("generate_subscripts()")
        elif isinstance(node, exp.CTE) and node.args.get("key_expressions"):
            found.append("a keyed recursive CTE (USING KEY)")
        elif isinstance(node, exp.Window) and node.this.key == "rownumber" \
                and not node.args.get("order") and not node.args.get("alias"):
            found.append("row_number() OVER () without ORDER BY")
    if found:
        raise NotPortable(
            f"{spec(name).obj.path}: {name}() does not run on Spark yet: it uses "
            f"{', '.join(sorted(set(found)))}; a '-- spark: <cte>' variant in the header would "
            "give it a Spark form (docs/spark-sql-library.md)")


def _with_variants(name: str, body: exp.Expression, engine: str) -> exp.Expression:
    chosen = variants(name, engine)
    if not chosen:
        return body
    ctes = {cte.alias_or_name: cte for cte in body.find_all(exp.CTE)}
    for target, text in chosen.items():
        try:
            tree = sqlglot.parse_one(text, read=LibraryDuckDB)
        except sqlglot.errors.ParseError as exc:
            raise SqlLibraryError(f"{spec(name).obj.path}: {engine} variant of {target}: "
                                  f"{exc}") from exc
        if target == MAIN:
            tree.set("with_", body.args.get("with_"))
            body = tree
        elif target in ctes:
            ctes[target].set("this", tree)
        else:
            raise SqlLibraryError(f"{spec(name).obj.path}: {engine} variant of {target!r}, "
                                  f"which is no CTE of the body (CTEs: {', '.join(ctes)})")
    return body


def _expand_nested(tree: exp.Expression, counter: _Counter, engine: str = "duckdb"
                   ) -> exp.Expression:
    """Replace every library macro call in ``tree`` by its expansion."""
    macros = library_macros()

    def expand(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous) \
                and node.this.name in macros:
            name = node.this.name
            if not macros[name]:
                raise MacroCallError(f"{name}() is a scalar macro, called in FROM")
            view = counter.native(name, node.this.expressions) if counter.native else None
            if view is not None:
                alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
                return exp.Table(this=exp.to_identifier(view), alias=alias)
            query = expand_call(name, node.this.expressions, counter, engine)
            alias = node.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
            return exp.Subquery(this=query, alias=alias)
        if isinstance(node, exp.Anonymous) and node.name in macros:
            if macros[node.name]:
                raise MacroCallError(f"{node.name}() is a table macro: call it in FROM")
            return exp.Paren(this=expand_call(node.name, node.expressions, counter, engine))
        return node

    return tree.transform(expand)


def expand_duckdb(sql: str) -> str:
    """``sql`` (DuckDB SQL calling library macros) with every call expanded, as DuckDB SQL."""
    return expand_statement(sql).sql(dialect=LibraryDuckDB)


def expand_statement(sql: str, *, read=LibraryDuckDB) -> exp.Expression:
    """Parse ``sql`` and replace each library macro call in it by its expansion."""
    try:
        tree = sqlglot.parse_one(sql, read=read)
    except sqlglot.errors.ParseError as exc:
        raise MacroCallError(f"cannot parse the statement: {exc}") from exc
    return _expand_nested(tree, _Counter())

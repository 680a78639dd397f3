"""sqlglot dialects for rendering corpusql's SQL library: one reader, one Spark writer.

``LibraryDuckDB`` reads sql/ bodies. It differs from sqlglot's DuckDB in one place: the library
writes ``len(x)`` only for lists (``length(x)`` for text), so ``len`` reads as the list size.

``LibrarySpark`` writes Spark SQL. It fixes what sqlglot's Spark writer gets wrong for the
library's constructs: named arguments (``f(x, n := 3)`` becomes ``f(x, n => 3)``), ``error(msg)``
(``raise_error``), ``getvariable('v')`` (the session variable ``system.session.v``),
``list(x ORDER BY k)`` (Spark's ``collect_list`` has no ORDER BY: the list
is sorted by ``array_sort`` over (k, x) structs), ``range(n)`` (``sequence(0, n - 1)`` is
wrong for n = 0), list slices ``l[a:b]`` (1-based and inclusive in DuckDB: ``slice(l, a,
b - a + 1)``), ``list_position(l, x)`` (NULL when absent: ``nullif(array_position(l,
x), 0)``) and ``unnest(l, recursive := true)`` of a list of
structs (``inline``), ``list_reduce(l, lambda acc, x: ..., initial)`` (Spark's
``aggregate(l, initial, (acc, x) -> ...)``; the form without an initial value has none),
``MATERIALIZED`` CTEs (Spark has no such hint), and ``x / y`` (NULL for y = 0 in DuckDB,
an error in Spark's ANSI mode: ``try_divide``).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark

from ..sqlparse import LibraryDuckDB  # noqa: F401 - the reader these writers pair with


def _sorted_list(agg: exp.ArrayAgg) -> exp.Expression:
    """``list([DISTINCT] x ORDER BY k1, k2 ...)`` as Spark SQL without ORDER BY in the aggregate."""
    order = agg.this
    item = order.this
    keys = order.expressions
    distinct = isinstance(item, exp.Distinct)
    value = item.expressions[0] if distinct else item
    if distinct and len(keys) == 1 and keys[0].this == value and not keys[0].args.get("desc"):
        return exp.func("array_sort", exp.func("collect_set", value.copy()))
    if any(k.args.get("desc") for k in keys):
        raise ValueError(f"no Spark form for {agg.sql('duckdb')}: DESC inside list()")
    fields = [exp.PropertyEQ(this=exp.to_identifier(f"k{i}"), expression=k.this.copy())
              for i, k in enumerate(keys)]
    fields.append(exp.PropertyEQ(this=exp.to_identifier("v"), expression=value.copy()))
    structs = exp.Struct(expressions=fields)
    collected = exp.func("collect_set" if distinct else "collect_list", structs)
    return sqlglot.parse_one(
        f"transform(array_sort({collected.sql('spark')}), s -> s.v)", read="spark")


#: DuckDB's names of list_position (the 1-based position of a value in a list, NULL if absent).
_LIST_POSITION = ("list_position", "list_indexof", "array_indexof")


def to_spark(tree: exp.Expression) -> exp.Expression:
    """Rewrite a DuckDB-read tree into one that sqlglot's Spark writer renders correctly."""

    def fix(node: exp.Expression) -> exp.Expression:
        new = rewrite(node)
        if new is not node:
            # transform() does not descend into a node it replaced: rewrite the new node's
            # children here (a division inside try_divide or raise_error, a list(x ORDER BY k)
            # inside list_reduce)
            for child in list(new.iter_expressions()):
                child.replace(child.transform(fix))
        return new

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.PropertyEQ) and isinstance(node.parent, exp.Func) \
                and not isinstance(node.parent, exp.Struct):
            return exp.Kwarg(this=exp.var(node.this.name), expression=node.expression)
        if isinstance(node, exp.Anonymous) and node.name.lower() == "error":
            return exp.Anonymous(this="raise_error", expressions=node.expressions)
        if isinstance(node, exp.Anonymous) and node.name.lower() == "getvariable" \
                and len(node.expressions) == 1 and node.expressions[0].is_string:
            # DuckDB's connection variable -> Spark's session variable of the same name
            # (corpusql.spark.register declares corpusql_memory_budget)
            return exp.column(node.expressions[0].name, table="session", db="system")
        if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
            return _sorted_list(node)
        if isinstance(node, exp.Bracket) and len(node.expressions) == 1 and isinstance(
                node.expressions[0], exp.Slice):
            lo, hi = node.expressions[0].this, node.expressions[0].expression
            length = exp.Add(this=exp.Sub(this=hi.copy(), expression=lo.copy()),
                             expression=exp.Literal.number(1))
            return exp.func("slice", node.this, lo, length)
        if isinstance(node, exp.Explode | exp.Unnest) and any(
                isinstance(a, exp.PropertyEQ) and a.this.name.lower() == "recursive"
                for a in node.expressions):
            # unnest(list_of_structs, recursive := true): one row per element, one column per field
            return exp.Inline(this=node.this)
        if isinstance(node, exp.Anonymous) and node.name.lower() == "list_reduce":
            if len(node.expressions) != 3:
                raise ValueError("no Spark form for list_reduce() without an initial value: "
                                 + node.sql("duckdb")[:200])
            items, merge, initial = node.expressions
            return exp.Anonymous(this="aggregate", expressions=[items, initial, merge])
        if isinstance(node, exp.Anonymous) and node.name.lower() in _LIST_POSITION \
                and len(node.expressions) == 2:
            # DuckDB: the 1-based position, NULL when absent; Spark's array_position gives 0
            return exp.func("nullif", exp.func("array_position", *node.expressions),
                            exp.Literal.number(0))
        if isinstance(node, exp.Div):  # DuckDB: x / 0 is NULL; Spark (ANSI): an error
            return exp.func("try_divide", node.this, node.expression)
        if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
            node.set("materialized", None)
        return node

    return tree.transform(fix).transform(_zip_generators)


def _zip_generators(node: exp.Expression) -> exp.Expression:
    """``SELECT unnest(a) AS x, unnest(b) AS y`` (lists in step, DuckDB) as one Spark generator:
    ``inline(arrays_zip(a, b)) AS (x, y)`` (the shorter list padded with NULL on both)."""
    if not isinstance(node, exp.Select):
        return node
    gens = [(i, p) for i, p in enumerate(node.expressions)
            if isinstance(p.unalias(), exp.Explode | exp.Unnest)]
    if len(gens) < 2:
        return node
    first = gens[0][0]
    if [i for i, _ in gens] != list(range(first, first + len(gens))):
        raise ValueError("no Spark form for unnest() calls that are not next to each other: "
                         + node.sql("duckdb")[:200])
    lists = [p.unalias().this for _, p in gens]
    names = [exp.to_identifier(p.alias or f"col{k}") for k, (_, p) in enumerate(gens)]
    zipped = exp.Aliases(this=exp.Inline(this=exp.func("arrays_zip", *lists)), expressions=names)
    projections = list(node.expressions)
    projections[first:first + len(gens)] = [zipped]
    node.set("expressions", projections)
    return node


def spark_sql(tree: exp.Expression, *, pretty: bool = False) -> str:
    """Spark SQL text of a tree read with :class:`LibraryDuckDB`."""
    return to_spark(tree.copy()).sql(dialect=LibrarySpark, pretty=pretty)


class LibrarySpark(Spark):
    """Spark SQL as corpusql renders the library into it."""

    class Generator(Spark.Generator):
        TRANSFORMS = {
            **Spark.Generator.TRANSFORMS,
            # DuckDB's range(n) is 0 .. n-1 and empty for n <= 0; sequence(0, -1) is [0, -1]
            exp.GenerateSeries: lambda self, e: self._range_sql(e),
        }

        def _range_sql(self, e: exp.GenerateSeries) -> str:
            start = self.sql(e, "start")
            end = self.sql(e, "end")
            if not e.args.get("is_end_exclusive"):
                return f"SEQUENCE({start}, {end})"
            return f"IF({end} > {start}, SEQUENCE({start}, {end} - 1), ARRAY())"

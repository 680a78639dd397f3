"""Every registry function gives the same values in Spark as in DuckDB on the bundled sample.

The argument columns are computed once in DuckDB (text, and each registry row's ``examples``
expressions for other column parameters) and handed to Spark as the same Arrow data, so both
engines call the function on identical inputs; results are compared row by row, sorted by id,
after mapping Spark's types back (BIGINT -> UINTEGER, DECIMAL(20,0) -> UBIGINT).
"""

from __future__ import annotations

import math
from importlib import resources

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import corpusql
from corpusql.functions import REGISTRY
from corpusql.spark.types import spark_type

pytestmark = pytest.mark.spark

SAMPLE = str(resources.files("corpusql") / "data" / "sample.parquet")

#: Calls with non-default constants, by name, in DuckDB's spelling; Spark's is derived
#: (``:=`` -> ``=>``, list literals ``[...]`` -> ``ARRAY(...)``).
NAMED = {
    "minhash_signature_64": ("minhash_signature", "text, num_perm := 64, ngram := 3"),
    "minhash_signature_char": ("minhash_signature", "text, unit := 'char', scheme := 'legacy'"),
    "text_normalize_keep_case": ("text_normalize", "text, lower := false, digits := true"),
    "split_assign_seeded": ("split_assign",
                            "text, seed := 7, train := 0.5, val := 0.25, test := 0.25"),
    "pii_redact_mask": ("pii_redact", "text, style := 'mask'"),
    "contains_any_terms": ("contains_any", "text, terms := ['the', 'debian']"),
    "gopher_quality_pass_loose": ("gopher_quality_pass",
                                  "text, min_doc_words := 5, stop_words := ['the', 'a']"),
}


CALLS_PER_QUERY = 6

#: Functions whose kernel runs a neural model (minutes over the whole sample on 2 cores): their
#: text argument is NULL outside a fixed 2% slice of the rows (by corpusql's hash_unit of the
#: id), so both engines embed the same ~80 documents and return NULL for the rest.
SLICED = {"embed": "CASE WHEN hash_unit(id) < 0.02 THEN text END"}


def sliced_inputs(f, args: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``_arg_exprs(f)`` with a model function's text argument cut to the slice (see SLICED)."""
    if f.name not in SLICED:
        return args
    return [(name, SLICED[f.name] if expr == "text" else expr) for name, expr in args]


def _spark_spelling(args: str) -> str:
    return args.replace(":=", "=>").replace("[", "ARRAY(").replace("]", ")")


def _arg_exprs(f) -> list[tuple[str, str]]:
    """(column name, DuckDB expression) for each column parameter of ``f``."""
    out = []
    for p in f.params:
        if not p.column:
            continue
        if p.sql_type.upper() == "VARCHAR":
            out.append((f"{f.name}__{p.name}", "text"))
        else:
            out.append((f"{f.name}__{p.name}", f.examples[p.name]))
    return out


@pytest.fixture(scope="module")
def both(spark, tmp_path_factory):
    """(DuckDB results, Spark results) as Arrow tables with one column per call, sorted by id.

    Data moves between the engines as Parquet files (the argument columns hold megabytes of
    shingle sets: shipped inside a Spark plan they would fill the driver's heap).
    """
    tmp = tmp_path_factory.mktemp("cross_engine")
    calls: dict[str, tuple[str, str]] = {}  # result column -> (duckdb call, spark call)
    inputs = {"id": "id", "text": "text"}
    for f in REGISTRY:
        args = _arg_exprs(f)
        inputs.update(dict(sliced_inputs(f, args)))
        cols = ", ".join(name for name, _ in args)
        calls[f.name] = (f"{f.name}({cols})", f"{f.name}({cols})")
    for key, (name, args) in NAMED.items():
        calls[key] = (f"{name}({args})", f"{name}({_spark_spelling(args)})")
    con = corpusql.connect()
    try:
        select = ", ".join(f"{expr} AS {name}" for name, expr in inputs.items())
        con.execute(f"CREATE TABLE args AS SELECT {select} FROM read_parquet('{SAMPLE}')")
        args = con.sql("FROM args ORDER BY id").to_arrow_table()
        duck = con.sql("SELECT id, " + ", ".join(f"{c[0]} AS {k}" for k, c in calls.items())
                       + " FROM args ORDER BY id").to_arrow_table()
    finally:
        con.close()
    types = {"id": spark_type("VARCHAR"), "text": spark_type("VARCHAR")}
    for f in REGISTRY:
        for (name, _), p in zip(_arg_exprs(f), [p for p in f.params if p.column]):
            types[name] = spark_type(p.sql_type)
    args = pa.table({n: args.column(n).cast(types[n].spark) for n in args.column_names})
    pq.write_table(args, tmp / "args.parquet", row_group_size=1000)
    spark.read.parquet(str(tmp / "args.parquet")).createOrReplaceTempView("args")
    keys = list(calls)
    out = pq.read_table(tmp / "args.parquet", columns=["id"]).sort_by("id")
    for i in range(0, len(keys), CALLS_PER_QUERY):  # a few calls per query: bounded memory
        part = keys[i:i + CALLS_PER_QUERY]
        sql = "SELECT id, " + ", ".join(f"{calls[k][1]} AS {k}" for k in part) + " FROM args"
        spark.sql(sql).write.parquet(str(tmp / f"spark_{i}"))
        got = pq.read_table(tmp / f"spark_{i}").sort_by("id")
        assert got.column("id").equals(out.column("id"))
        for k in part:
            out = out.append_column(k, got.column(k))
    return duck, out


def _returns(key: str) -> str:
    return REGISTRY[NAMED[key][0] if key in NAMED else key].returns


def _plain(values: list) -> list:
    """NaN as a marker, so that equal lists compare equal."""
    return [_plain(v) if isinstance(v, list) else
            {k: _plain([x])[0] for k, x in v.items()} if isinstance(v, dict) else
            "NaN" if isinstance(v, float) and math.isnan(v) else v for v in values]


@pytest.mark.parametrize("key", [f.name for f in REGISTRY] + list(NAMED))
def test_same_values_in_spark_and_duckdb(both, key):
    duck, spark_out = both
    assert spark_out.column("id").to_pylist() == duck.column("id").to_pylist()
    want = _plain(duck.column(key).to_pylist())
    kernel_type = spark_type(_returns(key)).kernel
    got = _plain(spark_out.column(key).cast(kernel_type).to_pylist())
    assert len(want) == len(duck) == 4203
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert not bad, (f"{key}: {len(bad)} rows differ; first id "
                     f"{duck.column('id')[bad[0]]}: spark {got[bad[0]]!r} != duckdb {want[bad[0]]!r}")

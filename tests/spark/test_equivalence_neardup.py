"""DuckDB and Spark (local[2]) give identical row sets on a 20k-document slice of
../shared/data/neardup-dev: exact dedup, near-dup clusters at 0.7/0.8/0.9, quality signals and
filters, token counts, PII redaction, language id, mix, split and decontamination.

The slice is the first 20,000 documents by id of bench.parquet (built once per module into a
Parquet file both engines read, with ``n_tokens`` = DuckDB's ``token_count(text)`` for the mix).
Each case's rows are compared as sorted per-row content hashes (after mapping Spark's types back:
DECIMAL(20,0) -> integer, floats to 9 decimals); a difference lists the first rows that differ.
tests/spark/test_cross_engine.py covers every function on the bundled sample, and
test_sql_library_spark.py every macro on small tables; this runs the governance steps at scale.
"""

from __future__ import annotations

import decimal
import hashlib
import math

import pytest

import corpusql
import corpusql.spark
from corpusql.spark import dedup

pytestmark = pytest.mark.spark

N_DOCS = 20_000
BUDGET = 300_000  # tokens for the mix
#: Benchmark texts for decontamination: 600-character passages of long documents, and short
#: documents whole (both engines read the same table).
BENCH_SQL = """
    SELECT 'b' || row_number() OVER (ORDER BY id) AS id, text FROM (
        SELECT id, substr(text, 300, 600) AS text FROM docs WHERE length(text) > 3000
        ORDER BY id LIMIT 20)
    UNION ALL
    SELECT 'f' || row_number() OVER (ORDER BY id) AS id, text FROM (
        SELECT id, text FROM docs WHERE word_count(text) BETWEEN 20 AND 60 ORDER BY id LIMIT 20)
"""
WEIGHTS_SQL = ("SELECT * FROM (VALUES ('fortune', 0.5), ('debdoc', 0.3), ('copyright', 0.15), "
               "('debref', 0.05)) AS t(group_key, weight)")

#: case -> (DuckDB SQL, Spark: SQL through corpusql's expansion, or a DataFrame function).
CASES: dict[str, tuple[str, object]] = {
    "exact_dedup": ("SELECT * FROM exact_dup_groups('docs', 'text', 'id')",
                    lambda s, d: dedup.exact_dup_groups(s, d, "text", "id")),
    "exact_dedup_library": ("SELECT * FROM exact_dup_groups('docs', 'text', 'id')", None),
    **{f"near_dup_{t}": (f"SELECT * FROM near_dup_clusters('docs', 'text', 'id', threshold := {t})",
                         lambda s, d, t=t: dedup.near_dup_clusters(s, d, "text", "id",
                                                                    threshold=t))
       for t in (0.7, 0.8, 0.9)},
    "near_dedup_library_0.8": ("SELECT * FROM near_dedup('docs', 'text', 'id', threshold := 0.8)",
                               None),
    "quality_signals": ("SELECT id, gopher_quality(text) AS g, gopher_repetition(text) AS r, "
                        "fineweb_quality(text) AS f FROM docs", None),
    "quality_filters": ("SELECT id FROM docs WHERE gopher_quality_pass(text) AND "
                        "gopher_repetition_pass(text) AND c4_quality_pass(text) AND "
                        "fineweb_quality_pass(text)", None),
    "quality_c4_and_reasons": ("SELECT id, c4_quality(text) AS c, gopher_quality_reasons(text) AS "
                               "g, fineweb_quality_reasons(text) AS f FROM docs", None),
    "quality_report": ("SELECT * FROM quality_report('docs', 'text')", None),
    "token_counts": ("SELECT id, token_count(text) AS n FROM docs", None),
    "pii_redact": ("SELECT id, pii_redact(text) AS t, pii_spans(text) AS s FROM docs", None),
    "lang_id": ("SELECT id, lang_id(text) AS l FROM docs", None),
    "mix": (f"SELECT * FROM mix('docs', 'w', {BUDGET}, seed := 1, max_epochs := 2)", None),
    "split": ("SELECT * FROM split_dataset('docs', 'text', 'id', train := 0.8, val := 0.1, "
              "test := 0.1)", None),
    "decontaminate": ("SELECT * FROM decontaminate_apply('docs', 'text', 'bench', 'text', "
                      "n := 13)", None),
}


#: case -> a DuckDB query over its result ``r`` that must be true: the case is not trivial.
NOT_TRIVIAL = {
    "exact_dedup": "SELECT max(group_size) > 1 FROM r",
    "exact_dedup_library": "SELECT max(group_size) > 1 FROM r",
    # 84, 68 and 56 copies dropped at 0.7, 0.8 and 0.9; clusters of up to 4 documents
    **{f"near_dup_{t}": "SELECT max(cluster_size) > 2 AND count(*) FILTER (NOT is_kept) > 40 "
                        "FROM r" for t in (0.7, 0.8, 0.9)},
    "near_dedup_library_0.8": f"SELECT count(*) < {N_DOCS} FROM r",
    "quality_signals": "SELECT count(DISTINCT g.n_words) > 100 FROM r",
    "quality_filters": "SELECT count(*) > 10 FROM r",  # 35: most fortunes are short
    "quality_c4_and_reasons": "SELECT count(*) FILTER (len(g) > 0) > 100 FROM r",
    "quality_report": "SELECT count(DISTINCT filter) = 4 FROM r",
    "token_counts": "SELECT count(DISTINCT n) > 100 FROM r",
    "pii_redact": "SELECT count(*) FILTER (len(s) > 0) > 10 FROM r",
    "lang_id": "SELECT count(DISTINCT l.lang) > 3 FROM r",
    "mix": "SELECT count(DISTINCT source) = 4 FROM r",
    "split": "SELECT count(DISTINCT split) = 3 FROM r",
    "decontaminate": "SELECT count(*) FILTER (action = 'cleaned') > 0 AND "
                     "count(*) FILTER (action = 'dropped') > 0 FROM r",
}


def _norm(v):
    if isinstance(v, decimal.Decimal):
        return int(v)
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else round(v, 9)
    if isinstance(v, dict):
        return tuple((k, _norm(x)) for k, x in v.items())
    if isinstance(v, list | tuple):
        return tuple(_norm(x) for x in v)
    return v


def hashed_rows(table) -> dict[str, tuple]:
    """{content hash: row} of an Arrow table's rows (a repeated row keeps a counted key)."""
    out: dict[str, tuple] = {}
    for row in table.to_pylist():
        t = tuple(_norm(v) for v in row.values())
        h = hashlib.sha256(repr(t).encode()).hexdigest()
        i = 0
        while f"{h}#{i}" in out:
            i += 1
        out[f"{h}#{i}"] = t
    return out


@pytest.fixture(scope="module")
def engines(spark, tmp_path_factory, shared_data):
    """(spark, duckdb connection) with tables ``docs`` (the slice), ``bench`` and ``w``; Spark's
    views are ``nd_docs``, ``nd_bench``, ``nd_w`` (the session is shared with other modules)."""
    bench = shared_data / "neardup-dev" / "bench.parquet"
    if not bench.is_file():
        pytest.skip(f"{bench} is absent")
    tmp = tmp_path_factory.mktemp("neardup_slice")
    con = corpusql.connect()
    try:
        con.execute(f"COPY (SELECT id, text, source, url, lang, token_count(text) AS n_tokens "
                    f"FROM read_parquet('{bench}') ORDER BY id LIMIT {N_DOCS}) "
                    f"TO '{tmp / 'slice.parquet'}' (ROW_GROUP_SIZE 2000)")
        con.execute(f"CREATE TABLE docs AS FROM read_parquet('{tmp / 'slice.parquet'}')")
        con.execute(f"COPY ({BENCH_SQL} ORDER BY id) TO '{tmp / 'bench.parquet'}'")
        con.execute(f"CREATE TABLE bench AS FROM read_parquet('{tmp / 'bench.parquet'}')")
        con.execute(f"CREATE TABLE w AS {WEIGHTS_SQL}")
        spark.read.parquet(str(tmp / "slice.parquet")).createOrReplaceTempView("nd_docs")
        spark.read.parquet(str(tmp / "bench.parquet")).createOrReplaceTempView("nd_bench")
        spark.sql(WEIGHTS_SQL).createOrReplaceTempView("nd_w")
        yield spark, con
    finally:
        con.close()


def _spark_sql(sql: str) -> str:
    """The DuckDB call with Spark's view names (the expansion takes DuckDB's spelling)."""
    for name in ("docs", "bench", "w"):
        sql = sql.replace(f"'{name}'", f"'nd_{name}'")
    return sql.replace("FROM docs", "FROM nd_docs")


@pytest.mark.parametrize("case", list(CASES))
def test_same_rows_on_duckdb_and_spark(engines, case):
    spark, con = engines
    duck_sql, spark_fn = CASES[case]
    want = con.sql(duck_sql).to_arrow_table()
    con.register("r", want)
    try:
        assert con.execute(NOT_TRIVIAL[case]).fetchall() == [(True,)], f"{case} is trivial here"
    finally:
        con.unregister("r")
    if spark_fn is None:
        df = corpusql.spark.sql(spark, _spark_sql(duck_sql))
    else:
        df = spark_fn(spark, spark.table("nd_docs"))
    got = df.toArrow()
    assert got.column_names == want.column_names
    assert want.num_rows > 0, f"{case}: DuckDB gave no rows"
    a, b = hashed_rows(want), hashed_rows(got)
    only_duck = sorted(a.keys() - b.keys())
    only_spark = sorted(b.keys() - a.keys())
    assert not only_duck and not only_spark, (
        f"{case}: {len(only_duck)} rows only in DuckDB, {len(only_spark)} only in Spark "
        f"(of {want.num_rows} and {got.num_rows}); first: duckdb "
        f"{[a[k] for k in only_duck[:3]]}, spark {[b[k] for k in only_spark[:3]]}")
    assert sorted(a) == sorted(b)

"""``corpusql.spark.materialize``: the DuckDB materializer's output, manifest and safety on Spark.

Real local[2] Spark (the shared session of conftest.py), real files. Spark names its part files
with a per-job id, so outputs are compared by their rows (a sha256 of the sorted rows), never by
file names.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import corpusql
from corpusql.materializer import MaterializeError, read_manifest, verify

pytestmark = pytest.mark.spark

QUERY = "SELECT id, text, word_count(text) AS n_words FROM mat_docs"


def rows_hash(out: Path) -> tuple[int, str]:
    """(rows, sha256 of the sorted rows) of every Parquet file under ``out``."""
    rows = []
    for path in sorted(out.rglob("*.parquet")):
        rows += [tuple(sorted(r.items())) for r in pq.read_table(path).to_pylist()]
    rows.sort(key=repr)
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "corpusql.cli", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> Path:
    """A small Parquet input (300 rows, 3 sources), written by DuckDB."""
    path = tmp_path_factory.mktemp("mat_in") / "docs.parquet"
    con = corpusql.connect()
    try:
        con.execute(f"""COPY (SELECT 'd' || lpad(CAST(i AS VARCHAR), 4, '0') AS id,
                                    'word ' || repeat('x ', i % 7) || 'end ' || i AS text,
                                    ['man', 'info', 'pydoc'][i % 3 + 1] AS source
                             FROM range(300) AS t(i)) TO '{path}' (FORMAT parquet)""")
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def sview(spark, docs):
    spark.read.parquet(str(docs)).createOrReplaceTempView("mat_docs")
    return spark


def leftovers(out: Path) -> list[str]:
    """Hidden siblings of ``out`` (staging, old copies, lock file)."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


def test_spark_output_has_the_manifest_and_passes_verify(sview, docs, tmp_path):
    out = tmp_path / "words"
    result = corpusql.spark.materialize(sview, QUERY, out, order_by="id")
    assert result.status == "written" and result.rows == 300
    m = read_manifest(out)
    assert m["engine"] == "spark" and m["versions"]["spark"] == sview.version
    assert m["query"] == QUERY and m["order_by"] == "id"
    assert m["functions"] == {"word_count": m["functions"]["word_count"]}
    assert [i["path"] for i in m["inputs"]] == [str(docs)] and m["inputs_complete"]
    assert m["total_rows"] == sum(f["rows"] for f in m["files"]) == 300
    assert all(f["path"].startswith("part-") and f["path"].endswith(".parquet")
               for f in m["files"])
    assert sorted(p.name for p in out.iterdir()) == sorted(  # no _SUCCESS, no .crc
        [f["path"] for f in m["files"]] + ["_manifest.json", m["index"]["fingerprints"]["path"]])
    assert leftovers(out) == []
    assert verify(out).ok
    done = run_cli("verify", str(out))
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout
    # rows in order across files: Spark's range partitions, named in task order
    ids = [r for f in m["files"] for r in pq.read_table(out / f["path"]).column("id").to_pylist()]
    assert ids == sorted(ids)


def test_spark_and_duckdb_write_the_same_rows(sview, docs, tmp_path):
    spark_out, duck_out = tmp_path / "spark", tmp_path / "duck"
    corpusql.spark.materialize(sview, QUERY, spark_out)
    con = corpusql.connect()
    try:
        con.execute(f"CREATE VIEW mat_docs AS SELECT * FROM read_parquet('{docs}')")
        corpusql.materialize(con, QUERY, duck_out)
    finally:
        con.close()
    assert rows_hash(spark_out) == rows_hash(duck_out)
    assert read_manifest(duck_out)["engine"] == "duckdb"
    assert read_manifest(spark_out)["functions"] == read_manifest(duck_out)["functions"]


def test_verify_fails_on_a_tampered_spark_output(sview, tmp_path):
    out = tmp_path / "tampered"
    corpusql.spark.materialize(sview, QUERY, out, max_rows_per_file=40)
    m = read_manifest(out)
    assert len(m["files"]) >= 8 and all(f["rows"] <= 40 for f in m["files"])
    victim = out / m["files"][1]["path"]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    report = verify(out)
    assert not report.ok and any("sha256 differs" in p for p in report.problems)
    done = run_cli("verify", str(out))
    assert done.returncode == 1 and str(victim) in done.stderr


def test_a_second_run_is_up_to_date_and_duckdb_will_not_mistake_it(sview, docs, tmp_path):
    out = tmp_path / "again"
    first = corpusql.spark.materialize(sview, QUERY, out, order_by="id")
    again = corpusql.spark.materialize(sview, QUERY, out, order_by="id")
    assert again.status == "up to date" and again.manifest == first.manifest
    with pytest.raises(MaterializeError, match="query differs.*overwrite=True"):
        corpusql.spark.materialize(sview, QUERY + " WHERE length(text) > 10", out, order_by="id")
    con = corpusql.connect()
    try:
        con.execute(f"CREATE VIEW mat_docs AS SELECT * FROM read_parquet('{docs}')")
        with pytest.raises(MaterializeError, match="written by spark, this call runs on duckdb"):
            corpusql.materialize(con, QUERY, out, order_by="id")
        assert corpusql.materialize(con, QUERY, out, order_by="id", overwrite=True).rows == 300
    finally:
        con.close()
    assert read_manifest(out)["engine"] == "duckdb"
    with pytest.raises(MaterializeError, match="engine differs"):
        corpusql.spark.materialize(sview, QUERY, out, order_by="id")


def test_partitioned_output_and_a_dataframe(sview, tmp_path):
    out = tmp_path / "parts"
    df = sview.table("mat_docs").selectExpr("id", "source", "char_count(text) AS n")
    result = corpusql.spark.materialize(sview, df, out, partition_by="source")
    paths = sorted(f["path"] for f in result.files)
    assert {p.split("/")[0] for p in paths} == {"source=info", "source=man", "source=pydoc"}
    assert result.rows == 300 and verify(out).ok
    m = read_manifest(out)
    assert m["query"].startswith("<DataFrame>") and "char_count" in m["functions"]


def test_foreign_directory_is_refused_and_left_alone(sview, tmp_path):
    out = tmp_path / "theirs"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(MaterializeError, match="did not write it"):
        corpusql.spark.materialize(sview, QUERY, out, overwrite=True)
    assert sorted(os.listdir(out)) == ["notes.txt"] and leftovers(out) == []


def test_object_store_target_is_refused_with_the_reason(sview):
    with pytest.raises(MaterializeError, match="no atomic rename"):
        corpusql.spark.materialize(sview, QUERY, "s3://bucket/out")


# --- a task that fails mid-write ------------------------------------------------------------


@pytest.fixture(scope="module")
def boom(sview):
    """``boom(id, text)``: the text, except it raises on the row with id 'd0150' (mid-data)."""
    from pyspark.sql.types import StringType

    def f(doc_id, text):
        if doc_id == "d0150":
            raise ValueError(f"boom: refusing row {doc_id}")
        return text

    sview.udf.register("boom", f, StringType())
    return sview


BOOM = "SELECT id, boom(id, text) AS text FROM mat_docs"


def test_a_failing_task_leaves_no_target_and_no_litter(boom, tmp_path):
    out = tmp_path / "failing"
    with pytest.raises(MaterializeError, match=r"(?s)Spark failed writing .*failing.*boom"):
        corpusql.spark.materialize(boom, BOOM, out, max_rows_per_file=25)
    assert not out.exists() and leftovers(out) == []
    assert not verify(out).ok  # nothing is claimed as an output there
    ok = corpusql.spark.materialize(boom, BOOM.replace("boom(id, text)", "text"), out)
    assert ok.status == "written" and verify(out).ok


def test_a_failing_task_leaves_the_previous_output_unchanged(boom, tmp_path):
    out = tmp_path / "kept"
    corpusql.spark.materialize(boom, QUERY, out, order_by="id")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(MaterializeError, match="boom: refusing row d0150"):
        corpusql.spark.materialize(boom, BOOM, out, overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert leftovers(out) == [] and verify(out).ok
    assert json.loads((out / "_manifest.json").read_text())["query"] == QUERY
    again = corpusql.spark.materialize(boom, BOOM.replace("boom(id, text)", "upper(text)"), out,
                                       overwrite=True)
    assert again.status == "written" and verify(out).ok and again.rows == 300

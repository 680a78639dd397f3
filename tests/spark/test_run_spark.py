"""``corpusql run recipe.sql --engine spark OUT``: recipes end to end on Spark, and kill -9 safety.

The demo recipe runs on the shared local[2] session and must give the same rows as the DuckDB
demo in each output (compared by a sha256 of the sorted rows: Spark's file names carry a
per-job id). The crash tests run the real CLI in a subprocess and kill it (driver, JVM and
Python workers: its whole process group) with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_materialize_spark import leftovers, rows_hash

from corpusql.demo import QUERIES, recipe_sql, sample_path
from corpusql.materializer import read_manifest, verify
from corpusql.spark.run import directives, run_recipe, statements

RECIPE = Path(__file__).resolve().parents[2] / "sql" / "recipes" / "demo.sql"
SUBMIT_ARGS = ("--driver-memory 2g --conf spark.ui.enabled=false "
               "--conf spark.sql.shuffle.partitions=4 --conf spark.default.parallelism=2 "
               "--conf spark.sql.execution.arrow.maxRecordsPerBatch=1000 pyspark-shell")


def test_demo_recipe_declares_the_demo_outputs():
    inputs, outputs = directives(recipe_sql(), RECIPE.parent)
    assert inputs == {"docs": str(sample_path())}
    order = {"train": "id, epoch", "val": "id", "test": "id"}
    assert {o.name: (o.query, o.order_by) for o in outputs} == {
        name: (QUERIES[name], order[name]) for name in QUERIES}
    steps = statements(recipe_sql())
    assert [s.variant for s in steps].count(True) == 3
    # the ordered aggregates as window functions (the semantic report's too: it runs on Spark)
    assert all("first_value" in s.sql for s in steps if s.variant)
    assert any("semantic_dup_clusters" in s.sql for s in steps if s.variant)


def test_a_spark_variant_expands_its_library_macro_calls():
    """A ``-- spark:`` variant's macro call in FROM is expanded like one in DuckDB SQL (it was
    left as SPLIT_SUMMARY(...), unknown to Spark, when the variant was rendered and re-read)."""
    import sqlglot

    from corpusql.spark.run import _render

    variant = "SELECT * FROM split_summary('docs', split_col := 'split') AS s"
    rendered = _render(None, sqlglot.parse_one(variant, read="spark"))
    assert "split_summary(" not in rendered.lower() and "from docs as" in rendered.lower()


@pytest.mark.spark
@pytest.mark.slow
def test_demo_recipe_on_spark_gives_the_duckdb_rows(spark, tmp_path):
    """The whole demo recipe on local[2] (near dedup, split and mix included): Spark's three
    outputs hold the DuckDB demo's rows and their manifests pass verify (175 s here)."""
    from corpusql.demo import demo

    duck = demo(tmp_path / "duck")
    result = run_recipe(spark, RECIPE, tmp_path / "spark", overwrite=True)
    assert sorted(result.outputs) == ["test", "train", "val"]
    for name, out in result.outputs.items():
        assert out.status == "written"
        assert verify(out.out_dir).ok
        m = read_manifest(out.out_dir)
        assert m["engine"] == "spark" and m["recipe"] == RECIPE.read_text(encoding="utf-8")
        assert {"near_dup_clusters", "mix", "pii_redact"} <= set(m["functions"])
        assert rows_hash(out.out_dir) == rows_hash(duck.outputs[name].out_dir), name
        dm = read_manifest(duck.outputs[name].out_dir)
        assert sorted(m) == sorted(dm) and sorted(m["index"]) == sorted(dm["index"]), name
        assert m["removal_log"] == dm["removal_log"] == "demo_removed"
    # stage 4b, the semantic duplicates report: the same rows (similarity included)
    import duckdb

    con = duckdb.connect(str(tmp_path / "duck" / "lake.duckdb"), read_only=True)
    try:
        expected = con.execute("SELECT id, kept_id, cluster_size, similarity FROM "
                               "demo_semantic_dups_log ORDER BY id").fetchall()
    finally:
        con.close()
    got = [tuple(r) for r in spark.sql("SELECT id, kept_id, cluster_size, similarity FROM "
                                       "demo_semantic_dups ORDER BY id").collect()]
    assert got == expected and expected


def _cli(out: Path, recipe: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "corpusql.cli", "-q", "run", str(recipe), "--engine", "spark",
         "--master", "local[2]", str(out), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYSPARK_SUBMIT_ARGS": SUBMIT_ARGS, **(env or {})})


def _staging_job(out: Path) -> Path | None:
    """The ``_temporary`` folder of a Spark job writing into a staging directory of ``out``."""
    for p in out.parent.glob(f".{out.name}.staging-*/_temporary"):
        return p
    return None


@pytest.fixture
def sig_recipe(tmp_path) -> Path:
    """A recipe whose output computes MinHash signatures of the sample (seconds of work)."""
    path = tmp_path / "sigs.sql"
    path.write_text(
        f"-- input docs = {sample_path()}\n"
        "-- output sigs: SELECT id, minhash_signature(text, num_perm := 64) AS sig FROM kept\n"
        "--     ORDER BY id\n"
        "CREATE OR REPLACE TEMP VIEW kept AS SELECT id, text FROM docs WHERE text IS NOT NULL;\n",
        encoding="utf-8")
    return path


@pytest.mark.spark
def test_kill_9_of_the_driver_leaves_the_target_absent_or_unchanged(sig_recipe, tmp_path):
    """An unversioned output (``--unversioned``); versioned: test_run_versions_spark.py."""
    out = tmp_path / "out"
    target = out / "sigs"
    # 1. killed while Spark's job writes into the staging directory: no target
    proc = _cli(out, sig_recipe, "--unversioned")
    job = None
    while job is None and proc.poll() is None:
        job = _staging_job(target)
        time.sleep(0.02)
    assert job is not None, f"the write finished before it could be killed: {proc.stderr.read()}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=120)  # reaps it and closes its pipes
    assert proc.returncode == -signal.SIGKILL
    assert not target.exists()
    assert any(n.startswith(".sigs.staging-") for n in leftovers(target))  # hidden, unclaimed
    # 2. the next run recovers the leftovers and writes the output
    proc = _cli(out, sig_recipe, "--unversioned")
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr
    assert "recovered" in stdout and "removed .sigs.staging-" in stdout
    assert verify(target).ok and leftovers(target) == []
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    assert read_manifest(target)["total_rows"] == pq.read_metadata(sample_path()).num_rows - \
        sum(1 for t in pq.read_table(sample_path(), columns=["text"]).column("text").to_pylist()
            if t is None)
    # 3. killed after Spark wrote, before the manifest and the swap: previous output unchanged
    sig_recipe.write_text(sig_recipe.read_text() + "-- a changed recipe: rewrite\n")
    proc = _cli(out, sig_recipe, "--unversioned", "--overwrite",
                env={"CORPUSQL_FAULT": "write:copied"})
    proc.communicate(timeout=900)
    assert proc.returncode == -signal.SIGKILL
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert verify(target).ok and leftovers(target) == []  # verify removed the staging copy


@pytest.mark.spark
def test_temp_tables_inserts_and_a_spark_variant(spark, tmp_path):
    recipe = tmp_path / "small.sql"
    recipe.write_text(
        f"-- input docs = {sample_path()}\n"
        "-- output kept: SELECT id, n FROM small_kept ORDER BY id\n"
        "CREATE OR REPLACE TEMP TABLE small_kept AS\n"
        "SELECT id, word_count(text) AS n FROM docs WHERE id LIKE 'debref:%';\n"
        "-- spark: (Spark spells it differently)\n"
        "--     INSERT INTO small_kept SELECT 'zz' AS id, CAST(size(array(1, 2)) AS INT) AS n\n"
        "INSERT INTO small_kept SELECT 'zz', len([1, 2]);\n"
        "INSERT INTO small_kept SELECT 'zy', 1;\n", encoding="utf-8")
    result = run_recipe(spark, recipe, tmp_path / "out", overwrite=True)
    out = result.outputs["kept"]
    assert result.statements == 3 and verify(out.out_dir).ok
    rows = {r["id"]: r["n"] for r in pq.read_table(out.out_dir).to_pylist()}
    assert rows["zz"] == 2 and rows["zy"] == 1 and len(rows) == out.rows > 2
    # a table is its rows, not the plan of every statement before it (Spark's analyzer walks
    # a view's whole plan at each use: the demo's later stages took minutes to plan)
    plan = spark.table("small_kept")._jdf.queryExecution().analyzed().toString()
    assert "LogicalRDD" in plan and "parquet" not in plan.lower(), plan

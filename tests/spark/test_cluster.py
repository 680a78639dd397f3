"""corpusql on a real Spark standalone cluster: a master and two 1-core workers on 127.0.0.1.

One cluster for the module (tests/spark/cluster.py). The Spark driver runs in a subprocess (a
JVM holds one SparkContext, and the other Spark tests' local[2] session may be running in this
process); it computes every registry function on the bundled sample (the same argument columns
as test_cross_engine.py, computed in DuckDB and handed over as Parquet), the near-duplicate
clusters and the exact-duplicate groups, and reports its executors from Spark's REST API. The
values must equal DuckDB's, and both workers must have run tasks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cluster import alive, standalone_cluster
from test_cross_engine import (
    CALLS_PER_QUERY,
    NAMED,
    _arg_exprs,
    _plain,
    _returns,
    _spark_spelling,
    sliced_inputs,
)

import corpusql
from corpusql.functions import REGISTRY
from corpusql.spark.types import spark_type

pytestmark = pytest.mark.spark

SAMPLE = str(resources.files("corpusql") / "data" / "sample.parquet")

#: The executors' heap: the argument columns hold megabytes of shingle sets per batch.
EXECUTOR_MEMORY = "1500m"

DRIVER = """
import json, socket, sys, urllib.request
import corpusql.spark
from corpusql.spark.dedup import exact_dup_groups, near_dup_clusters

job = json.loads(sys.argv[1])
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    ui_port = s.getsockname()[1]
spark = corpusql.spark.session(job["master"], app_name="corpusql-test-cluster", **{
    "spark.executor.memory": job["executor_memory"], "spark.driver.memory": "1g",
    "spark.ui.enabled": "true", "spark.ui.port": str(ui_port),
    "spark.ui.showConsoleProgress": "false", "spark.sql.shuffle.partitions": "4",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "500",
    "spark.local.dir": job["out"] + "/local"})
spark.sparkContext.setLogLevel("ERROR")
try:
    out = job["out"]
    # two input splits, so that both 1-core executors get tasks
    spark.read.parquet(job["args"]).repartition(2, "id").createOrReplaceTempView("args")
    for i, calls in enumerate(job["queries"]):
        sql = "SELECT id, " + ", ".join(f"{c} AS {k}" for k, c in calls.items()) + " FROM args"
        spark.sql(sql).write.parquet(f"{out}/calls_{i}")
    docs = spark.read.parquet(job["sample"]).repartition(2, "id")
    stats = {}
    near_dup_clusters(spark, docs, "text", "id", stats=stats).write.parquet(f"{out}/near")
    near_dup_clusters(spark, docs, "text", "id", keep_by="source").write.parquet(f"{out}/near_kb")
    exact_dup_groups(spark, docs, "text", "id").write.parquet(f"{out}/exact")
    exact_dup_groups(spark, docs, "text", "id", normalize=False,
                     keep_by="source").write.parquet(f"{out}/exact_kb")
    sc = spark.sparkContext
    url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/allexecutors"
    with urllib.request.urlopen(url, timeout=60) as r:
        executors = json.load(r)
    print(json.dumps({"app": sc.applicationId, "rounds": stats["rounds"], "executors": [
        {"id": e["id"], "host": e["hostPort"], "tasks": e["totalTasks"]} for e in executors]}))
finally:
    spark.stop()
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from corpusql.spark.session import JavaMissing, check_java, require_pyspark

    try:
        require_pyspark()
        check_java()
    except (ImportError, JavaMissing) as e:
        pytest.skip(str(e))
    with standalone_cluster(workers=2, cores=1, memory=EXECUTOR_MEMORY,
                            tmp=tmp_path_factory.mktemp("cluster")) as c:
        pids = c.pids
        yield c
    assert not [p for p in pids if alive(p)], "the cluster's processes are gone"


def duckdb_side(tmp) -> tuple[pa.Table, dict[str, str]]:
    """DuckDB's values (one column per call, sorted by id) and the Spark spelling of each call;
    writes the argument columns to ``tmp/args.parquet`` in Spark's types."""
    calls: dict[str, tuple[str, str]] = {}
    inputs = {"id": "id", "text": "text"}
    types = {"id": spark_type("VARCHAR"), "text": spark_type("VARCHAR")}
    for f in REGISTRY:
        args = _arg_exprs(f)
        inputs.update(dict(sliced_inputs(f, args)))
        for (name, _), p in zip(args, [p for p in f.params if p.column]):
            types[name] = spark_type(p.sql_type)
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
    args = pa.table({n: args.column(n).cast(types[n].spark) for n in args.column_names})
    pq.write_table(args, tmp / "args.parquet", row_group_size=1000)
    return duck, {k: c[1] for k, c in calls.items()}


@pytest.fixture(scope="module")
def run(cluster, tmp_path_factory):
    """(DuckDB values, Spark values sorted by id, Spark output dir, the driver's report)."""
    tmp = tmp_path_factory.mktemp("cluster_run")
    duck, calls = duckdb_side(tmp)
    keys = list(calls)
    queries = [{k: calls[k] for k in keys[i:i + CALLS_PER_QUERY]}
               for i in range(0, len(keys), CALLS_PER_QUERY)]
    job = {"master": cluster.master_url, "executor_memory": EXECUTOR_MEMORY,
           "args": str(tmp / "args.parquet"), "sample": SAMPLE, "out": str(tmp),
           "queries": queries}
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(job)], capture_output=True,
                          text=True, env=env, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stderr[-5000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    out = pq.read_table(tmp / "args.parquet", columns=["id"]).sort_by("id")
    for i in range(len(queries)):
        got = pq.read_table(tmp / f"calls_{i}").sort_by("id")
        assert got.column("id").equals(out.column("id"))
        for k in queries[i]:
            out = out.append_column(k, got.column(k))
    return duck, out, tmp, report


@pytest.mark.parametrize("key", [f.name for f in REGISTRY] + list(NAMED))
def test_same_values_on_the_cluster_as_in_duckdb(run, key):
    duck, spark_out, _, _ = run
    assert spark_out.column("id").to_pylist() == duck.column("id").to_pylist()
    want = _plain(duck.column(key).to_pylist())
    got = _plain(spark_out.column(key).cast(spark_type(_returns(key)).kernel).to_pylist())
    assert len(want) == 4203
    bad = [i for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert not bad, (f"{key}: {len(bad)} rows differ; first id "
                     f"{duck.column('id')[bad[0]]}: spark {got[bad[0]]!r} != duckdb {want[bad[0]]!r}")


def _rows(path) -> list[tuple]:
    t = pq.read_table(path).sort_by("id")
    return list(zip(*(t.column(c).to_pylist() for c in t.column_names)))


@pytest.mark.parametrize(("name", "macro"), [
    ("near", "near_dup_clusters('docs', 'text', 'id')"),
    ("near_kb", "near_dup_clusters('docs', 'text', 'id', keep_by := 'source')"),
    ("exact", "exact_dup_groups('docs', 'text', 'id')"),
    ("exact_kb", "exact_dup_groups('docs', 'text', 'id', normalize := false, keep_by := 'source')"),
])
def test_dedup_on_the_cluster_same_as_duckdb(run, con, name, macro):
    _, _, tmp, report = run
    con.execute(f"CREATE TABLE docs AS FROM read_parquet('{SAMPLE}')")
    cols = "id, cluster_id, cluster_size, is_kept" if name.startswith("near") else \
        "id, group_id, group_size, is_kept"
    want = con.execute(f"SELECT {cols} FROM {macro} ORDER BY id").fetchall()
    assert _rows(tmp / name) == want
    assert max(r[2] for r in want) > 1, "the sample has duplicates"
    assert report["rounds"] >= 1


def test_both_workers_ran_tasks(cluster, run):
    """Each worker ran one executor of the application (the workers' JSON status pages), and
    each of those executors ran tasks (Spark's REST API on the driver)."""
    _, _, _, report = run
    tasks = {e["id"]: e["tasks"] for e in report["executors"] if e["id"] != "driver"}
    per_worker = []
    for w in cluster.workers:
        status = w.status()
        per_worker.append({str(e["id"]) for e in status["executors"] + status["finishedexecutors"]
                           if e["appid"] == report["app"]})
    assert all(len(ids) == 1 for ids in per_worker), per_worker
    (a,), (b,) = per_worker
    assert a != b and set(tasks) == {a, b}
    assert tasks[a] > 0 and tasks[b] > 0, tasks


def test_demo_recipe_on_the_cluster_gives_the_duckdb_rows(cluster, tmp_path):
    """`corpusql run sql/recipes/demo.sql --engine spark --master spark://...` on the standalone
    cluster: the three outputs verify, say engine spark, and hold the DuckDB demo's rows."""
    from pathlib import Path

    from test_materialize_spark import rows_hash

    from corpusql.demo import demo
    from corpusql.materializer import read_manifest, verify

    recipe = Path(__file__).resolve().parents[2] / "sql" / "recipes" / "demo.sql"
    duck = demo(tmp_path / "duck")
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    proc = subprocess.run(
        [sys.executable, "-m", "corpusql.cli", "-q", "run", str(recipe), "--engine", "spark",
         "--master", cluster.master_url, str(tmp_path / "spark")],
        capture_output=True, text=True, env=env, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stderr[-5000:]
    for name in ("train", "val", "test"):
        out = tmp_path / "spark" / name / "current"  # a versioned release (the default)
        assert verify(out).ok and read_manifest(out)["engine"] == "spark", name
        assert rows_hash(out) == rows_hash(duck.outputs[name].out_dir), name


def test_kill_worker_by_pid(cluster, run):
    """Last in the module: kill_worker SIGKILLs one worker (and its executors) by pid."""
    other = cluster.workers[0].pid
    pid = cluster.kill_worker(1)
    assert pid == cluster.workers[1].pid and not alive(pid)
    assert alive(other) and alive(cluster.master_pid)

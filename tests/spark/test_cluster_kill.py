"""A worker killed mid-write on a real standalone cluster: the output is whole or absent.

A master and two 1-core workers on 127.0.0.1 (tests/spark/cluster.py). A driver subprocess
materializes the MinHash signatures of the bundled sample (many small tasks, so the write takes
a while) with ``corpusql.spark.materialize``; once the job has started writing into the hidden
staging directory, one worker (and the executor it runs) is killed with SIGKILL. Spark reruns
the lost tasks on the other worker: the published output must then hold exactly DuckDB's rows
(compared as sorted content hashes: Spark puts a job id in part-file names) and its manifest
must pass ``verify``; had the job failed instead, nothing may be at the target. Either way no
partial output is ever visible there.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from importlib import resources

import pyarrow.parquet as pq
import pytest
from cluster import alive, standalone_cluster

import corpusql
from corpusql.materializer import verify

pytestmark = pytest.mark.spark

SAMPLE = str(resources.files("corpusql") / "data" / "sample.parquet")
QUERY = ("SELECT id, minhash_signature(text, num_perm => 128) AS sig, "
         "token_count(text) AS n_tokens FROM docs")

DRIVER = """
import json, sys
import corpusql.spark

job = json.loads(sys.argv[1])
spark = corpusql.spark.session(job["master"], app_name="corpusql-test-kill", **{
    "spark.executor.memory": "1g", "spark.driver.memory": "1g", "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4", "spark.task.maxFailures": "8",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "50"})
spark.sparkContext.setLogLevel("ERROR")
try:
    spark.read.parquet(job["sample"]).repartition(40, "id").createOrReplaceTempView("docs")
    result = corpusql.spark.materialize(spark, job["query"], job["out"], order_by="id")
    print(json.dumps({"status": result.status, "rows": result.rows}))
finally:
    spark.stop()
"""


def _row_hashes(table) -> list[str]:
    rows = table.sort_by("id").to_pylist()
    return sorted(hashlib.sha256(json.dumps(r, sort_keys=True, default=str).encode()).hexdigest()
                  for r in rows)


def _duckdb_rows():
    con = corpusql.connect()
    try:
        return con.sql(f"SELECT id, minhash_signature(text, num_perm := 128)::BIGINT[] AS sig, "
                       f"token_count(text) AS n_tokens FROM read_parquet('{SAMPLE}')"
                       ).to_arrow_table()
    finally:
        con.close()


def test_a_worker_killed_mid_write_leaves_a_whole_output_or_none(tmp_path):
    from corpusql.spark.session import JavaMissing, check_java, require_pyspark

    try:
        require_pyspark()
        check_java()
    except (ImportError, JavaMissing) as e:
        pytest.skip(str(e))
    out = tmp_path / "sigs"
    with standalone_cluster(workers=2, cores=1, memory="1200m", tmp=tmp_path / "cluster") as c:
        pids = c.pids
        job = {"master": c.master_url, "sample": SAMPLE, "query": QUERY, "out": str(out)}
        env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
        driver = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(job)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=env)
        try:
            killed = None
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline and driver.poll() is None:
                staging = [p for p in tmp_path.glob(".sigs.staging-*")
                           if any(p.rglob("*.parquet"))]
                if staging:  # tasks are writing: kill a worker and its executor
                    killed = c.kill_worker(0)
                    break
                assert not out.exists(), "the target appeared before the job wrote anything"
                time.sleep(0.2)
            stdout, stderr = driver.communicate(timeout=1200)
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.communicate()
        assert killed is not None, "the job finished before a worker could be killed: " + stderr[-2000:]
        assert not alive(killed)
    assert not [p for p in pids if alive(p)]
    if driver.returncode == 0:  # Spark reran the lost tasks on the other worker
        assert json.loads(stdout.strip().splitlines()[-1])["status"] == "written"
        report = verify(out)
        assert report.ok, report.problems
        got = pq.read_table(out)
        assert _row_hashes(got) == _row_hashes(_duckdb_rows())
    else:  # the job failed: nothing at the target, only hidden staging at most
        assert not out.exists(), stderr[-2000:]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("sigs")
                and p != out], "no partial output beside the target"

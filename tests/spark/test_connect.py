"""corpusql.spark.register on a Spark Connect session (a local Connect server in a subprocess,
so it never shares a JVM with the classic session of the other Spark tests)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.spark

SCRIPT = """
import json
from pyspark.sql import SparkSession
import corpusql.spark
from corpusql.spark.binder import quiet_pyspark

with quiet_pyspark():
    spark = SparkSession.builder.remote("local[1]").getOrCreate()
try:
    assert type(spark).__module__.startswith("pyspark.sql.connect"), type(spark)
    names = corpusql.spark.register(spark)
    row = spark.sql("SELECT minhash_signature('one two three four five six', num_perm => 4) AS s, "
                    "text_normalize('Hello, World') AS t").collect()[0]
    print(json.dumps({"n": len(names), "s": row["s"], "t": row["t"]}))
finally:
    spark.stop()
"""


def test_register_on_spark_connect(con):
    pytest.importorskip("grpc", reason="Spark Connect needs pip install 'pyspark[connect]'")
    from corpusql.spark.session import JavaMissing, check_java

    try:
        check_java()
    except JavaMissing as e:
        pytest.skip(str(e))
    # the Connect server's Python workers must have corpusql: as a server operator would
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=900, check=False, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    got = json.loads(proc.stdout.strip().splitlines()[-1])
    from corpusql.functions import REGISTRY

    want = con.execute("SELECT minhash_signature('one two three four five six', num_perm := 4), "
                       "text_normalize('Hello, World')").fetchone()
    assert got == {"n": len(REGISTRY), "s": list(want[0]), "t": want[1]}

"""One local SparkSession for every Spark test (marked ``spark``), stopped at the end.

Tests that need it are skipped with a reason when pyspark or Java is missing:
``pip install -e '.[test,spark]'`` and ``.ci/java.sh`` provide both.
"""

from __future__ import annotations

import pytest

#: Small and polite on a shared machine: two cores, no UI, few shuffle partitions.
SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "2g",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "1000",
}


@pytest.fixture(scope="session")
def spark():
    """A local[2] SparkSession with every corpusql function registered."""
    import corpusql.spark
    from corpusql.spark.session import JavaMissing, check_java, require_pyspark

    try:
        require_pyspark()
        check_java()
    except (ImportError, JavaMissing) as e:
        pytest.skip(str(e))

    session = corpusql.spark.session("local[2]", **SPARK_CONF)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()

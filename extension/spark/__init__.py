"""corpusql on Apache Spark: every registry function in Spark SQL, same names and defaults.

``spark = corpusql.spark.session()`` starts (or reuses) a SparkSession with every corpusql
function registered; ``corpusql.spark.register(spark)`` does the same on a session you already
have. The SQL library runs through corpusql's expansion: ``corpusql.spark.sql(spark, "SELECT *
FROM split_summary('docs')")``, or ``corpusql.spark.split_summary(spark, "docs")`` for a
DataFrame (docs/spark-sql-library.md). ``corpusql.spark.catalog_views(spark, "lake.duckdb")``
makes each catalog dataset a Spark temp view with its ``_file``/``_row`` lineage;
``corpusql.spark.materialize(spark, query, out_dir)`` writes Parquet atomically with the DuckDB
materializer's manifest. Needs ``pip install 'corpusql[spark]'`` (pyspark 4.1+) and Java 17+
(see docs/scale-out.md).
"""

from __future__ import annotations

from .binder import SparkRegistrationError, plan, register
from .catalog import CatalogViewError, catalog_views
from .library import call, expand, sql
from .materialize import materialize
from .session import JavaMissing, check_java, session
from .types import SparkTypeError, spark_type

__all__ = ["CatalogViewError", "JavaMissing", "SparkRegistrationError", "SparkTypeError", "call",
           "catalog_views", "check_java", "expand", "materialize", "plan", "register", "session",
           "spark_type", "sql"]


def __getattr__(name: str):
    """``corpusql.spark.<table macro>(spark, "docs", ...)``: a library table macro as a DataFrame."""
    from .library import macro_attribute

    return macro_attribute(name)

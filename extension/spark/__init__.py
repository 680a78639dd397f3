"""corpusql on Apache Spark: every registry function in Spark SQL, same names and defaults.

``spark = corpusql.spark.session()`` starts (or reuses) a SparkSession with every corpusql
function registered; ``corpusql.spark.register(spark)`` does the same on a session you already
have. Needs ``pip install 'corpusql[spark]'`` (pyspark 4.1+) and Java 17+ (see docs/scale-out.md).
"""

from __future__ import annotations

from .binder import SparkRegistrationError, plan, register
from .session import JavaMissing, check_java, session
from .types import SparkTypeError, spark_type

__all__ = ["JavaMissing", "SparkRegistrationError", "SparkTypeError", "check_java", "plan",
           "register", "session", "spark_type"]

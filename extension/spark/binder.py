"""Registry rows -> Spark: each kernel as an ``arrow_udf``, each function as a SQL function.

Each row becomes a private Arrow UDF ``__corpusql_<name>`` (positional, all parameters) and a
TEMPORARY SQL function ``<name>`` with the real parameter names, ``DEFAULT`` values and a COMMENT
from the kernel docstring, so ``minhash_signature(text, num_perm => 64)`` in Spark SQL is
``minhash_signature(text, num_perm := 64)`` in DuckDB. Everything about a function comes from
its registry row; the DuckDB binder's UDF body (constant checks, NULL policy) runs unchanged
inside the Spark worker, between casts from Spark's Arrow types to the kernel's and back.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass

import pyarrow as pa

from ..errors import FunctionArgumentError
from ..registry import Function
from .types import SparkType, SparkTypeError, quote, spark_literal, spark_type

PRIVATE_PREFIX = "__corpusql_"


class SparkRegistrationError(FunctionArgumentError):
    """A registry row cannot run on Spark; the message names the function and why."""


@dataclass(frozen=True)
class SparkFunction:
    """One registry row with its Spark types and its SQL function statement."""

    function: Function
    params: tuple[SparkType, ...]
    returns: SparkType
    defaults: tuple[str | None, ...]

    @property
    def name(self) -> str:
        return self.function.name

    @property
    def private(self) -> str:
        return PRIVATE_PREFIX + self.function.name

    def create_sql(self) -> str:
        """``CREATE OR REPLACE TEMPORARY FUNCTION`` exposing the private UDF with defaults."""
        f = self.function
        params = []
        for p, t, d in zip(f.params, self.params, self.defaults):
            params.append(f"{quote(p.name)} {t.ddl}" + ("" if d is None else f" DEFAULT {d}"))
        args = ", ".join(quote(p.name) for p in f.params)
        determinism = "DETERMINISTIC" if f.deterministic else "NOT DETERMINISTIC"
        comment = spark_literal(f.doc, SparkType("STRING", pa.string(), pa.string()))
        return (
            f"CREATE OR REPLACE TEMPORARY FUNCTION {quote(f.name)}({', '.join(params)}) "
            f"RETURNS {self.returns.ddl} {determinism} COMMENT {comment} "
            f"RETURN {quote(self.private)}({args})"
        )


def plan(registry: Iterable[Function]) -> list[SparkFunction]:
    """The Spark form of every row, or one error listing each row that cannot run and why."""
    out, problems = [], []
    for f in registry:
        try:
            out.append(_plan_row(f))
        except (SparkTypeError, TypeError) as e:
            problems.append(f"{f.name} ({f.where}): {e}")
    if problems:
        raise SparkRegistrationError(
            "cannot register on Spark:\n  " + "\n  ".join(problems))
    return out


def _plan_row(f: Function) -> SparkFunction:
    params, defaults = [], []
    for p in f.params:
        try:
            t = spark_type(p.sql_type)
        except SparkTypeError as e:
            raise SparkTypeError(f"parameter {p.name}: {e}") from None
        params.append(t)
        defaults.append(None if p.required else spark_literal(p.default, t))
    try:
        returns = spark_type(f.returns)
    except SparkTypeError as e:
        raise SparkTypeError(f"return type: {e}") from None
    return SparkFunction(f, tuple(params), returns, tuple(defaults))


def make_spark_udf(sf: SparkFunction):
    """The worker-side function: Spark's Arrow arrays in, the binder's UDF body, Spark's out."""
    from ..binder import make_udf  # the same body DuckDB runs: constants checked, NULL policy

    body = make_udf(sf.function, sf.returns.spark)
    casts = [t.kernel if t.kernel != t.spark else None for t in sf.params]

    def udf(*args: pa.Array) -> pa.Array:
        return body(*[a if c is None else a.cast(c) for a, c in zip(args, casts)])

    udf.__signature__ = inspect.Signature(  # Spark reads the hints: arrays in, one array out
        [inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_ONLY, annotation=pa.Array)
         for p in sf.function.params], return_annotation=pa.Array)
    udf.__annotations__ = {**{p.name: pa.Array for p in sf.function.params}, "return": pa.Array}
    udf.__name__ = sf.private
    udf.__doc__ = sf.function.kernel.__doc__
    return udf


def register(spark, registry: Iterable[Function] | None = None) -> list[str]:
    """Register every row of ``registry`` (default: corpusql's) on the SparkSession ``spark``.

    Every row is checked first, so a row that cannot run on Spark fails here, naming it and why,
    before anything is registered. Returns the names of the SQL functions created.
    """
    if registry is None:
        from ..functions import REGISTRY

        registry = REGISTRY
    planned = plan(registry)
    with quiet_pyspark():
        from pyspark.sql.functions import arrow_udf

        for sf in planned:
            udf = arrow_udf(make_spark_udf(sf), sf.returns.ddl)
            if not sf.function.deterministic:
                udf = udf.asNondeterministic()
            spark.udf.register(sf.private, udf)
            spark.sql(sf.create_sql())
        declare_budget(spark)
    return [sf.name for sf in planned]


def declare_budget(spark) -> None:
    """Declare the session variable ``corpusql_memory_budget`` (BIGINT bytes, NULL: no limit)
    that the SQL library's pair-expansion checks read, as DuckDB connections have it; a value
    the user already set is kept. ``SET VAR corpusql_memory_budget = 4000000000`` sets it."""
    try:
        spark.sql("SELECT system.session.corpusql_memory_budget").collect()
    except Exception:  # noqa: BLE001 - not declared yet in this session
        spark.sql("DECLARE VARIABLE corpusql_memory_budget BIGINT DEFAULT NULL")


@contextmanager
def quiet_pyspark():
    """Silence pyspark's warning that pandas 3 is not fully supported: corpusql's UDFs pass
    Arrow arrays and never go through pandas."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas",
                                FutureWarning)
        yield

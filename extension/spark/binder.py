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
import re
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


#: Suffix of a private UDF's signed form (see :func:`signed_form`).
SIGNED_SUFFIX = "__signed"


def _has_ubigint(sql_type: str) -> bool:
    return re.search(r"\bUBIGINT\b", sql_type, re.IGNORECASE) is not None


def _signed(sql_type: str) -> SparkType:
    """The Spark type of ``sql_type`` with each UBIGINT carried as a BIGINT of the same bits."""
    return spark_type(re.sub(r"\bUBIGINT\b", "BIGINT", sql_type, flags=re.IGNORECASE))


def signed_form(sf: SparkFunction):
    """``(private name, Spark return DDL, worker function)`` of ``sf``'s signed form, or None
    when no parameter or result of ``sf`` is UBIGINT.

    The public function carries UBIGINT as DECIMAL(20,0), which holds every value but costs a
    decimal per element in the JVM. The signed form (``__corpusql_<name>__signed``, all
    parameters positional, never a public SQL function) carries the same 64 bits as a signed
    BIGINT: values of 2**63 and above read as negative numbers (x - 2**64), a bijection, so
    equality, grouping and joins give the same answer and the values go back to the kernel's
    UBIGINT bit for bit. corpusql.spark.dedup passes band keys and shingle sets this way; their
    values are never shown to users.
    """
    f = sf.function
    params = [p.sql_type for p in f.params]
    if not (_has_ubigint(f.returns) or any(_has_ubigint(t) for t in params)):
        return None
    from ..binder import make_udf

    ret_signed = _signed(f.returns) if _has_ubigint(f.returns) else None
    body = make_udf(f, sf.returns.kernel if ret_signed else sf.returns.spark)
    steps = []  # per argument: ("view" | "cast" | None, Arrow type)
    for t, sql_type in zip(sf.params, params):
        if _has_ubigint(sql_type):
            steps.append(("view", t.kernel))
        elif t.kernel != t.spark:
            steps.append(("cast", t.kernel))
        else:
            steps.append((None, None))

    def udf(*args: pa.Array) -> pa.Array:
        kernel_args = [a if how is None else a.view(to) if how == "view" else a.cast(to)
                       for a, (how, to) in zip(args, steps)]
        result = body(*kernel_args)
        return result.view(ret_signed.kernel) if ret_signed else result

    udf.__signature__ = inspect.Signature(
        [inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_ONLY, annotation=pa.Array)
         for p in f.params], return_annotation=pa.Array)
    udf.__annotations__ = {**{p.name: pa.Array for p in f.params}, "return": pa.Array}
    udf.__name__ = sf.private + SIGNED_SUFFIX
    udf.__doc__ = f.kernel.__doc__
    return udf.__name__, (ret_signed or sf.returns).ddl, udf


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
            signed = signed_form(sf)
            if signed is not None:
                name, ddl, fn = signed
                signed_udf = arrow_udf(fn, ddl)
                if not sf.function.deterministic:
                    signed_udf = signed_udf.asNondeterministic()
                spark.udf.register(name, signed_udf)
        declare_budget(spark)
    return [sf.name for sf in planned]


def declare_budget(spark) -> None:
    """Declare the session variable ``corpusql_memory_budget`` (BIGINT bytes, NULL: no limit)
    that the SQL library's pair-expansion checks read, as DuckDB connections have it; a value
    the user already set is kept. ``SET VAR corpusql_memory_budget = 4000000000`` sets it."""
    with _unlogged_analysis_errors():
        try:
            spark.sql("SELECT system.session.corpusql_memory_budget").collect()
        except Exception:  # noqa: BLE001 - not declared yet in this session
            spark.sql("DECLARE VARIABLE corpusql_memory_budget BIGINT DEFAULT NULL")


@contextmanager
def _unlogged_analysis_errors():
    """Keep pyspark's ``SQLQueryContextLogger`` (a Python logger that logs every
    AnalysisException at ERROR, with its stack trace) quiet while ``declare_budget`` probes for
    the variable: the expected "cannot be resolved" was printed on every session start."""
    from pyspark.logger import PySparkLogger  # its own class: a plain Logger of the same name
    #                                            would break pyspark's keyword arguments
    logger = PySparkLogger.getLogger("SQLQueryContextLogger")
    before = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = before


@contextmanager
def quiet_pyspark():
    """Silence pyspark's warning that pandas 3 is not fully supported: corpusql's UDFs pass
    Arrow arrays and never go through pandas."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas",
                                FutureWarning)
        yield

"""The registry's SQL types (DuckDB spelling) as Spark SQL types and Arrow types.

One table, :data:`SCALARS`, maps each base type to its Spark SQL type, the Arrow type a kernel
takes and returns (the one DuckDB passes), and the Arrow type Spark passes and expects. Lists
(``T[]``) and structs (``STRUCT(name T, ...)``) are built from it. Spark has no unsigned types,
so unsigned values are carried in a wider signed type that holds every value exactly:

- ``UINTEGER`` (0 .. 2**32-1) is ``BIGINT``;
- ``UBIGINT`` (0 .. 2**64-1) is ``DECIMAL(20,0)`` (``BIGINT`` would wrap values above 2**63-1).

A type outside the table raises :class:`SparkTypeError` naming it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pyarrow as pa

from ..errors import FunctionArgumentError


class SparkTypeError(FunctionArgumentError):
    """A registry SQL type has no Spark equivalent."""


@dataclass(frozen=True)
class SparkType:
    """One SQL type on both sides: ``ddl`` for Spark SQL, ``kernel`` and ``spark`` Arrow types."""

    ddl: str
    kernel: pa.DataType
    spark: pa.DataType


#: DuckDB base type -> (Spark SQL type, kernel Arrow type, Spark Arrow type).
SCALARS: dict[str, SparkType] = {
    "VARCHAR": SparkType("STRING", pa.string(), pa.string()),
    "BLOB": SparkType("BINARY", pa.binary(), pa.binary()),
    "BOOLEAN": SparkType("BOOLEAN", pa.bool_(), pa.bool_()),
    "INTEGER": SparkType("INT", pa.int32(), pa.int32()),
    "BIGINT": SparkType("BIGINT", pa.int64(), pa.int64()),
    "FLOAT": SparkType("FLOAT", pa.float32(), pa.float32()),
    "DOUBLE": SparkType("DOUBLE", pa.float64(), pa.float64()),
    "UINTEGER": SparkType("BIGINT", pa.uint32(), pa.int64()),
    "UBIGINT": SparkType("DECIMAL(20,0)", pa.uint64(), pa.decimal128(20, 0)),
}

_TOKEN = re.compile(r'\s*("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_]*|\[[0-9]*\]|[(),])')


def spark_type(sql_type: str) -> SparkType:
    """The :class:`SparkType` of a DuckDB type string such as ``STRUCT(a INTEGER, b VARCHAR[])[]``."""
    tokens = _tokens(sql_type)
    t, pos = _parse(sql_type, tokens, 0)
    if pos != len(tokens):
        raise SparkTypeError(f"cannot read SQL type {sql_type!r} (unexpected {tokens[pos]!r})")
    return t


def _tokens(sql_type: str) -> list[str]:
    out, pos = [], 0
    text = sql_type.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SparkTypeError(f"cannot read SQL type {sql_type!r} at {text[pos:]!r}")
        out.append(m.group(1))
        pos = m.end()
    return out


def _parse(sql_type: str, tokens: list[str], pos: int) -> tuple[SparkType, int]:
    if pos >= len(tokens):
        raise SparkTypeError(f"cannot read SQL type {sql_type!r} (it ends early)")
    name = tokens[pos].upper()
    pos += 1
    if name == "STRUCT":
        t, pos = _parse_struct(sql_type, tokens, pos)
    elif name in SCALARS:
        t = SCALARS[name]
    else:
        known = ", ".join(SCALARS)
        raise SparkTypeError(
            f"SQL type {tokens[pos - 1]} (in {sql_type!r}) has no Spark mapping; "
            f"mapped types: {known}, lists T[] and STRUCT(...)")
    while pos < len(tokens) and tokens[pos].startswith("["):
        size = tokens[pos][1:-1]  # T[N], a fixed-size array, is an ARRAY<T> in Spark
        kernel = pa.list_(t.kernel, int(size)) if size else pa.list_(t.kernel)
        t = SparkType(f"ARRAY<{t.ddl}>", kernel, pa.list_(t.spark))
        pos += 1
    return t, pos


def _parse_struct(sql_type: str, tokens: list[str], pos: int) -> tuple[SparkType, int]:
    if pos >= len(tokens) or tokens[pos] != "(":
        raise SparkTypeError(f"cannot read SQL type {sql_type!r} (STRUCT needs fields)")
    pos += 1
    names: list[str] = []
    fields: list[SparkType] = []
    while True:
        raw = tokens[pos]
        name = raw[1:-1].replace('""', '"') if raw.startswith('"') else raw
        field, pos = _parse(sql_type, tokens, pos + 1)
        names.append(name)
        fields.append(field)
        if tokens[pos] == ")":
            pos += 1
            break
        if tokens[pos] != ",":
            raise SparkTypeError(f"cannot read SQL type {sql_type!r} (expected ',' or ')')")
        pos += 1
    ddl = ", ".join(f"{quote(n)}: {f.ddl}" for n, f in zip(names, fields))
    kernel = pa.struct([pa.field(n, f.kernel) for n, f in zip(names, fields)])
    spark = pa.struct([pa.field(n, f.spark) for n, f in zip(names, fields)])
    return SparkType(f"STRUCT<{ddl}>", kernel, spark), pos


def quote(name: str) -> str:
    """A Spark SQL identifier in backquotes (parameter names such as ``rows`` are keywords)."""
    return "`" + name.replace("`", "``") + "`"


def spark_literal(value, t: SparkType) -> str:
    """A Python default as a Spark SQL literal of type ``t``."""
    if value is None:
        return f"CAST(NULL AS {t.ddl})"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, (int, float)):
        if t.ddl == "DOUBLE" and math.isfinite(value) and "e" not in repr(float(value)):
            return f"{float(value)!r}D"
        if t.ddl in ("DOUBLE", "FLOAT"):
            return f"CAST('{float(value)!r}' AS {t.ddl})"
        return repr(value)
    if isinstance(value, (list, tuple)):
        if not pa.types.is_list(t.kernel):
            raise SparkTypeError(f"default {value!r} is a list but the type is {t.ddl}")
        inner = element(t)
        if not value:
            return f"CAST(ARRAY() AS {t.ddl})"
        return "ARRAY(" + ", ".join(spark_literal(v, inner) for v in value) + ")"
    raise SparkTypeError(f"no Spark SQL literal for default {value!r}")


def element(t: SparkType) -> SparkType:
    """The element type of a list type."""
    ddl = t.ddl[len("ARRAY<"):-1]
    return SparkType(ddl, t.kernel.value_type, t.spark.value_type)

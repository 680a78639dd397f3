"""The SQL type mapping, the registration plan and the Java check: no Spark started."""

from __future__ import annotations

import os
import stat

import pyarrow as pa
import pytest

from corpusql.functions import REGISTRY
from corpusql.registry import Param, Registry, fn
from corpusql.spark.binder import SparkRegistrationError, plan
from corpusql.spark.session import JavaMissing, check_java
from corpusql.spark.types import SparkTypeError, spark_literal, spark_type
from corpusql.udfs import text as text_kernels


@pytest.mark.parametrize(("sql", "ddl", "kernel", "spark"), [
    ("VARCHAR", "STRING", pa.string(), pa.string()),
    ("UINTEGER[]", "ARRAY<BIGINT>", pa.list_(pa.uint32()), pa.list_(pa.int64())),
    ("UBIGINT[]", "ARRAY<DECIMAL(20,0)>", pa.list_(pa.uint64()),
     pa.list_(pa.decimal128(20, 0))),
    ("FLOAT[384]", "ARRAY<FLOAT>", pa.list_(pa.float32(), 384), pa.list_(pa.float32())),
    ("DOUBLE[][]", "ARRAY<ARRAY<DOUBLE>>", pa.list_(pa.list_(pa.float64())),
     pa.list_(pa.list_(pa.float64()))),
    ('STRUCT(kind VARCHAR, "start" INTEGER, "end" INTEGER)[]',
     "ARRAY<STRUCT<`kind`: STRING, `start`: INT, `end`: INT>>",
     pa.list_(pa.struct([("kind", pa.string()), ("start", pa.int32()), ("end", pa.int32())])),
     pa.list_(pa.struct([("kind", pa.string()), ("start", pa.int32()), ("end", pa.int32())]))),
])
def test_spark_type(sql, ddl, kernel, spark):
    t = spark_type(sql)
    assert (t.ddl, t.kernel, t.spark) == (ddl, kernel, spark)


def test_unsigned_values_survive_the_round_trip():
    """UINTEGER and UBIGINT extremes are the same numbers after kernel -> Spark -> kernel."""
    for sql, values in [("UINTEGER[]", [0, 2**32 - 1]), ("UBIGINT[]", [0, 2**63, 2**64 - 1])]:
        t = spark_type(sql)
        arr = pa.array([values, None], t.kernel)
        there = arr.cast(t.spark)
        assert [int(v) for v in there[0].as_py()] == values
        assert there.cast(t.kernel).to_pylist() == arr.to_pylist()


@pytest.mark.parametrize("bad", ["HUGEINT", "MAP(VARCHAR, INTEGER)", "STRUCT(a)", "VARCHAR[", ""])
def test_unmapped_type_is_named(bad):
    with pytest.raises(SparkTypeError, match="SQL type"):
        spark_type(bad)


def test_literals():
    assert spark_literal("it's a \\ test", spark_type("VARCHAR")) == "'it\\'s a \\\\ test'"
    assert spark_literal(0.98, spark_type("DOUBLE")) == "0.98D"
    assert spark_literal(3, spark_type("DOUBLE")) == "3.0D"
    assert spark_literal([], spark_type("VARCHAR[]")) == "CAST(ARRAY() AS ARRAY<STRING>)"
    assert spark_literal(None, spark_type("VARCHAR[]")) == "CAST(NULL AS ARRAY<STRING>)"
    assert spark_literal([[2, 0.5]], spark_type("DOUBLE[][]")) == "ARRAY(ARRAY(2.0D, 0.5D))"


def test_every_registry_row_has_a_spark_plan():
    planned = plan(REGISTRY)
    assert [sf.name for sf in planned] == [f.name for f in REGISTRY]
    for sf in planned:
        sql = sf.create_sql()
        assert sql.startswith(f"CREATE OR REPLACE TEMPORARY FUNCTION `{sf.name}`(")
        assert f"RETURN `__corpusql_{sf.name}`(" in sql


def test_a_row_that_cannot_run_fails_at_registration_naming_it():
    bad = Registry([
        fn("good_one", text_kernels.word_count, [Param("text", "VARCHAR")], "INTEGER"),
        fn("wide_one", text_kernels.word_count, [Param("text", "VARCHAR")], "HUGEINT"),
        fn("map_one", text_kernels.word_count,
           [Param("text", "VARCHAR"), Param("m", "MAP(VARCHAR, INTEGER)", {}, column=False)],
           "INTEGER"),
    ])
    with pytest.raises(SparkRegistrationError) as e:
        plan(bad)
    msg = str(e.value)
    assert "wide_one" in msg and "return type" in msg and "HUGEINT" in msg
    assert "map_one" in msg and "parameter m" in msg and "MAP" in msg
    assert "good_one" not in msg


def _fake_java(tmp_path, version: str) -> str:
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2020-01-01' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return str(home)


def test_missing_java_is_one_line_saying_how_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(JavaMissing) as e:
        check_java()
    msg = str(e.value)
    assert "\n" not in msg
    assert "no java on PATH" in msg and "apt-get install -y openjdk-17-jdk-headless" in msg
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(JavaMissing, match="has no bin/java.*openjdk-17-jdk-headless"):
        check_java()


@pytest.mark.parametrize(("version", "ok"), [("1.8.0_292", False), ("11.0.2", False),
                                             ("17.0.15", True), ("21", True)])
def test_java_version_is_checked(tmp_path, monkeypatch, version, ok):
    home = _fake_java(tmp_path, version)
    monkeypatch.setenv("JAVA_HOME", home)
    if ok:
        assert check_java() == os.path.join(home, "bin", "java")
    else:
        with pytest.raises(JavaMissing, match=r"needs Java 17\+ but .* is Java (8|11)"):
            check_java()


def test_signed_forms_carry_the_same_64_bits():
    """The private signed forms (UBIGINT as BIGINT bits) give the public forms' values back:
    band keys and shingle sets equal the kernel's UBIGINTs read as two's complement, and
    set_jaccard of signed sets equals set_jaccard of the UBIGINT sets."""
    from corpusql.spark.binder import SIGNED_SUFFIX, make_spark_udf, signed_form

    planned = {sf.name: sf for sf in plan(REGISTRY)}
    assert signed_form(planned["word_count"]) is None  # no UBIGINT: no signed form
    texts = pa.array(["the cat sat on the mat by the door of the house today", None, "",
                      "one two three four five six seven eight nine ten eleven twelve"])
    sig = planned["minhash_signature"]
    sigs = make_spark_udf(sig)(texts, *[pa.array([p.default] * 4, t.spark) for p, t in zip(
        sig.function.params[1:], sig.params[1:])])
    name, ddl, bands = signed_form(planned["minhash_bands"])
    assert (name, ddl) == ("__corpusql_minhash_bands" + SIGNED_SUFFIX, "ARRAY<BIGINT>")
    consts = [pa.array([14] * 4, pa.int32()), pa.array([9] * 4, pa.int32())]
    public = make_spark_udf(planned["minhash_bands"])(sigs, *consts)
    signed = bands(sigs, *consts)
    assert signed.type == pa.list_(pa.int64())
    want = [None if v is None else [int(x) - 2**64 if x >= 2**63 else int(x) for x in v]
            for v in public.to_pylist()]
    assert signed.to_pylist() == want and any(x < 0 for v in want if v for x in v)
    shingles = {k: signed_form(planned["shingle_set"])[2] if k else
                make_spark_udf(planned["shingle_set"]) for k in (True, False)}
    args = [pa.array([5] * 4, pa.int32()), pa.array(["word"] * 4), pa.array([True] * 4)]
    s_pub, s_sig = shingles[False](texts, *args), shingles[True](texts, *args)
    assert s_sig.type == pa.list_(pa.int64()) and len(s_sig) == len(s_pub)
    other = s_pub.take(pa.array([3, 1, 2, 0]))
    jac_pub = make_spark_udf(planned["set_jaccard"])(s_pub, other).to_pylist()
    jac_sig = signed_form(planned["set_jaccard"])[2](s_sig, s_sig.take(pa.array([3, 1, 2, 0])))
    assert jac_sig.to_pylist() == jac_pub

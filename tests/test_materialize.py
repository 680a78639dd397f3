"""Materialization: atomic writes, manifest, verify, up-to-date detection, determinism."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pyarrow.parquet as pq
import pytest

import corpusql
from corpusql.materializer import MaterializeError, materialize, read_manifest, verify


@pytest.fixture
def src(tmp_path):
    path = tmp_path / "in.parquet"
    c = corpusql.connect()
    c.execute(f"COPY (SELECT range AS id, 'doc ' || range AS text, range % 3 AS grp "
              f"FROM range(5000)) TO '{path}'")
    c.close()
    return path


def _files(path):
    return sorted(p.name for p in path.rglob("*") if p.is_file())


def test_writes_parquet_and_manifest(con, src, tmp_path):
    out = tmp_path / "out"
    q = f"SELECT id, text, word_count(text) AS n FROM read_parquet('{src}')"
    result = materialize(con, q, out, order_by="id")
    assert result.status == "written" and result.rows == 5000
    m = read_manifest(out)
    assert m["query"] == q and m["total_rows"] == 5000
    from corpusql.functions import REGISTRY

    assert m["functions"] == {"word_count": REGISTRY["word_count"].version}
    assert [i["path"] for i in m["inputs"]] == [str(src)]
    assert m["versions"]["duckdb"] and m["versions"]["corpusql"] == corpusql.__version__
    table = pq.read_table(out)
    assert table.num_rows == 5000 and table.column("id").to_pylist() == list(range(5000))
    assert verify(out).ok


def test_up_to_date_then_rewrites_when_input_changes(con, src, tmp_path):
    out = tmp_path / "out"
    q = f"SELECT * FROM read_parquet('{src}')"
    assert materialize(con, q, out).status == "written"
    assert materialize(con, q, out).status == "up to date"
    assert materialize(con, q, out, force=True, overwrite=True).status == "written"
    os.utime(src, ns=(time.time_ns(), time.time_ns() + 10**9))
    with pytest.raises(MaterializeError, match="pass overwrite=True"):
        materialize(con, q, out)
    assert materialize(con, q, out, overwrite=True).status == "written"


def test_failing_udf_leaves_previous_output_untouched(con, src, tmp_path):
    import pyarrow as pa

    out = tmp_path / "out"
    materialize(con, f"SELECT * FROM read_parquet('{src}')", out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(x):
        if pa.compute.max(x).as_py() >= 4000:
            raise ValueError("row 4000 is bad")
        return x

    con.create_function("boom", boom, ["BIGINT"], "BIGINT", type="arrow")
    with pytest.raises(Exception, match="row 4000 is bad"):
        materialize(con, f"SELECT boom(id) AS id FROM read_parquet('{src}')", out,
                    overwrite=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet", "out"]


KILLED = textwrap.dedent("""
    import sys, time
    import corpusql
    from corpusql.materializer import materialize
    con = corpusql.connect(config={"threads": 1})
    def slow(x):
        time.sleep(0.02)
        return x
    con.create_function("slow", slow, ["BIGINT"], "BIGINT", type="arrow")
    materialize(con, "SELECT slow(range) AS id, repeat('x', 200) AS pad FROM range(2000000)",
                sys.argv[1], overwrite=True, order_by="id")
""")


@pytest.mark.parametrize("previous", [False, True], ids=["fresh", "over-previous"])
def test_sigkill_midway_leaves_previous_output_or_nothing(con, src, tmp_path, previous):
    out = tmp_path / "out"
    if previous:
        materialize(con, f"SELECT * FROM read_parquet('{src}')", out)
        before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(out)])
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".out.staging-*")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(tmp_path.glob(".out.staging-*")), "the child never started writing"
        time.sleep(1.0)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    if previous:
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
        assert verify(out).ok
    else:
        assert not out.exists()
    # a glob over the target never sees the staging files
    assert not list(tmp_path.glob("out/*.parquet.tmp")) and not list(tmp_path.glob("tmp_*"))
    # the next run cleans the dead process's staging directory
    materialize(con, f"SELECT * FROM read_parquet('{src}')", out, overwrite=True, force=True)
    assert not list(tmp_path.glob(".out.staging-*"))


def test_byte_identical_whatever_the_thread_count(src, tmp_path):
    digests = []
    for threads in (1, 2, 4):
        c = corpusql.connect(config={"threads": threads})
        try:
            r = materialize(c, f"SELECT grp, text, text_fingerprint(text) AS fp FROM "
                               f"read_parquet('{src}')", tmp_path / f"t{threads}")
        finally:
            c.close()
        digests.append([f["sha256"] for f in r.files])
    assert digests[0] == digests[1] == digests[2]


def test_partition_by_and_max_rows_per_file(con, src, tmp_path):
    r = materialize(con, f"SELECT * FROM read_parquet('{src}')", tmp_path / "p",
                    partition_by="grp")
    assert sorted({f["path"].split("/")[0] for f in r.files}) == ["grp=0", "grp=1", "grp=2"]
    r = materialize(con, f"SELECT * FROM read_parquet('{src}')", tmp_path / "m",
                    max_rows_per_file=1200, order_by="id")
    assert [f["rows"] for f in r.files] == [1200, 1200, 1200, 1200, 200]
    ids = pq.read_table(tmp_path / "m" / "part-0.parquet").column("id").to_pylist()
    assert ids == list(range(1200))


@pytest.mark.parametrize("kwargs, message", [
    ({"compression": "rar"}, "compression 'rar' is not one of"),
    ({"max_rows_per_file": 0}, "must be at least 1"),
    ({"max_rows_per_file": 5, "partition_by": "grp"}, "either partition_by or max_rows"),
])
def test_bad_options_fail_before_writing(con, src, tmp_path, kwargs, message):
    with pytest.raises(MaterializeError, match=message):
        materialize(con, f"SELECT * FROM read_parquet('{src}')", tmp_path / "o", **kwargs)
    assert not (tmp_path / "o").exists()


def test_verify_reports_tampering(con, src, tmp_path):
    out = tmp_path / "out"
    materialize(con, f"SELECT * FROM read_parquet('{src}')", out, max_rows_per_file=2000)
    assert verify(out).ok and verify(out).checked == 3
    data = bytearray((out / "part-1.parquet").read_bytes())
    data[100] ^= 0xFF
    (out / "part-1.parquet").write_bytes(bytes(data))
    (out / "part-2.parquet").unlink()
    (out / "stray.parquet").write_bytes(b"PAR1")
    problems = "\n".join(verify(out).problems)
    assert "part-1.parquet: sha256 differs" in problems
    assert "part-2.parquet: missing" in problems
    assert "stray.parquet: not in the manifest" in problems
    (out / "_manifest.json").write_text("{not json")
    assert "unreadable JSON" in verify(out).problems[0]
    assert "missing" in verify(tmp_path).problems[0]


def test_manifest_is_json_written_last(con, src, tmp_path):
    out = tmp_path / "out"
    materialize(con, f"SELECT * FROM read_parquet('{src}')", out)
    manifest = out / "_manifest.json"
    newest = max(out.iterdir(), key=lambda p: p.stat().st_mtime_ns)
    assert newest == manifest
    assert json.loads(manifest.read_text())["files"][0]["path"] == "part-0.parquet"

"""Bad input and atomic publish of export_tokens: refused before writing, never half written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from export_helpers import wide_tokenizer

import corpusql
from corpusql.export_tokens import ExportError, check, export_tokens


def _names(path) -> list[str]:
    return sorted(os.listdir(path))


def test_vocabulary_too_big_for_dtype_fails_before_writing(docs, tmp_path):
    wide = wide_tokenizer(tmp_path / "wide.json")
    with pytest.raises(ExportError, match=r"70,000 ids, more than uint16.*dtype := 'uint32'"):
        export_tokens(docs, "SELECT * FROM docs", tmp_path / "out", tokenizer=wide,
                      dtype="uint16")
    assert _names(tmp_path) == ["wide.json"]  # no target, no staging, no lock left


@pytest.mark.parametrize("fmt", ["datatrove", "megatron", "parquet"])
def test_empty_query_writes_valid_empty_release(docs, tmp_path, fmt):
    out = tmp_path / "out"
    r = export_tokens(docs, "SELECT * FROM docs WHERE false", out, format=fmt)
    m = json.loads((out / "_manifest.json").read_text())
    assert (m["total_tokens"], m["total_documents"], r.tokens) == (0, 0, 0)
    assert [s["tokens"] for s in m["shards"]] == [0]
    assert check(out) == []
    if fmt == "parquet":
        assert pq.read_table(out / "shard_00000.parquet").num_rows == 0
    if fmt == "datatrove":
        assert (out / "shard_00000.ds.metadata").read_text() == \
            f"{m['tokenizer']['path']}|2\n0\n0.00 T"


def test_nulls_are_skipped_and_counted(docs, tmp_path):
    r = export_tokens(docs, "SELECT * FROM docs", tmp_path / "out")
    (n_null,) = docs.execute("SELECT count(*) FROM docs WHERE text IS NULL").fetchone()
    (n_docs,) = docs.execute("SELECT count(*) FROM docs WHERE text IS NOT NULL").fetchone()
    assert (r.manifest["null_texts"], r.documents) == (n_null, n_docs) == (2, n_docs)


def test_flipped_byte_fails_check_with_file_name(docs, tmp_path):
    out = tmp_path / "out"
    export_tokens(docs, "SELECT * FROM docs", out, shard_tokens=300)
    victim = out / "shard_00001.ds"
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    assert check(out) == [f"{victim}: sha256 differs from the manifest"]


def test_bad_knobs_name_the_knob(docs, tmp_path):
    with pytest.raises(ExportError, match="format 'npy' is not one of"):
        export_tokens(docs, "SELECT * FROM docs", tmp_path / "a", format="npy")
    with pytest.raises(ExportError, match="no column 'body'.*text_col"):
        export_tokens(docs, "SELECT * FROM docs", tmp_path / "a", text_col="body")
    with pytest.raises(ExportError, match="no token '<end>'.*eos_token"):
        export_tokens(docs, "SELECT * FROM docs", tmp_path / "a", eos_token="<end>")
    with pytest.raises(ExportError, match="shard_tokens = 0"):
        export_tokens(docs, "SELECT * FROM docs", tmp_path / "a", shard_tokens=0)
    assert not (tmp_path / "a").exists()


def test_foreign_directory_and_overwrite(docs, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="not a corpusql token export"):
        export_tokens(docs, "SELECT * FROM docs", foreign)
    assert _names(foreign) == ["notes.txt"]
    out = tmp_path / "out"
    first = export_tokens(docs, "SELECT * FROM docs", out)
    with pytest.raises(ExportError, match="overwrite=True"):
        export_tokens(docs, "SELECT * FROM docs WHERE id < 5", out)
    again = export_tokens(docs, "SELECT * FROM docs WHERE id < 5", out, overwrite=True)
    assert again.documents < first.documents
    assert check(out) == []


def test_kill_during_export_keeps_the_previous_one(docs, tmp_path):
    db = tmp_path / "lake.duckdb"
    with corpusql.connect(str(db)) as c:
        c.execute("CREATE TABLE t AS SELECT i AS id, 'text ' || i AS text FROM range(100) r(i)")
    out = tmp_path / "out"
    cli = [sys.executable, "-m", "corpusql.cli", "export-tokens", "SELECT * FROM t", str(out),
           "--db", str(db), "--overwrite"]
    subprocess.run(cli, check=True, capture_output=True)
    before = (out / "_manifest.json").read_bytes()
    killed = subprocess.run(cli + ["--shuffle-seed", "9"], capture_output=True,
                            env={**os.environ, "CORPUSQL_FAULT": "export:encoded"})
    assert killed.returncode == -9
    assert (out / "_manifest.json").read_bytes() == before
    assert check(out) == []
    assert any(p.startswith(".out.staging-") for p in _names(tmp_path))
    done = subprocess.run(cli + ["--shuffle-seed", "9"], capture_output=True, text=True,
                          check=True)
    assert "removed .out.staging-" in done.stdout
    assert "100 documents" in done.stdout
    assert not any(p.startswith(".out.") for p in _names(tmp_path))


def test_failing_query_leaves_nothing_and_the_connection_usable(docs, tmp_path):
    import duckdb

    with pytest.raises(duckdb.Error, match="boom"):
        export_tokens(docs, "SELECT id, CASE WHEN id > 50 THEN error('boom') ELSE text END "
                      "AS text FROM docs", tmp_path / "out")
    assert _names(tmp_path) == []
    assert docs.execute("SELECT count(*) FROM docs").fetchone()[0] > 0


def test_long_texts_are_encoded_in_bounded_chunks_with_exact_counts(con, tmp_path):
    """A text over token_count's chunk size exports exactly token_count's tokens, and a long
    text with no safe cut is refused under the connection's memory budget, naming it. The test
    failed before this change: export encoded the 300,000-character text whole, past the 1 MB
    budget."""
    import pyarrow as pa

    words = " ".join(f"word{i % 97} with some text" for i in range(20_000))  # ~470k characters
    con.register("longs_arrow", pa.table({"id": [1], "text": [words]}))
    con.execute("CREATE TABLE longs AS SELECT * FROM longs_arrow")
    r = export_tokens(con, "SELECT * FROM longs", tmp_path / "out", eos=False)
    (want,) = con.execute("SELECT token_count(text) FROM longs").fetchone()
    assert r.tokens == want
    con.execute("CREATE TABLE solid AS SELECT 1 AS id, repeat('x', 300000) AS text")
    corpusql.set_memory_budget(con, "1MB")
    with pytest.raises(ValueError, match=r"export_tokens: .*300,000 characters.*memory_budget"):
        export_tokens(con, "SELECT * FROM solid", tmp_path / "out2")
    assert not (tmp_path / "out2").exists()

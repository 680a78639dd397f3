"""Malformed input lands in corpusql.quarantine with (dataset, file, line, reason)."""

from __future__ import annotations

import gzip

import zstandard
from catalog_helpers import write_parquet


def _quarantine(con, name):
    return con.execute("SELECT file, line, reason FROM corpusql.quarantine WHERE dataset = ? "
                       "ORDER BY file, line", [name]).fetchall()


def test_jsonl_bad_lines_truncated_gzip_empty_and_bad_utf8(lake, tmp_path):
    con, cat = lake
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.jsonl").write_bytes(
        b'{"id": 1, "text": "ok"}\n'
        b'{"id": 2, "text": \n'             # line 2: invalid JSON
        b'{"id": 3, "text": "caf\xe9"}\n'   # line 3: Latin-1 byte, not UTF-8
        b'[1, 2]\n'                         # line 4: not an object
        b'{"id": 5, "text": "fine"}\n')
    whole = gzip.compress(b"".join(b'{"id": %d, "text": "z"}\n' % i for i in range(100, 200)))
    (d / "b.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    (d / "c.jsonl").write_bytes(b"")
    z = zstandard.ZstdCompressor().compress(b"".join(b'{"id": %d}\n' % i for i in range(50)))
    (d / "d.jsonl.zst").write_bytes(z[:-4])
    st = cat.add("q", str(d / "*"))
    assert con.execute("SELECT id, _row FROM q ORDER BY id").fetchall() == [(1, 1), (5, 5)]
    q = _quarantine(con, "q")
    a, b, c, z = (str(d / n) for n in ("a.jsonl", "b.jsonl.gz", "c.jsonl", "d.jsonl.zst"))
    assert [(f, line) for f, line, _ in q] == [(a, 2), (a, 3), (a, 4), (b, None), (c, None),
                                               (z, None)]
    reasons = [r for _, _, r in q]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1].startswith("invalid UTF-8")
    assert reasons[2].startswith("not a JSON object")
    assert reasons[3].startswith("truncated gzip")
    assert reasons[4] == "zero-byte file"
    assert reasons[5].startswith("truncated zstd")
    assert (st.quarantined_lines, st.quarantined_files) == (3, 3)
    assert st.status == "ready"


def test_text_invalid_utf8_and_zero_byte_parquet(lake, tmp_path):
    con, cat = lake
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "good.txt").write_text("hello")
    (tmp_path / "t" / "bad.txt").write_bytes(b"line one\nline \xff two\n")
    cat.add("t", str(tmp_path / "t" / "*.txt"))
    assert con.execute("SELECT text FROM t").fetchall() == [("hello",)]
    assert _quarantine(con, "t") == [(str(tmp_path / "t" / "bad.txt"), 2,
                                      "invalid UTF-8 at byte 14 of the file")]

    write_parquet(tmp_path / "p" / "a.parquet", 4)
    (tmp_path / "p" / "b.parquet").write_bytes(b"")
    st = cat.add("p", str(tmp_path / "p" / "*.parquet"))
    assert con.execute("SELECT count(*) FROM p").fetchall() == [(4,)]
    assert _quarantine(con, "p") == [(str(tmp_path / "p" / "b.parquet"), None, "zero-byte file")]
    assert st.quarantined_files == 1


def test_resync_replaces_quarantine_of_a_fixed_file(lake, tmp_path):
    con, cat = lake
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "a.jsonl").write_text('{"x": 1}\nbroken\n')
    cat.add("f", str(tmp_path / "f" / "*.jsonl"))
    assert len(_quarantine(con, "f")) == 1
    (tmp_path / "f" / "a.jsonl").write_text('{"x": 1}\n{"x": 2}\n{"x": 3}\n')
    assert [p.rsplit("/", 1)[1] for p in cat.sync("f").changed] == ["a.jsonl"]
    assert _quarantine(con, "f") == []
    assert con.execute("SELECT count(*) FROM f").fetchall() == [(3,)]

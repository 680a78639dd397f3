"""The fingerprint index built on threads, many batches per file, equals the index defined row
by row: doc_hash = BLAKE2b-128 of text_normalize(text), url_key = normalize(url), the licence of
the dataset named by ``source`` (case-insensitive), ``file`` and ``row`` where the row lies."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.parquet as pq

from corpusql import fingerprints
from corpusql.udfs.text import text_normalize
from corpusql.udfs.url import normalize

TEXTS = ["Hello,  WORLD!", "Héllo — Wörld…", "日本語、テキスト。", "e\u0301", "🎉 x", "", None,
         "ΟΔΟΣ", "ＦＵＬＬ　ｗｉｄｔｈ"]
URLS = ["https://Ex.com/a?utm_source=x", "debian-doc://man/a.1.gz", None, "http://h:80/p#f",
        "example.org/x/./y", "git+nltk/data:a.txt#3"]
SOURCES = ["Web", "web", "BOOKS", None, "other", "books"]


def _file(path, n, offset):
    rows = range(offset, offset + n)
    pq.write_table(pa.table({
        "id": [f"doc-{i}" for i in rows],
        "text": [TEXTS[i % len(TEXTS)] for i in rows],
        "url": [URLS[i % len(URLS)] for i in rows],
        "source": [SOURCES[i % len(SOURCES)] for i in rows],
    }), path)


def expected(path, rel, lic):
    t = pq.read_table(path).to_pylist()
    norm = text_normalize(pa.array([r["text"] for r in t], pa.string())).to_pylist()
    return [{
        "id": r["id"],
        "doc_hash": None if v is None else hashlib.blake2b(v.encode(), digest_size=16).hexdigest(),
        "url": r["url"], "url_key": None if r["url"] is None else normalize(r["url"]),
        "source": r["source"], "licence": lic.get((r["source"] or "").lower(), "unknown"),
        "chars": None if r["text"] is None else len(r["text"]), "tokens": None,
        "file": rel, "row": i} for i, (r, v) in enumerate(zip(t, norm))]


def test_threaded_batches_equal_the_row_by_row_definition(tmp_path, monkeypatch):
    monkeypatch.setattr(fingerprints, "BATCH_ROWS", 7)
    monkeypatch.setattr(fingerprints, "WORKERS", 3)
    _file(tmp_path / "a.parquet", 61, 0)
    _file(tmp_path / "b.parquet", 30, 61)
    plan = {"datasets": {"Web": {"licence": {"licence": "CC-BY-4.0"}},
                         "books": {"licence": {"licence": "PD"}}}, "inputs": ["x"]}
    out = tmp_path / "_fingerprints.pq"
    fingerprints.write_index(out, [(tmp_path / "b.parquet", "part/b.parquet"),
                                   (tmp_path / "a.parquet", "part/a.parquet")], plan)
    lic = {"web": "CC-BY-4.0", "books": "PD"}
    want = expected(tmp_path / "a.parquet", "part/a.parquet", lic) \
        + expected(tmp_path / "b.parquet", "part/b.parquet", lic)
    assert fingerprints.load(out).to_pylist() == want

"""read_warc and read_warc_errors on the tests' WARC: records, lineage, bad records, memory guard."""

from __future__ import annotations

import io

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from corpusql.udfs import warc


def _rows(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def test_every_good_record_is_read_with_lineage(mcon, web_warc, no_network):
    path, corpus = web_warc
    rows = _rows(mcon, "SELECT url, http_status, content_type, _file, _offset FROM "
                       "read_warc(?) ORDER BY _offset", str(path))
    bad = set(corpus.corrupt_urls + corpus.truncated_urls)
    assert [r[0] for r in rows] == [p.url for p in corpus.pages if p.url not in bad]
    assert {r[1] for r in rows} == {200}
    assert {r[3] for r in rows} == {str(path)}
    # each _offset is where the record begins: reading it alone gives the same URL
    for url, _, _, _, off in rows[:5]:
        assert warc.fetch_records(str(path), [off])[0]["url"] == url


def test_corrupt_and_truncated_records_are_reported_and_the_rest_is_read(mcon, web_warc):
    path, corpus = web_warc
    errors = _rows(mcon, "SELECT _file, _offset, reason FROM read_warc_errors(?)", str(path))
    assert len(errors) == 2
    assert "corrupt or unreadable record" in errors[0][2]
    assert errors[1][2].startswith("truncated record")
    # the corrupt record sits in the middle: records after it are read
    after = _rows(mcon, "SELECT count(*) FROM read_warc(?) WHERE _offset > ?",
                  str(path), errors[0][1])[0][0]
    assert after > 40


def test_charset_comes_from_the_http_header(mcon, web_warc):
    path, corpus = web_warc
    declared = {p.url: p.charset for p in corpus.pages if p.kind == "html"
                and p.declare == "header"}
    rows = dict(_rows(mcon, "SELECT url, charset FROM read_warc(?)", str(path)))
    for url, cs in declared.items():
        if url in rows:
            assert rows[url] == cs.lower().replace("_", "_")
    undeclared = [p.url for p in corpus.pages if p.declare != "header" and p.url in rows]
    assert undeclared and all(rows[u] is None for u in undeclared)


def test_oversized_record_is_reported_not_read(mcon, tmp_path):
    """A 50 MB page stays within the memory guard: indexed, reported, never read in full."""
    big = b"<html><body><p>" + b"word " * (10 * 1024 * 1024) + b"</p></body></html>"
    path = tmp_path / "big.warc.gz"
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=True)
        for url, body in (("https://big.example/", big), ("https://small.example/",
                                                           b"<html><p>small</p></html>")):
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), length=len(body),
                           http_headers=StatusAndHeaders("200 OK", [("Content-Type",
                                                                     "text/html")],
                                                         protocol="HTTP/1.1")))
    errors = _rows(mcon, "SELECT _offset, reason FROM read_warc_errors(?)", str(path))
    assert len(errors) == 1 and "exceeds max_payload_bytes" in errors[0][1]
    assert _rows(mcon, "SELECT url FROM read_warc(?)", str(path)) == [("https://small.example/",)]
    n = _rows(mcon, "SELECT count(*) FROM read_warc(?, max_payload_bytes := 64000000)",
              str(path))[0][0]
    assert n == 2


def test_record_types_and_wet_conversion_records(mcon, tmp_path):
    path = tmp_path / "t.wet"
    with open(path, "wb") as f:
        w = WARCWriter(f, gzip=False)
        w.write_record(w.create_warc_record("https://a.example/", "conversion",
                                            payload=io.BytesIO("plain text é".encode()), length=13,
                                            warc_content_type="text/plain"))
    rows = _rows(mcon, "SELECT url, content_type, payload, http_status FROM "
                       "read_warc(?, record_types := ['conversion'])", str(path))
    assert rows == [("https://a.example/", "text/plain", "plain text é".encode(), None)]
    assert _rows(mcon, "SELECT count(*) FROM read_warc(?)", str(path)) == [(0,)]
    with pytest.raises(Exception, match="record type 'bogus' is not one of"):
        mcon.execute("SELECT * FROM read_warc(?, record_types := ['bogus'])", [str(path)])


def test_a_glob_reads_every_file_and_a_missing_file_is_an_error(mcon, tmp_path, web_warc):
    src, _ = web_warc
    for i in range(2):
        (tmp_path / f"part{i}.warc.gz").write_bytes(src.read_bytes())
    per_file = _rows(mcon, "SELECT _file, count(*) FROM read_warc(?) GROUP BY ALL ORDER BY 1",
                     str(tmp_path / "*.warc.gz"))
    assert [r[0].rsplit("/", 1)[1] for r in per_file] == ["part0.warc.gz", "part1.warc.gz"]
    assert per_file[0][1] == per_file[1][1] > 40
    with pytest.raises(Exception, match="does not exist"):
        mcon.execute("SELECT * FROM read_warc(?)", [str(tmp_path / "nope.warc.gz")])
    with pytest.raises(Exception, match="no file matches"):
        mcon.execute("SELECT * FROM read_warc(?)", [str(tmp_path / "*.nope")])


def test_uncompressed_warc_resyncs_after_a_corrupt_header(tmp_path):
    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=False)
    for i in range(3):
        w.write_record(w.create_warc_record(f"https://u.example/{i}", "response",
                       payload=io.BytesIO(b"<html><p>x</p></html>"), length=21,
                       http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html")],
                                                     protocol="HTTP/1.1")))
    data = buf.getvalue()
    second = data.index(b"WARC/1.", 10)
    bad = data[:second] + b"WARC/1.0\r\nContent-Length: zz\r\n\r\nbroken\r\n\r\n" + data[second:]
    path = tmp_path / "u.warc"
    path.write_bytes(bad)
    entries = list(warc.iter_index(str(path)))
    assert [r is None for _, r in entries].count(True) == 3
    assert len(entries) == 4


def test_remote_files_are_read_through_fsspec(mcon, web_warc):
    """fsspec URLs, globs included: the memory filesystem stands in for s3:// and https://."""
    import fsspec

    src, corpus = web_warc
    fs = fsspec.filesystem("memory")
    for name in ("a", "b"):
        fs.pipe(f"/crawl/{name}.warc.gz", src.read_bytes())
    try:
        rows = _rows(mcon, "SELECT _file, count(*) FROM read_warc(?) GROUP BY ALL ORDER BY 1",
                     "memory://crawl/*.warc.gz")
        errors = _rows(mcon, "SELECT count(*) FROM read_warc_errors(?)",
                       "memory://crawl/a.warc.gz")
    finally:
        fs.rm("/crawl", recursive=True)
    good = len(corpus.pages) - 1  # the corrupt record; the truncated one is not a page
    assert rows == [("memory:///crawl/a.warc.gz", good), ("memory:///crawl/b.warc.gz", good)]
    assert errors == [(2,)]


def test_a_path_policy_applies_to_every_indexing_thread(tmp_path, web_warc):
    """Files indexed on the thread pool are checked against the caller's path policy too."""
    import pyarrow as pa

    from corpusql.udfs.paths import PathGuard, enforce

    src, _ = web_warc
    inside, outside = tmp_path / "ok", tmp_path / "no"
    inside.mkdir()
    outside.mkdir()
    for d in (inside, outside):
        (d / "x.warc.gz").write_bytes(src.read_bytes())
    files = pa.array([str(inside / "x.warc.gz"), str(outside / "x.warc.gz")])
    with enforce(PathGuard([str(inside)])):
        with pytest.raises(PermissionError, match="outside the paths allowed"):
            warc.warc_index(files)
        assert len(warc.warc_index(files[:1])[0]) > 40
    assert len(warc.warc_index(files)) == 2

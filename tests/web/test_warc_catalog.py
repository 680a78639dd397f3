"""Catalog datasets with format := 'warc': records as rows, bad records in corpusql.quarantine."""

from __future__ import annotations

import duckdb

import corpusql


def test_warc_dataset_quarantines_bad_records_with_file_and_offset(tmp_path, monkeypatch,
                                                                   web_warc):
    monkeypatch.setenv("CORPUSQL_SECRETS", str(tmp_path / "secrets.json"))
    monkeypatch.setenv("CORPUSQL_CACHE", str(tmp_path / "cache"))
    src, corpus = web_warc
    path = tmp_path / "crawl.warc.gz"
    path.write_bytes(src.read_bytes())
    con = duckdb.connect(str(tmp_path / "lake.duckdb"))
    try:
        cat = corpusql.catalog(con)
        cat.add("crawl", str(path), format="warc")
        rows = con.execute("SELECT url, _file, _row FROM crawl ORDER BY _row").fetchall()
        quarantined = con.execute("SELECT dataset, file, line, reason FROM corpusql.quarantine "
                                  "ORDER BY line").fetchall()
        direct = corpusql.connect()
        try:
            want = direct.execute("SELECT url, _offset FROM read_warc(?) ORDER BY _offset",
                                  [str(path)]).fetchall()
            errors = direct.execute("SELECT _offset, reason FROM read_warc_errors(?)",
                                    [str(path)]).fetchall()
        finally:
            direct.close()
    finally:
        con.close()
    assert [(u, o) for u, _, o in rows] == want
    assert len(errors) == 2
    assert [(d, f.rsplit("/", 1)[-1], line, r) for d, f, line, r in quarantined] == [
        ("crawl", path.name, offset, reason) for offset, reason in errors]
    # the format is also detected from the file name
    from corpusql.catalog.formats import detect

    assert detect("a/b/CC-MAIN-1.warc.gz") == "warc" and detect("x.warc.wet.gz") == "warc"

"""html_to_text and friends: boilerplate removal, charsets, non-HTML payloads, the size guard."""

from __future__ import annotations

import os
import re
import signal
from collections import Counter

import pyarrow as pa
import pytest
import warcgen

from corpusql.udfs import html as html_kernels


def _words(s: str | None) -> Counter:
    return Counter(re.findall(r"\w+", (s or "").lower()))


@pytest.fixture(scope="module")
def extracted(mcon, web_warc):
    path, corpus = web_warc
    out = {}
    for ex in html_kernels.EXTRACTORS:
        rows = mcon.execute(
            "SELECT url, h.text, h.reason, h.title, h.lang, h.charset FROM (SELECT url, "
            "html_extract(payload, charset, extractor := ?) AS h FROM read_warc(?))",
            [ex, str(path)]).fetchall()
        out[ex] = {r[0]: r[1:] for r in rows}
    return corpus, out


@pytest.mark.parametrize("extractor", html_kernels.EXTRACTORS)
def test_body_kept_boilerplate_dropped(extracted, extractor, no_network):
    """>= 95% of the document's words kept and <= 5% of the boilerplate's, on every page."""
    corpus, out = extracted
    boiler = _words(warcgen.boilerplate_text())
    checked = 0
    for page in corpus.pages:
        row = out[extractor].get(page.url)
        if page.kind != "html" or row is None:
            continue
        text = row[0]
        assert text is not None, (page.url, row[1])
        body, got = _words(page.title + " " + page.body), _words(text)
        kept = sum(min(n, got[w]) for w, n in body.items()) / sum(body.values())
        only_boiler = {w: n for w, n in boiler.items() if w not in body}
        leaked = sum(min(n, got[w]) for w, n in only_boiler.items()) / sum(only_boiler.values())
        assert kept >= 0.95, (page.url, kept)
        assert leaked <= 0.05, (page.url, leaked)
        checked += 1
    assert checked >= 45


def test_non_utf8_pages_decode_to_the_original_text(extracted):
    """Latin-1, Shift-JIS and GBK pages, declared in the header, a meta tag or not at all,
    decode to the document's own characters: no mojibake."""
    corpus, out = extracted
    seen = Counter()
    for page in corpus.pages:
        if page.kind != "html" or page.charset == "utf-8" or page.url not in out["resiliparse"]:
            continue
        text = out["resiliparse"][page.url][0]
        para = warcgen.paragraphs(page.body)[-1]
        assert para[:40] in " ".join(text.split()), (page.url, page.charset, page.declare)
        seen[(page.charset, page.declare)] += 1
    assert {c for c, _ in seen} == {"latin-1", "shift_jis", "gbk"}
    assert {d for _, d in seen} == {"header", "meta", "none"}


def test_title_and_declared_language(extracted):
    corpus, out = extracted
    for page in [p for p in corpus.pages if p.url in out["resiliparse"]][:10]:
        _, _, title, lang, _ = out["resiliparse"][page.url]
        assert title == page.title and lang == page.lang


def test_non_html_payloads_are_skipped_with_a_reason(extracted):
    corpus, out = extracted
    for page in corpus.pages:
        if page.kind != "html":
            for ex in html_kernels.EXTRACTORS:
                text, reason = out[ex][page.url][:2]
                assert text is None and reason.startswith("not HTML"), (page.url, reason)


def test_a_wrong_or_unknown_declared_charset_falls_through_to_detection(con):
    """Latin-1 bytes declared as UTF-8 (or as an unknown charset) are decoded by detection,
    never with replacement characters."""
    body = ("Die Größe der Datei wird in Bytes angegeben. Überprüfen Sie die Einträge und "
            "ändern Sie die Einstellungen für große Dateien über das Menü. ") * 6
    page = f"<html><body><article><p>{body}</p></article></body></html>".encode("latin-1")
    for declared in ("utf-8", "x-unknown"):
        h = con.execute("SELECT html_extract(?::BLOB, charset := ?)", [page, declared]
                        ).fetchall()[0][0]
        assert h["text"] is not None and "\ufffd" not in h["text"]
        assert "Größe" in h["text"] and "Überprüfen" in h["text"], h
        assert h["charset"] != "utf-8"


def test_undecodable_and_binary_payloads_get_null_and_a_reason(con):
    row = html_kernels.extract_one(b"<html>\x00\x01\x02", None, "resiliparse")
    assert row["text"] is None and row["reason"].startswith("not HTML: binary")
    text, reason = html_kernels.decode_html(b"\xff\xfe\xfa" * 3, "utf-8")
    assert text is not None or reason.startswith("undecodable")
    got = con.execute("SELECT html_to_text(?::BLOB), html_extract_reason(?::BLOB)",
                      [b"\x89PNG\x00\x00", b"\x89PNG\x00"]).fetchall()
    assert got[0][0] is None and got[0][1].startswith("not HTML")


def test_a_page_above_max_html_bytes_is_not_parsed(con):
    big = b"<html><body><p>" + b"word " * (10 * 1024 * 1024) + b"</p></body></html>"
    reason = con.execute("SELECT html_extract_reason(?::BLOB)", [big]).fetchall()[0][0]
    assert "exceeds max_html_bytes" in reason
    text = html_kernels.html_to_text(pa.array([b"<html><p>a b c</p></html>"]))
    assert text.to_pylist() == ["a b c"]


def test_unknown_extractor_is_refused_naming_the_choices(con):
    with pytest.raises(Exception, match="extractor = 'soup' is not one of"):
        con.execute("SELECT html_to_text('<p>x</p>'::BLOB, extractor := 'soup')").fetchall()


def _payloads(mcon, web_warc, copies: int):
    path, _ = web_warc
    rows = mcon.execute("SELECT payload, charset FROM read_warc(?) ORDER BY _offset",
                        [str(path)]).fetchall()
    rows = rows * copies
    return pa.array([r[0] for r in rows], pa.binary()), pa.array([r[1] for r in rows], pa.string())


@pytest.mark.parametrize("extractor", html_kernels.EXTRACTORS)
def test_worker_processes_give_the_rows_extracted_in_process(mcon, web_warc, extractor,
                                                             monkeypatch):
    """A call's rows split over worker processes come back complete, in order, and equal to the
    rows extracted in the calling process (CORPUSQL_HTML_WORKERS=1)."""
    payload, charset = _payloads(mcon, web_warc, 3)
    assert len(payload) >= html_kernels.MIN_PROCESS_ROWS
    monkeypatch.setenv(html_kernels.WORKERS_ENV, "1")
    here = html_kernels.html_extract(payload, charset, extractor=extractor).to_pylist()
    monkeypatch.setenv(html_kernels.WORKERS_ENV, "3")
    split = html_kernels.html_extract(payload, charset, extractor=extractor).to_pylist()
    assert len(html_kernels._pools[0].procs) == 2  # two workers besides the calling process
    assert split == here
    assert sum(r is not None and r["text"] is not None for r in split) >= 45 * 3


def test_a_killed_worker_is_an_error_naming_the_knob_then_workers_restart(mcon, web_warc,
                                                                          monkeypatch):
    payload, charset = _payloads(mcon, web_warc, 2)
    monkeypatch.setenv(html_kernels.WORKERS_ENV, "2")
    want = html_kernels.html_extract(payload, charset).to_pylist()
    proc = html_kernels._pools[0].procs[0]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with pytest.raises(RuntimeError, match="worker process died.*CORPUSQL_HTML_WORKERS=1"):
        html_kernels.html_extract(payload, charset)
    assert not html_kernels._pools
    assert html_kernels.html_extract(payload, charset).to_pylist() == want  # new workers
    assert html_kernels._pools[0].procs[0].pid != proc.pid

"""read_warc_text: fetch, parse and extract in one UDF whose worker processes read the files.

The rows must equal ``html_extract(payload, charset)`` over ``read_warc`` (the two-step path),
whatever the number of worker processes.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from corpusql.udfs import html as html_kernels
from corpusql.udfs import warc

_TWO_STEP = """
    SELECT url, warc_record_id, warc_date, content_type, http_status, charset,
           h.text, h.reason, h.title, h.lang, h.charset, _file, _offset
    FROM (SELECT *, html_extract(payload, charset, extractor := ?) AS h FROM read_warc(?))
    ORDER BY _file, _offset"""
_FUSED = """
    SELECT url, warc_record_id, warc_date, content_type, http_status, charset,
           text, reason, title, lang, decoded_charset, _file, _offset
    FROM read_warc_text(?, extractor := ?{}) ORDER BY _file, _offset"""
#: single_pass_bytes: the default (every record of these files in the single pass), 0 (none:
#: index, then read again by offset) and a budget that runs out part-way through the first file.
_SINGLE_PASS = [None, 0, 40_000]


def _fused(single_pass):
    return _FUSED.format("" if single_pass is None else f", single_pass_bytes := {single_pass}")


@pytest.fixture
def warcs(web_warc, tmp_path):
    """Three copies of the tests' WARC (a glob over several files)."""
    path, _ = web_warc
    data = path.read_bytes()
    for i in range(3):
        (tmp_path / f"part{i}.warc.gz").write_bytes(data)
    return str(tmp_path / "*.warc.gz")


@pytest.mark.parametrize("single_pass", _SINGLE_PASS)
@pytest.mark.parametrize("workers", ["1", "2", "3"])
@pytest.mark.parametrize("extractor", html_kernels.EXTRACTORS)
def test_rows_equal_html_extract_over_read_warc(mcon, warcs, extractor, workers, single_pass,
                                                monkeypatch):
    """Every record, the damaged file's corrupt and truncated ones left out, lineage included."""
    monkeypatch.setenv(html_kernels.WORKERS_ENV, "1")
    want = mcon.execute(_TWO_STEP, [extractor, warcs]).fetchall()
    monkeypatch.setenv(html_kernels.WORKERS_ENV, workers)
    got = mcon.execute(_fused(single_pass), [warcs, extractor]).fetchall()
    assert len(want) >= 3 * 50 >= html_kernels.MIN_PROCESS_ROWS
    assert sum(r[6] is not None for r in got) >= 3 * 45
    assert got == want
    if workers != "1":  # the records were read and extracted in worker processes too
        assert len(html_kernels._pools[0].procs) == int(workers) - 1


def test_errors_are_the_same_records_read_warc_leaves_out(con, tmp_path):
    import warcgen

    path = tmp_path / "damaged.warc.gz"
    warcgen.build(path)  # damaged=True by default: a corrupt and a truncated record
    n_text = con.execute("SELECT count(*) FROM read_warc_text(?)", [str(path)]).fetchall()
    n_warc = con.execute("SELECT count(*) FROM read_warc(?)", [str(path)]).fetchall()
    assert n_text == n_warc
    assert con.execute("SELECT count(*) FROM read_warc_errors(?)", [str(path)]).fetchall()[0][0]


def test_a_killed_worker_is_an_error_naming_the_knob_then_workers_restart(mcon, warcs,
                                                                          monkeypatch):
    monkeypatch.setenv(html_kernels.WORKERS_ENV, "2")
    q = "SELECT count(text), sum(length(text)) FROM read_warc_text(?)"
    want = mcon.execute(q, [warcs]).fetchall()
    proc = html_kernels._pools[0].procs[0]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with pytest.raises(Exception, match="worker process died.*CORPUSQL_HTML_WORKERS=1"):
        mcon.execute(q, [warcs]).fetchall()
    assert mcon.execute(q, [warcs]).fetchall() == want  # new workers
    assert html_kernels._pools[0].procs[0].pid != proc.pid


def test_a_missing_file_is_an_error_naming_it(con, tmp_path):
    with pytest.raises(Exception, match="does not exist"):
        con.execute("SELECT * FROM read_warc_text(?)", [str(tmp_path / "no.warc.gz")]).fetchall()


def test_the_calling_process_applies_the_path_policy_before_the_workers_read(web_warc, tmp_path,
                                                                           monkeypatch):
    """The workers have no path policy: a file outside the caller's policy is refused first."""
    import pyarrow as pa

    from corpusql.udfs import paths, warc_text

    path, _ = web_warc
    monkeypatch.setenv(html_kernels.WORKERS_ENV, "2")
    files = pa.array([str(path)] * 80)
    offsets = pa.array([0] * 80, pa.int64())
    with paths.enforce(paths.PathGuard([str(tmp_path)])):
        with pytest.raises(PermissionError, match="read_warc_text: WARC file .* is outside"):
            warc_text.warc_extract(files, offsets)


@pytest.mark.parametrize("single_pass", [None, 0])
def test_the_single_pass_reads_each_file_once(mcon, warcs, single_pass, monkeypatch, spy):
    """With the default budget each file is opened once (indexed and extracted in one pass);
    with single_pass_bytes := 0 it is indexed, then opened again to read records by offset."""
    monkeypatch.setenv(html_kernels.WORKERS_ENV, "1")
    opened = spy(warc, "open_file")  # the files this process opens
    q = f"SELECT count(*), count(text) FROM ({_fused(single_pass)})"
    n, ok = mcon.execute(q, [warcs, "resiliparse"]).fetchall()[0]
    assert n >= 3 * 50 and ok >= 3 * 45
    assert len(set(opened)) == 3
    if single_pass is None:
        assert sorted(opened) == sorted(set(opened))
    else:
        assert len(opened) >= 6


def test_worker_processes_each_read_whole_files(mcon, warcs, monkeypatch, spy):
    """Three files, three processes: the calling process opens one file once, the workers the
    two others (parallel over files; only rows cross the pipes)."""
    monkeypatch.setenv(html_kernels.WORKERS_ENV, "3")
    opened = spy(warc, "open_file")  # the files this process opens
    got = mcon.execute(_fused(None), [warcs, "resiliparse"]).fetchall()
    assert len(opened) == 1
    assert {r[11] for r in got} == {str(p) for p in sorted(Path(warcs).parent.glob("*.warc.gz"))}


def test_single_pass_bytes_must_not_be_negative(con, web_warc):
    path, _ = web_warc
    with pytest.raises(Exception, match="single_pass_bytes"):
        con.execute("SELECT count(*) FROM read_warc_text(?, single_pass_bytes := -1)",
                    [str(path)]).fetchall()


def test_remote_files_are_read_in_the_calling_process(mcon, web_warc, monkeypatch):
    """fsspec URLs (no credentials in the workers): same rows as the two-step path."""
    import fsspec

    src, _ = web_warc
    fs = fsspec.filesystem("memory")
    for name in ("a", "b"):
        fs.pipe(f"/crawl20/{name}.warc.gz", src.read_bytes())
    monkeypatch.setenv(html_kernels.WORKERS_ENV, "2")
    try:
        want = mcon.execute(_TWO_STEP, ["resiliparse", "memory://crawl20/*.warc.gz"]).fetchall()
        got = mcon.execute(_fused(None), ["memory://crawl20/*.warc.gz", "resiliparse"]).fetchall()
    finally:
        fs.rm("/crawl20", recursive=True)
    assert len(want) > 80
    assert got == want


def test_the_calling_process_applies_the_path_policy_before_the_single_pass(web_warc, tmp_path,
                                                                          monkeypatch):
    """warc_scan (the single pass) checks every local file before a worker opens it."""
    import pyarrow as pa

    from corpusql.udfs import paths, warc_text

    path, _ = web_warc
    monkeypatch.setenv(html_kernels.WORKERS_ENV, "2")
    with paths.enforce(paths.PathGuard([str(tmp_path)])):
        with pytest.raises(PermissionError, match="read_warc_text: WARC file .* is outside"):
            warc_text.warc_scan(pa.array([str(path)] * 2))


def test_an_error_in_the_calling_process_share_leaves_the_workers_in_step(mcon, warcs,
                                                                          monkeypatch):
    """Every process fails a bad call; the workers' answers are read even so, so the next call
    gets its own rows (not the failed call's errors), and a missing file is named as such."""
    import pyarrow as pa

    from corpusql.udfs import warc_text

    monkeypatch.setenv(html_kernels.WORKERS_ENV, "3")
    with pytest.raises(Exception, match="record type 'bogus' is not one of"):
        mcon.execute("SELECT count(text) FROM read_warc_text(?, record_types := ['bogus'])",
                     [warcs]).fetchall()
    q = "SELECT count(*), count(text) FROM read_warc_text(?)"
    n, ok = mcon.execute(q, [warcs]).fetchall()[0]
    assert n >= 3 * 50 and ok >= 3 * 45
    files = [str(p) for p in sorted(Path(warcs).parent.glob("*.warc.gz"))]
    with pytest.raises(FileNotFoundError):  # the calling process's share: not a dead worker
        warc_text.warc_scan(pa.array(["memory://nowhere/x.warc.gz", *files[:2]]))
    assert mcon.execute(q, [warcs]).fetchall()[0] == (n, ok)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_uncompressed_files_with_a_corrupt_header_and_an_oversized_record(mcon, tmp_path,
                                                                          workers, monkeypatch):
    """The single pass resynchronizes and refuses oversized records as the index pass does."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    for k in range(2):
        buf = io.BytesIO()
        w = WARCWriter(buf, gzip=False)
        for i in range(4):
            words = f"page {i} of file {k} " * (40 + 200 * i)
            body = f"<html><body><article><p>{words}"
            body = (body + "</p></article></body></html>").encode()
            w.write_record(w.create_warc_record(
                f"https://u.example/{k}/{i}", "response", payload=io.BytesIO(body),
                length=len(body), http_headers=StatusAndHeaders(
                    "200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")))
        data = buf.getvalue()
        second = data.index(b"WARC/1.", 10)
        bad = b"WARC/1.0\r\nContent-Length: zz\r\n\r\nbroken\r\n\r\n"
        (tmp_path / f"u{k}.warc").write_bytes(data[:second] + bad + data[second:])
    glob, limit = str(tmp_path / "*.warc"), 10_000  # the last record of each file is larger
    monkeypatch.setenv(html_kernels.WORKERS_ENV, "1")
    two_step = _TWO_STEP.replace("read_warc(?)", f"read_warc(?, max_payload_bytes := {limit})")
    want = mcon.execute(two_step, ["resiliparse", glob]).fetchall()
    monkeypatch.setenv(html_kernels.WORKERS_ENV, workers)
    fused = _fused(None).replace("extractor := ?", f"extractor := ?, max_payload_bytes := {limit}")
    got = mcon.execute(fused, [glob, "resiliparse"]).fetchall()
    errors = mcon.execute("SELECT reason FROM read_warc_errors(?, max_payload_bytes := ?)",
                          [glob, limit]).fetchall()
    assert len(want) == 2 * 3
    assert sum(r[6] is not None for r in got) == 6
    assert got == want
    assert sum("exceeds max_payload_bytes" in r[0] for r in errors) == 2

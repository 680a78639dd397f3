"""read_warc_text: fetch, parse and extract in one UDF whose worker processes read the files.

The rows must equal ``html_extract(payload, charset)`` over ``read_warc`` (the two-step path),
whatever the number of worker processes.
"""

from __future__ import annotations

import os
import signal

import pytest

from corpusql.udfs import html as html_kernels

_TWO_STEP = """
    SELECT url, warc_record_id, warc_date, content_type, http_status, charset,
           h.text, h.reason, h.title, h.lang, h.charset, _file, _offset
    FROM (SELECT *, html_extract(payload, charset, extractor := ?) AS h FROM read_warc(?))
    ORDER BY _file, _offset"""
_FUSED = """
    SELECT url, warc_record_id, warc_date, content_type, http_status, charset,
           text, reason, title, lang, decoded_charset, _file, _offset
    FROM read_warc_text(?, extractor := ?) ORDER BY _file, _offset"""


@pytest.fixture
def warcs(web_warc, tmp_path):
    """Three copies of the tests' WARC (a glob over several files)."""
    path, _ = web_warc
    data = path.read_bytes()
    for i in range(3):
        (tmp_path / f"part{i}.warc.gz").write_bytes(data)
    return str(tmp_path / "*.warc.gz")


@pytest.mark.parametrize("workers", ["1", "2", "3"])
@pytest.mark.parametrize("extractor", html_kernels.EXTRACTORS)
def test_rows_equal_html_extract_over_read_warc(mcon, warcs, extractor, workers, monkeypatch):
    monkeypatch.setenv(html_kernels.WORKERS_ENV, "1")
    want = mcon.execute(_TWO_STEP, [extractor, warcs]).fetchall()
    monkeypatch.setenv(html_kernels.WORKERS_ENV, workers)
    got = mcon.execute(_FUSED, [warcs, extractor]).fetchall()
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

"""Web archives as tables: ``read_warc``, ``read_warc_errors`` and ``url_blocked`` on a connection.

DuckDB has no Python table functions, so ``read_warc`` is a TEMP table macro over three
UDFs bound through the binder (:data:`WEB_IO`, kept out of the generic registry because they read
files): ``warc_files`` expands the path or glob (local or fsspec URL), ``warc_index`` reads each
file once and lists its records' offsets with a reason for each unusable one, ``warc_fetch``
parses the good records by offset, one vector (at most 2048 records, each at most
``max_payload_bytes``) at a time. Memory is therefore bounded by one vector of records per
thread whatever the file size; the query holds no full file. ``warc_index`` indexes the files
of a call on a thread per core; ``html_extract`` splits each vector over the calling process and
a worker process per further core (``CORPUSQL_HTML_WORKERS``; see corpusql.udfs.html).

``read_warc_text`` is ``read_warc`` with ``html_extract``, in one pass over each file where it can:
``warc_scan`` spreads the files, whole, over the calling process and the extraction workers,
each of which indexes, reads and extracts its files' records and returns the rows (up to
``single_pass_bytes`` of them per process and call); the records it left out are read again by
offset and extracted by ``warc_extract``, which spreads them over the same processes by (file,
offset). See corpusql.udfs.warc_text.

``read_warc_errors`` gives the records ``read_warc`` leaves out (``_file``, ``_offset``,
``reason``): truncated, corrupt or oversized records; this is the quarantine of a WARC read
outside the catalog.
"""

from __future__ import annotations

import duckdb

from corpusql.udfs import html, warc, warc_text

from .registry import Param, Registry, fn

_RECORD_TYPES = Param("record_types", "VARCHAR[]", ["response"], column=False)
_MAX_PAYLOAD = Param("max_payload_bytes", "BIGINT", warc.MAX_PAYLOAD_BYTES, column=False, low=1)
_INDEX_TYPE = "STRUCT(record_offset BIGINT, reason VARCHAR)[]"
_RECORD_TYPE = ("STRUCT(url VARCHAR, warc_record_id VARCHAR, warc_date VARCHAR, "
                "content_type VARCHAR, http_status INTEGER, charset VARCHAR, payload BLOB)")
_TEXT_TYPE = ("STRUCT(url VARCHAR, warc_record_id VARCHAR, warc_date VARCHAR, "
              "content_type VARCHAR, http_status INTEGER, charset VARCHAR, text VARCHAR, "
              "reason VARCHAR, title VARCHAR, lang VARCHAR, decoded_charset VARCHAR)")

WEB_IO = Registry([
    fn("warc_files", warc.warc_files, [Param("pattern", "VARCHAR")], "VARCHAR[]"),
    fn("warc_index", warc.warc_index, [Param("path", "VARCHAR"), _RECORD_TYPES, _MAX_PAYLOAD],
       _INDEX_TYPE),
    fn("warc_fetch", warc.warc_fetch,
       [Param("path", "VARCHAR"), Param("record_offset", "BIGINT")],
       _RECORD_TYPE),
    fn("warc_extract", warc_text.warc_extract,
       [Param("path", "VARCHAR"), Param("record_offset", "BIGINT"),
        Param("extractor", "VARCHAR", "resiliparse", column=False, choices=html.EXTRACTORS),
        Param("max_html_bytes", "BIGINT", html.MAX_HTML_BYTES, column=False, low=1)],
       _TEXT_TYPE),
    fn("warc_scan", warc_text.warc_scan,
       [Param("path", "VARCHAR"), _RECORD_TYPES, _MAX_PAYLOAD,
        Param("extractor", "VARCHAR", "resiliparse", column=False, choices=html.EXTRACTORS),
        Param("max_html_bytes", "BIGINT", html.MAX_HTML_BYTES, column=False, low=1),
        Param("single_pass_bytes", "BIGINT", warc_text.SINGLE_PASS_BYTES, column=False, low=0)],
       f"STRUCT(record_offset BIGINT, reason VARCHAR, r {_TEXT_TYPE})[]"),
])

_INDEX = """
    WITH files AS (SELECT unnest(warc_files(path)) AS _file),
    entries AS (
        SELECT _file, unnest(warc_index(_file, record_types := record_types,
                                        max_payload_bytes := max_payload_bytes)) AS e
        FROM files
    )"""

MACROS = [
    f"""CREATE OR REPLACE TEMP MACRO read_warc(path, record_types := ['response'],
        max_payload_bytes := {warc.MAX_PAYLOAD_BYTES}) AS TABLE
    {_INDEX},
    records AS (
        SELECT _file, e.record_offset AS _offset, warc_fetch(_file, e.record_offset) AS r
        FROM entries WHERE e.reason IS NULL
    )
    SELECT r.url, r.warc_record_id, r.warc_date, r.content_type, r.http_status, r.charset,
           r.payload, _file, _offset
    FROM records""",
    f"""CREATE OR REPLACE TEMP MACRO read_warc_text(path, extractor := 'resiliparse',
        record_types := ['response'], max_payload_bytes := {warc.MAX_PAYLOAD_BYTES},
        max_html_bytes := {html.MAX_HTML_BYTES},
        single_pass_bytes := {warc_text.SINGLE_PASS_BYTES}) AS TABLE
    WITH files AS (SELECT unnest(warc_files(path)) AS _file),
    entries AS (
        SELECT _file, unnest(warc_scan(_file, record_types := record_types,
                                       max_payload_bytes := max_payload_bytes,
                                       extractor := extractor, max_html_bytes := max_html_bytes,
                                       single_pass_bytes := single_pass_bytes)) AS e
        FROM files
    ),
    records AS (
        SELECT _file, e.record_offset AS _offset,
               coalesce(e.r, warc_extract(_file, e.record_offset, extractor := extractor,
                                          max_html_bytes := max_html_bytes)) AS r
        FROM entries WHERE e.reason IS NULL
    )
    SELECT r.url, r.warc_record_id, r.warc_date, r.content_type, r.http_status, r.charset,
           r.text, r.reason, r.title, r.lang, r.decoded_charset, _file, _offset
    FROM records""",
    f"""CREATE OR REPLACE TEMP MACRO read_warc_errors(path, record_types := ['response'],
        max_payload_bytes := {warc.MAX_PAYLOAD_BYTES}) AS TABLE
    {_INDEX}
    SELECT _file, e.record_offset AS _offset, e.reason FROM entries WHERE e.reason IS NOT NULL
    ORDER BY _file, _offset""",
    """CREATE OR REPLACE TEMP MACRO url_blocked(url, blocklist_table, domain_col := 'domain') AS
    url_domain_blocked(url, domains := (SELECT list(b[domain_col]) FROM query_table(
        blocklist_table) AS b))""",
]

COMMENTS = {
    "read_warc": "Records of WARC/WET files (path or glob, local or fsspec URL): url, "
                 "warc_record_id, warc_date, content_type, http_status, charset, payload, _file, "
                 "_offset. Truncated, corrupt and oversized records are left out and listed by "
                 "read_warc_errors.",
    "read_warc_text": "read_warc with html_extract in one pass per file (files spread over the "
                      "extraction worker processes; single_pass_bytes of rows per process and "
                      "call, the rest read again by offset): url, warc_record_id, "
                      "warc_date, content_type, http_status, charset, text, reason, title, lang, "
                      "decoded_charset, _file, _offset; rows equal html_extract(payload, charset) "
                      "over read_warc.",
    "read_warc_errors": "The records read_warc leaves out, with why: _file, _offset, reason.",
    "url_blocked": "True when the URL's host or a parent domain is in column domain_col of the "
                   "blocklist table (domains and their subdomains are blocked).",
}


def bind_web(con: duckdb.DuckDBPyConnection, guard=None) -> None:
    """Bind the WARC reader UDFs and the web macros on ``con``."""
    from .binder import bind
    from .registry import sql_literal

    bind(con, WEB_IO, guard=guard)
    for sql in MACROS:
        con.execute(sql)
    for name, comment in COMMENTS.items():
        kind = "MACRO" if name == "url_blocked" else "MACRO TABLE"
        con.execute(f"COMMENT ON {kind} {name} IS {sql_literal(comment)}")

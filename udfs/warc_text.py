"""read_warc_text's kernel: fetch, parse and extract WARC records by (file, offset) in one step.

``read_warc`` followed by ``html_extract`` parses each record in the calling process and then
ships its payload to an extraction worker process. :func:`warc_extract` ships only file names
and offsets: each process (the calling one and the ``python -m corpusql.udfs.html`` workers,
``CORPUSQL_HTML_WORKERS``) reads its own contiguous share of a vector's records from the file
(``corpusql.udfs.warc.fetch_records``, one sequential read per file) and extracts them
(``corpusql.udfs.html.extract_one``), so reading and parsing run on every core too and no
payload crosses a pipe. The rows equal ``html_extract(payload, charset)`` over ``read_warc``.

Local files only go to the workers, after the calling process has checked each against its path
policy (``corpusql.udfs.paths``; a worker has none); a vector with an fsspec URL in it is read and
extracted in the calling process (a worker has none of the caller's filesystems or credentials).
"""

from __future__ import annotations

import pyarrow as pa

from . import html, paths, warc

EXTRACT_FIELDS = [f for f in warc.RECORD_FIELDS if f[0] != "payload"] + [
    ("text", pa.string()), ("reason", pa.string()), ("title", pa.string()),
    ("lang", pa.string()), ("decoded_charset", pa.string()),
]


def fetch_extract(groups: list, extractor: str, max_html_bytes: int) -> list[dict]:
    """The rows of ``groups`` [(file, ascending offsets)], in order: the unit of work of a process.

    Each row is the record's columns (:data:`EXTRACT_FIELDS`) with the payload replaced by
    ``html.extract_one``'s text, reason, title, lang and charset (as ``decoded_charset``).
    """
    out = []
    for path, offsets in groups:
        for rec in warc.fetch_records(path, offsets):
            h = html.extract_one(rec.pop("payload"), rec["charset"], extractor, max_html_bytes)
            rec.update(text=h["text"], reason=h["reason"], title=h["title"], lang=h["lang"],
                       decoded_charset=h["charset"])
            out.append(rec)
    return out


def _groups(items: list) -> list:
    """[(file, offset)] sorted by file then offset -> [(file, [offsets])]."""
    groups: list = []
    for p, o in items:
        if groups and groups[-1][0] == p:
            groups[-1][1].append(o)
        else:
            groups.append((p, [o]))
    return groups


def warc_extract(path: pa.Array, record_offset: pa.Array, *, extractor: str = "resiliparse",
                 max_html_bytes: int = html.MAX_HTML_BYTES) -> pa.Array:
    """The record at each (file, offset) with its payload's main-content text instead of it.

    Columns: url, warc_record_id, warc_date, content_type, http_status, charset (as
    ``warc_fetch``), then text, reason, title, lang, decoded_charset (``html_extract``'s text,
    reason, title, lang and charset). A vector's records are read and extracted by the calling
    process and the extraction workers, each its contiguous share in file and offset order.
    """
    if extractor not in html.EXTRACTORS:
        raise ValueError(f"read_warc_text: extractor {extractor!r} is not one of "
                         f"{', '.join(html.EXTRACTORS)}")
    files, offsets = path.to_pylist(), record_offset.to_pylist()
    order = sorted(range(len(files)), key=lambda i: (files[i], offsets[i]))
    items = [(files[i], offsets[i]) for i in order]
    remote = False
    for f in dict.fromkeys(files):
        if "://" in f and not f.startswith("file://"):
            remote = True
        else:  # the workers have no path policy: the calling process checks every file
            paths.check(f.removeprefix("file://"), "read_warc_text", "WARC")
    workers = html._workers()
    if remote or workers == 1 or len(items) < html.MIN_PROCESS_ROWS:
        rows = fetch_extract(_groups(items), extractor, max_html_bytes)
    else:
        size = -(-len(items) // workers)
        chunks = [_groups(items[i:i + size]) for i in range(0, len(items), size)]
        parts = html._pool(workers - 1).run("warc_text", chunks, extractor, max_html_bytes)
        rows = [row for part in parts for row in part]
    out: list = [None] * len(files)
    for i, row in zip(order, rows):
        out[i] = row
    return pa.array(out, pa.struct(EXTRACT_FIELDS))

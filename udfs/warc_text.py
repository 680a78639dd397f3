"""read_warc_text's kernels: one pass over each file that indexes, reads and extracts its records
(:func:`warc_scan`), and a second pass by (file, offset) for what the first did not keep
(:func:`warc_extract`).

:func:`warc_scan` takes a call's files and spreads them over the calling process and the
extraction workers (``CORPUSQL_HTML_WORKERS``), whole files each, largest first to the least
loaded process. Each process streams its files once (``corpusql.udfs.warc.scan``): every record
is validated as the index pass validates it, and each usable one is parsed and extracted while
the process's share of ``single_pass_bytes`` (the strings of the rows it has kept in this call)
lasts; the others are returned as offsets only. Each process builds its rows as an Arrow array, so
only those cross the pipe and the calling process does little but concatenate them. Memory is
bounded by ``single_pass_bytes`` per process per call (plus one record, at most
``max_payload_bytes``); ``single_pass_bytes := 0`` makes every record take the second pass.

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

import os

import pyarrow as pa

from . import html, paths, warc

EXTRACT_FIELDS = [f for f in warc.RECORD_FIELDS if f[0] != "payload"] + [
    ("text", pa.string()), ("reason", pa.string()), ("title", pa.string()),
    ("lang", pa.string()), ("decoded_charset", pa.string()),
]
#: The entries of one file in :func:`warc_scan`: each record's offset, reason (NULL when usable)
#: and, when the single pass kept it, its row (else NULL: read again by offset).
SCAN_TYPE = pa.list_(pa.struct([("record_offset", pa.int64()), ("reason", pa.string()),
                                ("r", pa.struct(EXTRACT_FIELDS))]))
#: Rows a process holds as Python objects before it moves them into Arrow arrays.
_BATCH = 256
#: Default for ``single_pass_bytes``: what one process keeps from its single pass in one call.
SINGLE_PASS_BYTES = 64 * 1024 * 1024


def _extracted(rec: dict, extractor: str, max_html_bytes: int) -> dict:
    """A :data:`warc.RECORD_FIELDS` row with its payload replaced by ``extract_one``'s columns."""
    h = html.extract_one(rec.pop("payload"), rec["charset"], extractor, max_html_bytes)
    rec.update(text=h["text"], reason=h["reason"], title=h["title"], lang=h["lang"],
               decoded_charset=h["charset"])
    return rec


def scan_files(files: list, record_types: tuple, max_payload_bytes: int, extractor: str,
               max_html_bytes: int, single_pass_bytes: int) -> pa.Array:
    """The :data:`SCAN_TYPE` entries of each file, in order: a process's unit of single-pass work.

    Rows are kept while the strings of the rows kept so far total less than
    ``single_pass_bytes`` (the record that crosses it is kept too).
    """
    left = [single_pass_bytes]

    def keep() -> bool:
        return left[0] > 0

    entry_type = SCAN_TYPE.value_type
    parts, pending, offsets = [], [], [0]
    count = 0
    for path in files:
        for offset, reason, rec in warc.scan(path, record_types, max_payload_bytes, keep):
            row = None
            if rec is not None:
                row = _extracted(rec, extractor, max_html_bytes)
                left[0] -= sum(len(v) for v in row.values() if isinstance(v, str))
            pending.append({"record_offset": offset, "reason": reason, "r": row})
            if len(pending) == _BATCH:  # few Python objects alive: the rows move to Arrow
                parts.append(pa.array(pending, entry_type))
                pending = []
            count += 1
        offsets.append(count)
    parts.append(pa.array(pending, entry_type))
    values = pa.concat_arrays(parts)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values, type=SCAN_TYPE)


def _assign(files: list, sizes: list, n: int) -> list[list[int]]:
    """Indexes of ``files`` per process (n bins): largest first to the least loaded bin, ties to
    the lowest bin; each bin's indexes ascending (deterministic)."""
    bins: list[list[int]] = [[] for _ in range(n)]
    load = [0] * n
    for i in sorted(range(len(files)), key=lambda i: -sizes[i]):
        b = min(range(n), key=lambda b: (load[b], b))
        bins[b].append(i)
        load[b] += sizes[i] + 1
    return [sorted(b) for b in bins]


def warc_scan(path: pa.Array, *, record_types=("response",),
              max_payload_bytes: int = warc.MAX_PAYLOAD_BYTES, extractor: str = "resiliparse",
              max_html_bytes: int = html.MAX_HTML_BYTES,
              single_pass_bytes: int = SINGLE_PASS_BYTES) -> pa.Array:
    """The records of each WARC/WET file in one pass: (offset, reason, row or NULL) per record.

    Offsets and reasons are ``warc_index``'s; the row (``warc_extract``'s columns) is present for
    the usable records the pass kept (see the module docstring: ``single_pass_bytes`` per process
    per call) and NULL for those left to ``warc_extract``. Local files are spread, whole, over
    the calling process and the extraction workers; fsspec URLs are read in the calling process.
    """
    if extractor not in html.EXTRACTORS:
        raise ValueError(f"read_warc_text: extractor {extractor!r} is not one of "
                         f"{', '.join(html.EXTRACTORS)}")
    files = path.to_pylist()
    types = tuple(record_types or ())
    args = (types, max_payload_bytes, extractor, max_html_bytes, single_pass_bytes)
    remote = {i for i, f in enumerate(files) if "://" in f and not f.startswith("file://")}
    local = [i for i in range(len(files)) if i not in remote]
    for i in local:  # the workers have no path policy: the calling process checks every file
        paths.check(files[i].removeprefix("file://"), "read_warc_text", "WARC")
    workers = min(html._workers(), len(local))
    if workers <= 1:
        return scan_files(files, *args)
    sizes = [os.path.getsize(files[i].removeprefix("file://")) for i in local]
    bins = [[local[j] for j in b] for b in _assign(local, sizes, workers)]
    bins[0] = sorted(remote.union(bins[0]))  # the calling process reads the fsspec URLs
    parts = html._pool(html._workers() - 1).run(
        "warc_scan", [[files[i] for i in b] for b in bins], *args)
    out = pa.concat_arrays(parts)
    order = [i for b in bins for i in b]
    if order == sorted(order):
        return out
    return out.take(pa.array(sorted(range(len(order)), key=order.__getitem__), pa.int64()))


def fetch_extract(groups: list, extractor: str, max_html_bytes: int) -> list[dict]:
    """The rows of ``groups`` [(file, ascending offsets)], in order: the unit of work of a process.

    Each row is the record's columns (:data:`EXTRACT_FIELDS`) with the payload replaced by
    ``html.extract_one``'s text, reason, title, lang and charset (as ``decoded_charset``).
    """
    return [_extracted(rec, extractor, max_html_bytes)
            for path, offsets in groups for rec in warc.fetch_records(path, offsets)]


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

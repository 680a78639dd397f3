"""WARC and WET files as rows: an index pass that validates every record, a fetch pass by offset.

``read_warc`` runs in two passes so that memory stays bounded whatever the file size:

1. :func:`warc_index` reads a whole file once (``fastwarc``, gzip per record or uncompressed,
   local paths or any fsspec URL) and returns, per record of the wanted types, its byte offset
   and either NULL or the reason it is unusable: a truncated record (fewer block bytes than its
   ``Content-Length``), a corrupt gzip member or header (the reader resynchronizes at the next
   gzip member or ``WARC/`` line and reads on), an HTTP response without a header end in its first 64 KiB, or a
   payload larger than ``max_payload_bytes``. Only offsets are kept: a few bytes per record.
2. :func:`warc_fetch` takes (file, offset) rows, a vector of at most 2048 at a time, and parses
   each record again: the memory held is one vector's records, each at most ``max_payload_bytes``.

Files are indexed in parallel, one per thread (one thread per core). :func:`scan` is the index
pass that can also return the records it reads (``read_warc_text``'s single pass,
corpusql.udfs.warc_text): the same offsets and reasons, rows read in the same pass.

Columns of a record (:data:`RECORD_FIELDS`): ``url`` (``WARC-Target-URI``), ``warc_record_id``,
``warc_date``, ``content_type`` (the HTTP ``Content-Type`` without parameters, or the WARC one for
records that are not HTTP, such as WET ``conversion`` records), ``http_status``, ``charset`` (the
HTTP ``Content-Type`` charset parameter, lowercased; NULL when undeclared) and ``payload`` (the
HTTP body, or the whole block for records that are not HTTP), as recorded (no content-encoding
is undone). Parser measured against warcio: see bench/RESULTS.md ("web").
"""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

from . import paths

RECORD_TYPES = ("warcinfo", "response", "resource", "request", "metadata", "revisit",
                "conversion", "continuation")
#: Default for ``max_payload_bytes``: larger records are reported, never read into memory.
MAX_PAYLOAD_BYTES = 16 * 1024 * 1024
RECORD_FIELDS = [
    ("url", pa.string()), ("warc_record_id", pa.string()), ("warc_date", pa.string()),
    ("content_type", pa.string()), ("http_status", pa.int32()), ("charset", pa.string()),
    ("payload", pa.binary()),
]
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_MAGIC = b"WARC/1."
_SCAN = 1 << 20
#: HTTP headers must end within this many bytes of a record's block.
_HTTP_HEAD = 65536
_CHARSET_RE = re.compile(rb"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.IGNORECASE)


def _fastwarc():
    try:
        from fastwarc.warc import ArchiveIterator, WarcRecordType
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ImportError("read_warc needs fastwarc: pip install fastwarc") from e
    return ArchiveIterator, WarcRecordType


def open_file(path: str):
    """A binary, seekable file object for a local path or an fsspec URL.

    Under a path policy (``corpusql.udfs.paths``), local paths outside it are refused.
    """
    if "://" in path and not path.startswith("file://"):
        import fsspec

        return fsspec.open(path, "rb").open()
    local = path.removeprefix("file://")
    paths.check(local, "read_warc", "WARC")
    return open(local, "rb")


def _type_mask(record_types) -> int:
    _, WarcRecordType = _fastwarc()
    mask = 0
    for name in record_types or ():
        if name not in RECORD_TYPES:
            raise ValueError(f"read_warc: record type {name!r} is not one of "
                             f"{', '.join(RECORD_TYPES)}")
        mask |= int(getattr(WarcRecordType, name))
    if not mask:
        raise ValueError("read_warc: record_types is empty; e.g. record_types := ['response']")
    return mask


def _http_end(block: bytes) -> tuple[int, int, int] | None:
    """(status, header end, separator length) of an HTTP response block, or None."""
    end = block.find(b"\r\n\r\n")
    sep = 4
    if end < 0:
        end, sep = block.find(b"\n\n"), 2
        if end < 0:
            return None
    nl = block.find(b"\n", 0, end)  # the status line: the head's first line
    status_line = block[:end if nl < 0 else nl].split()
    status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else None
    return None if status is None else (status, end, sep)


def split_http(block: bytes) -> tuple[int, bytes, bytes] | None:
    """(status, header bytes, body) of an HTTP response block, or None without a header end."""
    parts = _http_end(block)
    if parts is None:
        return None
    status, end, sep = parts
    return status, block[:end], block[end + sep:]


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def warc_headers(record) -> dict[str, str]:
    """A record's WARC headers by lowercased name, the first of repeated ones (as
    ``HeaderMap.get`` answers): one call instead of one ``get`` per header (measured 15x less)."""
    out: dict[str, str] = {}
    for key, value in record.headers.items():
        out.setdefault(key.lower(), value)
    return out


def _check(record, max_payload_bytes: int, keep: bool = False, headers: dict | None = None
           ) -> tuple[str | None, bytes | None]:
    """(why a record is unusable or None, its block when ``keep`` and usable, else None).

    Reads the block; without ``keep`` only its first ``_HTTP_HEAD`` bytes are copied (the rest is
    counted). The reason is the same either way. ``headers``: :func:`warc_headers` of the record.
    """
    if headers is None:
        headers = warc_headers(record)
    if "content-length" not in headers:
        return "truncated or malformed record header: no Content-Length", None
    declared = record.content_length
    if declared > max_payload_bytes:
        return (f"record of {declared} bytes exceeds max_payload_bytes = {max_payload_bytes} "
                "(raise max_payload_bytes to read it)"), None
    if keep:
        block = record.reader.read()
        got = len(block) + (record.consume() or 0)
        head = block if len(block) <= _HTTP_HEAD else block[:_HTTP_HEAD]
    else:
        block = None
        head = record.reader.read(min(declared, _HTTP_HEAD))  # the rest is counted, not copied
        got = len(head) + (record.consume() or 0)
    if got < declared:
        return f"truncated record: {got} of {declared} block bytes", None
    if headers.get("warc-type") in ("response", "request") and \
            (headers.get("content-type") or "").startswith("application/http"):
        if _http_end(head) is None:
            return "HTTP response without a status line or header end", None
    return None, block


def _resync(f, start: int, gzipped: bool) -> int | None:
    """The next offset after ``start`` where a record may begin (gzip member or ``WARC/``)."""
    magic = _GZIP_MAGIC if gzipped else _WARC_MAGIC
    pos = start + 1
    while True:
        f.seek(pos)
        buf = f.read(_SCAN + len(magic))
        if not buf:
            return None
        i = buf.find(magic)
        if i >= 0 and i < _SCAN + 1:
            return pos + i
        if len(buf) <= _SCAN:
            return None
        pos += _SCAN


def iter_index(path: str, record_types=("response",), max_payload_bytes: int = MAX_PAYLOAD_BYTES
               ) -> Iterator[tuple[int, str | None]]:
    """(offset, reason or None) per record of the wanted types, and per unreadable region.

    A record whose block cannot be read is reported at its own offset; when the next record's
    header cannot be read, the region is reported at the next gzip member (or ``WARC/`` line)
    after the last good record. Reading goes on from the next member after the bad one.
    """
    for offset, reason, _ in scan(path, record_types, max_payload_bytes):
        yield offset, reason


def scan(path: str, record_types=("response",), max_payload_bytes: int = MAX_PAYLOAD_BYTES,
         keep: Callable[[], bool] | None = None
         ) -> Iterator[tuple[int, str | None, dict | None]]:
    """:func:`iter_index` with the records themselves: (offset, reason or None, row or None).

    ``keep`` is asked before each usable record is read: when it returns True the row is the
    record's :data:`RECORD_FIELDS` (as ``warc_fetch`` gives it), read in the same pass; else the
    row is None (the record is only indexed). Offsets and reasons do not depend on ``keep``.
    """
    ArchiveIterator, _ = _fastwarc()
    mask = _type_mask(record_types)
    with open_file(path) as f:
        gzipped = f.read(3) == _GZIP_MAGIC
        pos: int | None = 0
        pending = None  # (offset, reason) of an unreadable region, yielded before what follows
        suspect = None  # (last good offset, error) when reading failed after a good record
        while pos is not None:
            f.seek(pos)
            last, stage = None, "next"
            try:
                records = iter(ArchiveIterator(f, parse_http=False))
                while True:
                    stage = "next"
                    record = next(records, None)
                    if record is None:
                        pos = None
                        break
                    last, stage = record.stream_pos, "read"
                    if suspect is not None:  # the bytes between were unreadable, not a record
                        pending = pending or (suspect[0], "unreadable data after the record at "
                                              f"this offset: {suspect[1]}")
                        suspect = None
                    wanted = int(record.record_type) & mask
                    reason = row = None
                    if wanted:
                        headers = warc_headers(record)
                        reason, block = _check(record, max_payload_bytes,
                                               keep is not None and keep(), headers)
                        if block is not None:
                            row = _record_row(record, block, headers)
                    if pending is not None:
                        yield (*pending, None)
                        pending = None
                    if wanted:
                        yield last, reason, row
            except OSError as e:
                if stage == "read":
                    bad = last
                elif last is None:
                    bad = pos
                else:  # try the next record start after the last good record first
                    suspect = (last, e)
                    pos = _resync(f, last, gzipped)
                    continue
                if pending is None:
                    pending = (bad, f"corrupt or unreadable record: {e}")
                suspect = None
                pos = _resync(f, bad, gzipped)
        if pending is None and suspect is not None:
            pending = (suspect[0], f"unreadable data after the record at this offset: {suspect[1]}")
        if pending is not None:
            yield (*pending, None)


def warc_files(pattern: pa.Array) -> pa.Array:
    """The files a path or glob names (local or any fsspec URL), sorted; an error if none.

    A pattern without glob characters names one file, which must exist.
    """
    import fsspec

    out = []
    for p in pattern.to_pylist():
        if p is None:
            out.append(None)
            continue
        if not any(c in p for c in "*?["):
            files = [p]
            fs, _, paths = fsspec.get_fs_token_paths(p)
            if not fs.exists(paths[0]):
                raise ValueError(f"read_warc: file {p} does not exist")
        else:
            fs, _, paths = fsspec.get_fs_token_paths(p)
            protocol = p.split("://", 1)[0] + "://" if "://" in p else ""
            files = sorted(protocol + q if protocol and not q.startswith(protocol) else q
                           for q in paths)
            if not files:
                raise ValueError(f"read_warc: no file matches {p}")
        out.append(files)
    return pa.array(out, pa.list_(pa.string()))


def warc_index(path: pa.Array, *, record_types=("response",),
               max_payload_bytes: int = MAX_PAYLOAD_BYTES) -> pa.Array:
    """The records of each WARC/WET file: a list of (offset, reason) per file path.

    ``reason`` is NULL for a record that ``warc_fetch`` can read and names the problem for a
    truncated, corrupt or oversized one (see the module docstring). ``record_types`` lists the
    WARC-Type names to index (default ``['response']``).
    """
    types = tuple(record_types or ())

    def one(p):
        return None if p is None else [{"record_offset": o, "reason": r}
                                       for o, r in iter_index(p, types, max_payload_bytes)]

    files = path.to_pylist()
    if len(files) > 1:  # one file per thread: decompression and parsing release the GIL
        with ThreadPoolExecutor(min(len(files), os.cpu_count() or 1)) as pool:
            # each task runs in its own copy of the caller's context: a path policy applies there
            contexts = [contextvars.copy_context() for _ in files]
            out = list(pool.map(lambda c, p: c.run(one, p), contexts, files))
    else:
        out = [one(p) for p in files]
    return pa.array(out, pa.list_(pa.struct([("record_offset", pa.int64()), ("reason", pa.string())])))


def _record_row(record, block: bytes | None = None, headers: dict | None = None) -> dict:
    if block is None:
        block = record.reader.read()
    if headers is None:
        headers = warc_headers(record)
    warc_type = headers.get("warc-type")
    warc_ct = headers.get("content-type") or ""
    status = charset = None
    content_type = warc_ct.split(";")[0].strip() or None
    payload = block
    if warc_type in ("response", "request") and warc_ct.startswith("application/http"):
        parsed = split_http(block)
        if parsed is not None:
            status, head, payload = parsed
            ct = _header(head, b"content-type")
            content_type = ct.split(b";")[0].strip().decode("latin-1").lower() if ct else None
            m = _CHARSET_RE.search(ct or b"")
            charset = m.group(1).decode("ascii").lower() if m else None
    return {
        "url": headers.get("warc-target-uri"),
        "warc_record_id": headers.get("warc-record-id"),
        "warc_date": headers.get("warc-date"),
        "content_type": content_type, "http_status": status, "charset": charset,
        "payload": payload,
    }


def fetch_records(path: str, offsets: list[int]) -> list[dict]:
    """The records of ``path`` that begin at ``offsets`` (sorted ascending).

    One sequential read from the first offset, taking the records that begin at the offsets;
    a record not met that way (after an unreadable region) is read by seeking to it.
    """
    ArchiveIterator, _ = _fastwarc()
    found: dict[int, dict] = {}
    wanted = set(offsets)
    with open_file(path) as f:
        if offsets:
            f.seek(offsets[0])
            last = offsets[-1]
            try:
                for record in ArchiveIterator(f, parse_http=False):
                    pos = record.stream_pos
                    if pos in wanted:
                        found[pos] = _record_row(record)
                    if pos >= last:
                        break
            except OSError:
                pass  # an unreadable region the index reported: seek past it below
        for off in offsets:
            if off in found:
                continue
            f.seek(off)
            record = next(iter(ArchiveIterator(f, parse_http=False)), None)
            if record is None or record.stream_pos != off:
                raise ValueError(f"read_warc: no record at offset {off} of {path}; the file "
                                 "changed after it was indexed")
            found[off] = _record_row(record)
    return [found[o] for o in offsets]


def warc_fetch(path: pa.Array, record_offset: pa.Array) -> pa.Array:
    """The record of each (file, offset) row: url, ids, date, content type, status, payload."""
    paths, offsets = path.to_pylist(), record_offset.to_pylist()
    by_file: dict[str, list[int]] = {}
    for i, p in enumerate(paths):
        by_file.setdefault(p, []).append(i)
    out: list = [None] * len(paths)
    for p, idx in by_file.items():
        idx.sort(key=lambda i: offsets[i])
        for i, row in zip(idx, fetch_records(p, [offsets[i] for i in idx])):
            out[i] = row
    return pa.array(out, pa.struct(RECORD_FIELDS))


def read_records(data: bytes, record_types=("response",),
                 max_payload_bytes: int = MAX_PAYLOAD_BYTES) -> Iterator[tuple[int, dict | None,
                                                                               str | None]]:
    """(offset, record row or None, reason or None) for every record of an in-memory file."""
    ArchiveIterator, _ = _fastwarc()
    import os
    import tempfile

    # the index needs a seekable file; in-memory data goes through a temporary file
    fd, tmp = tempfile.mkstemp(suffix=".warc")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        entries = list(iter_index(tmp, record_types, max_payload_bytes))
        good = [o for o, r in entries if r is None]
        rows = dict(zip(good, fetch_records(tmp, good)))
    finally:
        os.unlink(tmp)
    for o, r in entries:
        yield o, rows.get(o), r



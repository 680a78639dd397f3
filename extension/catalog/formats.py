"""File formats: detection, and parsing text formats into Arrow with per-line quarantine.

Parquet files are read by DuckDB where they lie. JSON lines, CSV and plain-text files are parsed
here, line by line, into Parquet staged in the cache: DuckDB's ``read_json(ignore_errors=true)``
turns a bad line into an all-NULL row instead of dropping or reporting it, and its JSON and CSV
readers give no line numbers, so a line-accurate quarantine needs this parse.

Each parsed table has the data columns plus the dataset's lineage columns: ``_file`` (the source
URI) and ``_row`` (the 1-based line number; 1 for a plain-text document; the record's position in
a file that is one JSON array), named ``_corpusql_file`` and ``_corpusql_row`` when the dataset's
files have their own ``_file`` or ``_row`` (see ``schemas.lineage_of``). Problems come back as
``(line, reason)`` pairs, where ``line`` is None when the whole file is unusable (zero bytes,
truncated compression, a column named like a lineage column), and notes say which values were
kept in another type (JSON: ``jsonl`` and ``columns``). CSV fields stay strings unless every
value of a column reads back as the same text from a BIGINT or a DOUBLE.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterable

import pyarrow as pa

from ..errors import CatalogError
from .columns import INT64
from .jsonl import Parsed, lineage_columns, parse_jsonl, utf8
from .schemas import LINEAGE, parquet_footer, reserved

FORMATS = ("parquet", "jsonl", "csv", "text", "warc")
_EXT = {
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv", ".tsv": "csv",
    ".warc": "warc", ".wet": "warc",
}


class FormatError(CatalogError, ValueError):
    """A dataset's files have an unknown or mixed format."""


def compression_of(path: str) -> str | None:
    if path.endswith(".gz"):
        return "gzip"
    if path.endswith(".zst"):
        return "zstd"
    return None


def _base(path: str) -> str:
    """The file name without directories and without a compression suffix."""
    base = path.rsplit("/", 1)[-1]
    for suffix in (".gz", ".zst"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    return base


def detect(path: str) -> str:
    """The format a file name implies; anything unrecognised is a plain-text document."""
    base = _base(path)
    dot = base.rfind(".")
    return _EXT.get(base[dot:].lower(), "text") if dot > 0 else "text"


def detect_all(paths: Iterable[str]) -> str:
    found: dict[str, str] = {}
    for p in paths:
        found.setdefault(detect(p), p)
    if not found:
        return "parquet"
    if len(found) > 1:
        pairs = ", ".join(f"{fmt} ({p})" for fmt, p in sorted(found.items()))
        raise FormatError(f"files have mixed formats: {pairs}; pass format= or a narrower glob")
    return next(iter(found))


def decompress(raw: bytes, compression: str | None) -> bytes:
    """Whole-file decompression; raises ValueError with a reason for truncated or corrupt data."""
    if compression == "gzip":
        try:
            return gzip.decompress(raw)
        except EOFError as exc:
            raise ValueError(f"truncated gzip: {exc}") from exc
        except (OSError, zlib.error) as exc:
            raise ValueError(f"corrupt gzip: {exc}") from exc
    if compression == "zstd":
        try:
            import zstandard
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("reading .zst needs zstandard: pip install zstandard") from exc
        out, data = [], raw
        try:
            while data:  # frame by frame: a frame without its end is a truncated file
                d = zstandard.ZstdDecompressor().decompressobj()
                out.append(d.decompress(data))
                if not d.eof:
                    raise ValueError(f"truncated zstd: frame {len(out)} has no end")
                data = d.unused_data
        except zstandard.ZstdError as exc:
            raise ValueError(f"corrupt zstd: {exc}") from exc
        return b"".join(out)
    return raw


_INT = re.compile(r"0|-?[1-9][0-9]*", re.ASCII)  # no -0, +1 or 007: they print differently


def _typed(values: list[str | None]) -> pa.Array:
    """BIGINT or DOUBLE when every value reads back as the same text, else the strings as given.

    ``00123``, ``+8``, ``1.50`` and ``1e3`` stay strings: a number would print differently.
    """
    present = [v for v in values if v is not None]
    if present and all(_INT.fullmatch(v) and INT64[0] <= int(v) <= INT64[1] for v in present):
        return pa.array([None if v is None else int(v) for v in values], pa.int64())
    try:
        if present and all(repr(float(v)) == v for v in present):
            return pa.array([None if v is None else float(v) for v in values], pa.float64())
    except ValueError:
        pass
    return pa.array(values, pa.string())


def parse_csv(data: bytes, uri: str, lineage: tuple[str, str] = LINEAGE) -> Parsed:
    """A header line, then records; a UTF-8 byte order mark before the header is dropped."""
    data = data.removeprefix(codecs.BOM_UTF8)
    bad: list[tuple[int | None, str]] = []
    kept = []
    for i, raw in enumerate(data.split(b"\n"), start=1):
        text, err = utf8(raw)
        if err:
            bad.append((i, err))
            kept.append("")  # keep line numbering; csv skips the empty line
        else:
            kept.append(text)
    delimiter = "\t" if _base(uri).lower().endswith(".tsv") else ","
    reader = csv.reader(io.StringIO("\n".join(kept)), delimiter=delimiter)
    header: list[str] | None = None
    rows, lines = [], []
    start = 1
    for rec in reader:
        line = start
        start = reader.line_num + 1
        if not rec:
            continue
        if header is None:
            header = rec
            continue
        if len(rec) != len(header):
            bad.append((line, f"expected {len(header)} fields, found {len(rec)}"))
            continue
        rows.append(rec)
        lines.append(line)
    header = header or []
    why, clash = reserved(header, live=False, lineage=lineage)
    if why:
        return Parsed(None, [(None, why)], clash=clash)
    cols = {h: _typed([r[j] if r[j] != "" else None for r in rows]) for j, h in enumerate(header)}
    cols.update(lineage_columns(uri, lines, lineage))
    return Parsed(pa.table(cols), bad)


def parse_text(data: bytes, uri: str, lineage: tuple[str, str] = LINEAGE) -> Parsed:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return Parsed(pa.table(lineage_columns(uri, [], lineage)),
                      [(line, f"invalid UTF-8 at byte {exc.start} of the file")])
    return Parsed(pa.table({"id": [uri], "text": [text], **lineage_columns(uri, [1], lineage)}), [])


def parse_warc(raw: bytes, uri: str, lineage: tuple[str, str] = LINEAGE) -> Parsed:
    """WARC/WET response records as rows (see ``corpusql.udfs.warc``); the row lineage column
    holds each record's byte offset, and bad records are problems at their offsets."""
    from corpusql.udfs.warc import RECORD_FIELDS, read_records

    rows, offsets, bad = [], [], []
    for offset, row, reason in read_records(raw):
        if reason is None:
            rows.append(row)
            offsets.append(offset)
        else:
            bad.append((offset, reason))
    cols = {name: pa.array([r[name] for r in rows], t) for name, t in RECORD_FIELDS}
    return Parsed(pa.table({**cols, **lineage_columns(uri, offsets, lineage)}), bad)


def parse(fmt: str, raw: bytes, uri: str, lineage: tuple[str, str] = LINEAGE) -> Parsed:
    """Parse one whole file, adding the ``lineage`` columns (file URI, row).

    A None table means the file is unusable as a whole; ``clash`` says it is because a column
    has the name of a lineage column."""
    if len(raw) == 0:
        return Parsed(None, [(None, "zero-byte file")])
    if fmt == "warc":  # gzip per record: a bad member is one bad record, not a bad file
        return parse_warc(raw, uri, lineage)
    try:
        data = decompress(raw, compression_of(uri))
    except ValueError as exc:
        return Parsed(None, [(None, str(exc))])
    if fmt == "jsonl":
        return parse_jsonl(data, uri, lineage)
    if fmt == "csv":
        return parse_csv(data, uri, lineage)
    if fmt == "text":
        return parse_text(data, uri, lineage)
    if fmt == "parquet":
        schema, why = parquet_footer(lambda: io.BytesIO(data))
        clash = False
        if schema is not None:
            why, clash = reserved(schema.names, live=False, lineage=lineage)
        if why:
            return Parsed(None, [(None, why)], clash=clash)
        import pyarrow.parquet as pq

        try:
            t = pq.read_table(io.BytesIO(data))
        except (pa.ArrowInvalid, OSError) as exc:
            return Parsed(None, [(None, f"unreadable Parquet: {exc}")])
        for col, arr in lineage_columns(uri, list(range(1, t.num_rows + 1)), lineage).items():
            t = t.append_column(col, arr)
        return Parsed(t, [])
    raise FormatError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")

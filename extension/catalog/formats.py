"""File formats: detection, and parsing text formats into Arrow with per-line quarantine.

Parquet files are read by DuckDB where they lie. JSON lines, CSV and plain-text files are parsed
here, line by line, into Parquet staged in the cache: DuckDB's ``read_json(ignore_errors=true)``
turns a bad line into an all-NULL row instead of dropping or reporting it, and its JSON and CSV
readers give no line numbers, so a line-accurate quarantine needs this parse.

Each parsed table has the data columns plus ``_file`` (the source URI) and ``_row`` (the 1-based
line number; 1 for a plain-text document). Problems come back as ``(line, reason)`` pairs, where
``line`` is None when the whole file is unusable (zero bytes, truncated compression).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

FORMATS = ("parquet", "jsonl", "csv", "text")
_EXT = {
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv", ".tsv": "csv",
}


class FormatError(ValueError):
    """A dataset's files have an unknown or mixed format."""


def compression_of(path: str) -> str | None:
    if path.endswith(".gz"):
        return "gzip"
    if path.endswith(".zst"):
        return "zstd"
    return None


def detect(path: str) -> str:
    """The format a file name implies; anything unrecognised is a plain-text document."""
    base = path.rsplit("/", 1)[-1]
    for suffix in (".gz", ".zst"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
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


def _utf8(line: bytes) -> tuple[str | None, str | None]:
    try:
        return line.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 at byte {exc.start} of the line"


def _column(values: list) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        # Mixed types in one column: keep every value, as its JSON text.
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values],
                        pa.string())


def _table(rows: list[dict], lines: list[int], uri: str) -> pa.Table:
    names: dict[str, None] = {}
    for r in rows:
        for k in r:
            names.setdefault(k, None)
    names.pop("_file", None)
    names.pop("_row", None)
    cols = {k: _column([r.get(k) for r in rows]) for k in names}
    cols["_file"] = pa.array([uri] * len(rows), pa.string())
    cols["_row"] = pa.array(lines, pa.int64())
    return pa.table(cols)


def parse_jsonl(data: bytes, uri: str) -> tuple[pa.Table, list[tuple[int | None, str]]]:
    rows, lines, bad = [], [], []
    for i, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        text, err = _utf8(raw)
        if err:
            bad.append((i, err))
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            bad.append((i, f"invalid JSON: {exc.msg} at column {exc.colno}"))
            continue
        if not isinstance(obj, dict):
            bad.append((i, f"not a JSON object: {type(obj).__name__}"))
            continue
        rows.append(obj)
        lines.append(i)
    return _table(rows, lines, uri), bad


def _typed(values: list[str | None]) -> pa.Array:
    arr = pa.array(values, pa.string())
    for t in (pa.int64(), pa.float64()):
        try:
            return pc.cast(arr, t)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return arr


def parse_csv(data: bytes, uri: str) -> tuple[pa.Table, list[tuple[int | None, str]]]:
    bad: list[tuple[int | None, str]] = []
    kept = []
    for i, raw in enumerate(data.split(b"\n"), start=1):
        text, err = _utf8(raw)
        if err:
            bad.append((i, err))
            kept.append("")  # keep line numbering; csv skips the empty line
        else:
            kept.append(text)
    reader = csv.reader(io.StringIO("\n".join(kept)))
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
    cols = {h: _typed([r[j] if r[j] != "" else None for r in rows]) for j, h in enumerate(header)}
    cols["_file"] = pa.array([uri] * len(rows), pa.string())
    cols["_row"] = pa.array(lines, pa.int64())
    return pa.table(cols), bad


def parse_text(data: bytes, uri: str) -> tuple[pa.Table, list[tuple[int | None, str]]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return _table([], [], uri), [(line, f"invalid UTF-8 at byte {exc.start} of the file")]
    row = pa.array([1], pa.int64())
    return pa.table({"id": [uri], "text": [text], "_file": [uri], "_row": row}), []


def parse(fmt: str, raw: bytes, uri: str) -> tuple[pa.Table | None, list[tuple[int | None, str]]]:
    """Parse one whole file. A None table means the file is unusable as a whole."""
    if len(raw) == 0:
        return None, [(None, "zero-byte file")]
    try:
        data = decompress(raw, compression_of(uri))
    except ValueError as exc:
        return None, [(None, str(exc))]
    if fmt == "jsonl":
        return parse_jsonl(data, uri)
    if fmt == "csv":
        return parse_csv(data, uri)
    if fmt == "text":
        return parse_text(data, uri)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            t = pq.read_table(io.BytesIO(data))
        except (pa.ArrowInvalid, OSError) as exc:
            return None, [(None, f"unreadable Parquet: {exc}")]
        t = t.drop_columns([c for c in ("_file", "_row") if c in t.column_names])
        t = t.append_column("_file", pa.array([uri] * t.num_rows, pa.string()))
        return t.append_column("_row", pa.array(range(1, t.num_rows + 1), pa.int64())), []
    raise FormatError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")

"""JSON Lines, and files that are one JSON document, parsed into records line by line.

Each line is parsed on its own so that a bad line is quarantined with its number and the rest
kept: invalid UTF-8 or JSON, a value that is not an object, nesting deeper than ``MAX_DEPTH``
(Python's parser recurses, and DuckDB reads Parquet nested at most 500 levels), and strings
with a lone UTF-16 surrogate (``"\\ud800"`` parses, but is not Unicode and cannot be stored).
How the records' values become typed columns is ``columns``'s job.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import NamedTuple

import pyarrow as pa

from . import columns
from .schemas import LINEAGE, MAX_DEPTH, reserved


def utf8(line: bytes) -> tuple[str | None, str | None]:
    try:
        return line.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 at byte {exc.start} of the line"


class Parsed(NamedTuple):
    """One parsed file: ``table`` is None when the file is unusable as a whole."""

    table: pa.Table | None
    problems: list[tuple[int | None, str]]
    notes: list[str] = []
    clash: bool = False


_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]", re.ASCII)


def _lone_surrogate(v, where: str = "") -> str | None:
    """Where ``v`` holds a lone UTF-16 surrogate (``"\\ud800"`` parses, but is not Unicode)."""
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"{where}lone surrogate \\u{ord(v[exc.start]):04x}, not valid Unicode"
        return None
    if isinstance(v, dict):
        for k, x in v.items():
            why = _lone_surrogate(k, "a key: ") or _lone_surrogate(x, where or f"column {k}: ")
            if why:
                return why
    if isinstance(v, list):
        for x in v:
            why = _lone_surrogate(x, where)
            if why:
                return why
    return None


def _depth(v) -> int:
    if isinstance(v, dict):
        return 1 + max((_depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


def _record(text: str) -> tuple[object, str | None]:
    """A parsed JSON line and None, or None and why the line is quarantined."""
    too_deep = f"nested more than {MAX_DEPTH} levels deep (DuckDB reads Parquet nested at most " \
               "500 levels; each JSON array takes two)"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} at column {exc.colno}"
    except RecursionError:
        return None, too_deep
    except ValueError as exc:  # an integer with more digits than Python converts
        return None, f"invalid JSON: {exc}".split(";")[0]
    if not isinstance(obj, dict):
        return None, f"not a JSON object: {type(obj).__name__}"
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(obj) > MAX_DEPTH:
        return None, too_deep
    if _SURROGATE.search(text):
        why = _lone_surrogate(obj)
        if why:
            return None, why
    return obj, None


def lineage_columns(uri: str, lines: list[int], lineage: tuple[str, str]) -> dict[str, pa.Array]:
    return {lineage[0]: pa.array([uri] * len(lines), pa.string()),
            lineage[1]: pa.array(lines, pa.int64())}


def _records(rows: list[dict], lines: list[int], uri: str, bad: list,
             lineage: tuple[str, str]) -> Parsed:
    names: dict[str, None] = {}
    for r in rows:
        names.update(dict.fromkeys(r))
    why, clash = reserved(names, live=False, lineage=lineage)
    if why:
        return Parsed(None, [(None, why)], clash=clash)
    table, rejected, notes = columns.table(rows, lines, lineage_columns(uri, lines, lineage))
    return Parsed(table, sorted(bad + rejected, key=lambda p: p[0]), notes)


def _first_line_parses(head: bytes) -> bool:
    try:
        json.loads(head.split(b"\n", 1)[0])
        return True
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return False


def _whole_document(data: bytes, uri: str, lineage: tuple[str, str]) -> Parsed | None:
    """The file read as one JSON document when it is one, else None (it is JSON Lines).

    A JSON array is read as an array of records (``_row`` and the quarantine's ``line`` are a
    record's 1-based position); an object spread over several lines is one record.
    """
    head = data.lstrip()
    if not head.startswith((b"[", b"{")):
        return None
    try:
        whole = json.loads(data)
    except (ValueError, RecursionError) as exc:
        if not head.startswith(b"[") or _first_line_parses(head):
            return None  # JSON Lines, perhaps with bad lines
        detail = f"{exc.msg} at line {exc.lineno} column {exc.colno}" \
            if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        return Parsed(None, [(None, f"this is a JSON array, not JSON Lines, and it does not "
                                    f"parse as one: {detail}")])
    if isinstance(whole, dict):
        if b"\n" not in data.strip():
            return None  # one line of JSON Lines
        whole = [whole]
    if not isinstance(whole, list):
        return None
    rows, positions, bad = [], [], []
    for i, item in enumerate(whole, start=1):
        obj, why = _record(json.dumps(item)) if isinstance(item, dict) else (
            None, f"array item {i} is not a JSON object: {type(item).__name__}")
        if why:
            bad.append((i, why))
        else:
            rows.append(obj)
            positions.append(i)
    return _records(rows, positions, uri, bad, lineage)


def parse_jsonl(data: bytes, uri: str, lineage: tuple[str, str] = LINEAGE) -> Parsed:
    """JSON Lines (or one JSON array of records); see ``columns`` for how values get types."""
    data = data.removeprefix(codecs.BOM_UTF8)
    whole = _whole_document(data, uri, lineage)
    if whole is not None:
        return whole
    rows, lines, bad = [], [], []
    for i, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        text, err = utf8(raw)
        if err:
            bad.append((i, err))
            continue
        obj, why = _record(text)
        if why:
            bad.append((i, why))
            continue
        rows.append(obj)
        lines.append(i)
    return _records(rows, lines, uri, bad, lineage)

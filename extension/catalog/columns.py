"""Arrow columns from parsed JSON records: one type per column, no value re-encoded.

A column's kind is the kind most of its non-null values have (ties: the kind seen first):
VARCHAR (strings), BIGINT (integers), DOUBLE (numbers with a fraction), BOOLEAN, LIST (arrays)
or STRUCT (objects). A value of another kind never changes silently:

- in a VARCHAR column, integers, fractional numbers and booleans are kept as their JSON text
  (123 -> '123', true -> 'true'), and a note counts them;
- a column mixing integers and fractional numbers is DOUBLE, with a note; an integer a DOUBLE
  cannot hold exactly (beyond 2**53) sends its line to quarantine;
- an integer beyond BIGINT (int64) in a BIGINT column sends its line to quarantine;
- anything else of another kind sends its line to quarantine with the reason
  ``column X: expected <kind>, got <kind> (value ...)``; in LIST and STRUCT columns, a value
  whose inner types do not fit the values on the lines before it is quarantined the same way.

Strings are stored exactly as parsed; quarantining a line drops the whole record, never a field.
"""

from __future__ import annotations

import json

import pyarrow as pa

from .schemas import duck_type

INT64 = (-(2**63), 2**63 - 1)
EXACT_DOUBLE = 2**53
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError,
                 OverflowError, ValueError)
_TYPES = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(),
          "BOOLEAN": pa.bool_()}
_KINDS = {str: "VARCHAR", bool: "BOOLEAN", int: "BIGINT", float: "DOUBLE", list: "LIST",
          dict: "STRUCT"}


def _kind(v) -> str:
    return _KINDS.get(type(v), type(v).__name__)


def shown(v, limit: int = 60) -> str:
    """A value as JSON text for a reason, cut at ``limit`` characters."""
    text = json.dumps(v, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fit(a: pa.DataType | None, b: pa.DataType) -> pa.DataType | None:
    """The type ``pa.array`` gives values of types ``a`` and ``b`` together, None if none."""
    if a is None or pa.types.is_null(a):
        return b
    if pa.types.is_null(b) or a == b:
        return a
    if pa.types.is_struct(a) and pa.types.is_struct(b):
        fields = {f.name: f.type for f in a}
        for f in b:
            t = _fit(fields.get(f.name), f.type)
            if t is None:
                return None
            fields[f.name] = t
        return pa.struct(list(fields.items()))
    if pa.types.is_list(a) and pa.types.is_list(b):
        t = _fit(a.value_type, b.value_type)
        return None if t is None else pa.list_(t)
    if {a, b} == {pa.int64(), pa.float64()}:
        return pa.float64()
    return None


def _nested(name: str, values: list[tuple[int, object]]) -> dict[int, str]:
    """Lines whose LIST/STRUCT value does not fit one Arrow type with the values before it.

    The column's type grows value by value (STRUCT fields are unioned, integers and fractions in
    a list make DOUBLE); a value that cannot join it is rejected with the type it met.
    """
    rejects: dict[int, str] = {}
    values_by_line = dict(values)
    try:
        whole = pa.array([v for _, v in values])
        if not _empty_struct(whole.type):
            return rejects
    except _ARROW_ERRORS:
        pass
    have: pa.DataType | None = None
    types: dict[int, pa.DataType] = {}
    for i, v in values:
        try:
            t = pa.array([v]).type
        except _ARROW_ERRORS:
            rejects[i] = f"column {name}: its items have no one type (value {shown(v)})"
            continue
        joined = _fit(have, t)
        if joined is None:
            rejects[i] = (f"column {name}: value does not fit the type of the lines before it "
                          f"({duck_type(have)}) (value {shown(v)})")
            continue
        have, types[i] = joined, t
    if have is not None and _empty_struct(have):
        for i, t in types.items():
            if _empty_struct(t):
                rejects[i] = (f"column {name}: an empty JSON object has no column type in "
                              f"Parquet or DuckDB (value {shown(values_by_line[i])})")
    return rejects


def _winner(values: list[tuple[int, object]]) -> str | None:
    counts: dict[str, int] = {}
    for _, v in values:
        k = _kind(v)
        counts[k] = counts.get(k, 0) + 1
    return max(counts, key=counts.__getitem__) if counts else None  # first seen wins a tie


def _decide(name: str, values: list[tuple[int, object]]):
    """(kind, {line: kept value}, {line: reason}, note) for one column's non-null values."""
    kind = _winner(values)
    kinds = {_kind(v) for _, v in values}
    if kind in ("BIGINT", "DOUBLE") and kinds >= {"BIGINT", "DOUBLE"}:
        kind = "DOUBLE"
    kept: dict[int, object] = {}
    bad: dict[int, str] = {}
    converted: list[tuple[int, object, object]] = []
    for i, v in values:
        k = _kind(v)
        if k == kind and kind != "BIGINT":
            kept[i] = v
        elif kind == "BIGINT" and k == "BIGINT":
            if INT64[0] <= v <= INT64[1]:
                kept[i] = v
            else:
                bad[i] = (f"column {name}: integer {shown(v)} is beyond BIGINT (int64); write "
                          "such numbers as JSON strings to keep them")
        elif kind == "VARCHAR" and k in ("BIGINT", "DOUBLE", "BOOLEAN"):
            kept[i] = json.dumps(v)
            converted.append((i, v, kept[i]))
        elif kind == "DOUBLE" and k == "BIGINT":
            if abs(v) <= EXACT_DOUBLE:
                kept[i] = float(v)
                converted.append((i, v, kept[i]))
            else:
                bad[i] = f"column {name}: integer {shown(v)} cannot be stored exactly as DOUBLE"
        else:
            bad[i] = f"column {name}: expected {kind}, got {k} (value {shown(v)})"
    if kind in ("LIST", "STRUCT"):
        bad.update(_nested(name, [(i, v) for i, v in kept.items()]))
    return kind, kept, bad, converted


def _note(name: str, kind: str, converted: list) -> str | None:
    if not converted:
        return None
    n = len(converted)
    if kind == "DOUBLE":
        return (f"column {name}: integers and fractional numbers mixed, stored as DOUBLE "
                f"({n} integer{'s' if n != 1 else ''} converted exactly)")
    line, v, text = converted[0]
    what = "non-string values kept as their" if n != 1 else "non-string value kept as its"
    return f"column {name}: {n} {what} JSON text (first at line {line}: {v} -> {text!r})"


def _empty_struct(t: pa.DataType) -> bool:
    if pa.types.is_struct(t):
        return t.num_fields == 0 or any(_empty_struct(f.type) for f in t)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _empty_struct(t.value_type)
    return False


def _one_kind(vals: list) -> pa.Array | None:
    """The column as one Arrow array when all its values have one kind that needs no decision."""
    kinds = set(map(type, vals))
    kinds.discard(type(None))
    if len(kinds) != 1:
        return None if kinds else pa.array(vals)
    kind = _KINDS.get(kinds.pop())
    try:
        if kind in _TYPES:
            return pa.array(vals, _TYPES[kind])  # an int beyond int64 raises
        if kind in ("LIST", "STRUCT"):
            arr = pa.array(vals)
            return None if _empty_struct(arr.type) else arr
    except _ARROW_ERRORS:
        pass
    return None


def table(rows: list[dict], lines: list[int], lineage: dict[str, pa.Array]):
    """(table, problems, notes) from records ``rows`` found at ``lines``.

    ``lineage`` columns are appended for the rows kept, in ``lines`` order. ``problems`` are
    ``(line, reason)`` pairs for the records quarantined. A column whose values all have one
    kind is built in one step; the others go through ``_decide``.
    """
    names: dict[str, None] = {}
    for r in rows:
        names.update(dict.fromkeys(r))
    ready: dict[str, pa.Array] = {}
    decided = {}
    bad: dict[int, list[str]] = {}
    for name in names:
        vals = [r.get(name) for r in rows]
        arr = _one_kind(vals)
        if arr is not None:
            ready[name] = arr
            continue
        kind, kept, rejects, converted = _decide(
            name, [(line, v) for line, v in zip(lines, vals) if v is not None])
        decided[name] = (kind, kept, converted)
        for line, reason in rejects.items():
            bad.setdefault(line, []).append(reason)
    keep = [j for j, line in enumerate(lines) if line not in bad] if bad else range(len(lines))
    present = names if not bad else {k: None for j in keep for k in rows[j]}
    take = pa.array(keep, pa.int64())
    cols = {}
    notes = []
    for name in names:
        if name not in present:
            continue  # only quarantined lines had this key
        if name in ready:
            cols[name] = ready[name].take(take) if bad else ready[name]
            continue
        kind, kept, converted = decided[name]
        cols[name] = pa.array([kept.get(lines[j]) for j in keep], _TYPES.get(kind))
        note = _note(name, kind, [c for c in converted if c[0] not in bad])
        if note:
            notes.append(note)
    for name, arr in lineage.items():
        cols[name] = arr.take(take) if bad else arr
    problems = [(line, "; ".join(reasons)) for line, reasons in sorted(bad.items())]
    return pa.table(cols), problems, notes

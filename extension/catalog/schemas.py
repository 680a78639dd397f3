"""Column checks that keep a dataset's view readable: reserved names, footers, type conflicts.

A dataset's view unions its files by column name. DuckDB reconciles differing scalar types
(BIGINT and VARCHAR become VARCHAR) and STRUCTs with different fields, but it cannot read a
column that is a STRUCT in one file and a LIST or a scalar in another: the view is created and
every ``SELECT *`` then fails. ``conflicts`` finds such files at add/sync time, so they can be
quarantined with both types named, and the rest served.
"""

from __future__ import annotations

import io

import pyarrow as pa

LINEAGE = ("_file", "_row")
RENAMED = ("_corpusql_file", "_corpusql_row")
# Names DuckDB's read_parquet adds for the view's lineage of Parquet files read where they lie.
READER = ("file_row_number", "__corpusql_file")
# DuckDB refuses Parquet schemas nested more than 500 levels deep; a JSON array is two levels.
MAX_DEPTH = 100

_SCALARS = {
    pa.int8(): "TINYINT", pa.int16(): "SMALLINT", pa.int32(): "INTEGER", pa.int64(): "BIGINT",
    pa.uint8(): "UTINYINT", pa.uint16(): "USMALLINT", pa.uint32(): "UINTEGER",
    pa.uint64(): "UBIGINT", pa.float16(): "FLOAT", pa.float32(): "FLOAT",
    pa.float64(): "DOUBLE", pa.string(): "VARCHAR", pa.large_string(): "VARCHAR",
    pa.binary(): "BLOB", pa.large_binary(): "BLOB", pa.bool_(): "BOOLEAN", pa.null(): "NULL",
    pa.date32(): "DATE",
}


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def duck_type(t: pa.DataType) -> str:
    """The DuckDB name of an Arrow type (``STRUCT(a BIGINT)``, ``VARCHAR[]``)."""
    if t in _SCALARS:
        return _SCALARS[t]
    if _is_list(t):
        return duck_type(t.value_type) + "[]"
    if pa.types.is_struct(t):
        return "STRUCT(" + ", ".join(f"{f.name} {duck_type(f.type)}" for f in t) + ")"
    if pa.types.is_map(t):
        return f"MAP({duck_type(t.key_type)}, {duck_type(t.item_type)})"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP" + (" WITH TIME ZONE" if t.tz else "")
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    return str(t).upper()


def depth(t: pa.DataType) -> int:
    """Nesting levels of a type: 0 for a scalar, 1 for a list of scalars or a flat struct."""
    if _is_list(t):
        return 1 + depth(t.value_type)
    if pa.types.is_map(t):
        return 1 + max(depth(t.key_type), depth(t.item_type))
    if pa.types.is_struct(t):
        return 1 + max((depth(f.type) for f in t), default=0)
    return 0


def lineage_of(options: dict | None) -> tuple[str, str]:
    """The names of a dataset's lineage columns: ``_file``, ``_row`` unless its options give
    ``lineage_prefix`` (a dataset added with files that have their own ``_file`` or ``_row``
    columns gets ``_corpusql_``)."""
    prefix = (options or {}).get("lineage_prefix", "_")
    return f"{prefix}file", f"{prefix}row"


def reserved(names, live: bool, lineage: tuple[str, str] = LINEAGE) -> tuple[str | None, bool]:
    """(why a file with columns ``names`` cannot join its dataset's view, clash) or (None, False).

    ``clash`` is True when a column has the name of one of the dataset's ``lineage`` columns.
    """
    for n in names:
        if n in lineage:
            return (f"column {n} has the name of this dataset's lineage column {n}; the file is "
                    "left out rather than having that column replaced (a dataset whose files "
                    f"have such columns when it is added gets lineage columns {RENAMED[0]} and "
                    f"{RENAMED[1]}; the knob is options lineage_prefix)"), True
        if live and n in READER:
            return (f"column {n} is the name DuckDB's reader gives the row numbers it adds for "
                    f"the view's {lineage[1]}; rename it in the file (for example SELECT * "
                    f"RENAME ({n} AS source_{n.strip('_')})) and sync"), False
    return None, False


class _Tail(io.RawIOBase):
    """A file of ``size`` bytes whose last bytes are ``tail`` and the rest zeros (footer reads)."""

    def __init__(self, size: int, tail: bytes) -> None:
        super().__init__()
        self.size, self.tail, self.pos = size, tail, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = (offset, self.pos + offset, self.size + offset)[whence]
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, buf) -> int:
        start, end = self.pos, min(self.size, self.pos + len(buf))
        cut = self.size - len(self.tail)
        data = b"\0" * max(0, min(end, cut) - start) + self.tail[max(0, start - cut): end - cut]
        buf[: len(data)] = data
        self.pos += len(data)
        return len(data)


def _footer(fh) -> tuple[int, bytes] | str:
    """(file size, footer bytes with the 8-byte trailer), or why the file has no footer.

    Errors reading the file itself (network, permissions) propagate: they are not the file's.
    """
    size = fh.seek(0, 2)
    if size < 12:
        return f"unreadable Parquet footer: the file has {size} bytes, fewer than a footer"
    fh.seek(size - 8)
    trailer = fh.read(8)
    if trailer[4:] != b"PAR1":
        return "unreadable Parquet footer: the file does not end with the Parquet magic PAR1"
    n = int.from_bytes(trailer[:4], "little")
    if n + 12 > size:
        return f"unreadable Parquet footer: its length {n} exceeds the file's {size} bytes"
    fh.seek(size - 8 - n)
    return size, fh.read(n) + trailer


def parquet_footer(open_file) -> tuple[pa.Schema | None, str | None]:
    """(schema, None) for a Parquet file whose footer reads and DuckDB can read, else
    (None, why). ``open_file()`` returns a seekable binary file; only the footer is read."""
    import pyarrow.parquet as pq

    with open_file() as fh:
        found = _footer(fh)
    if isinstance(found, str):
        return None, found
    size, tail = found
    try:
        schema = pq.ParquetFile(_Tail(size, tail)).schema_arrow
    except (pa.ArrowException, OSError, ValueError) as exc:  # the bytes read are bad
        return None, f"unreadable Parquet footer: {exc}".strip()
    for f in schema:
        if depth(f.type) > MAX_DEPTH:
            return None, (f"column {f.name} is nested more than {MAX_DEPTH} levels deep; "
                          "DuckDB reads at most 500 Parquet schema levels")
    return schema, None


def _merge(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    """The type a union of ``a`` and ``b`` columns has, or None when DuckDB cannot read both."""
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b) or a == b:
        return a
    if pa.types.is_struct(a) and pa.types.is_struct(b):
        fields = {f.name: f.type for f in a}
        for f in b:
            if f.name in fields:
                merged = _merge(fields[f.name], f.type)
                if merged is None:
                    return None
                fields[f.name] = merged
            else:
                fields[f.name] = f.type
        return pa.struct(list(fields.items()))
    if _is_list(a) and _is_list(b):
        merged = _merge(a.value_type, b.value_type)
        return None if merged is None else pa.list_(merged)
    if pa.types.is_map(a) and pa.types.is_map(b):
        key, item = _merge(a.key_type, b.key_type), _merge(a.item_type, b.item_type)
        return None if key is None or item is None else pa.map_(key, item)
    nested = (pa.types.is_struct, _is_list, pa.types.is_map)
    if any(is_(a) for is_ in nested) or any(is_(b) for is_ in nested):
        return None
    return a  # scalars: DuckDB finds a common type


def conflicts(schemas: list[tuple[str, pa.Schema]]) -> tuple[dict[str, str], dict[str, list]]:
    """(conflicts, notes) for files whose column types differ from the files before them.

    The first file to bring a column fixes its shape. A later file whose column DuckDB cannot
    union with it is a conflict, named with the column and both types, and its columns are
    left out of the comparison that follows. A later file whose column is another scalar type
    (BIGINT where the first had VARCHAR) gets a note: the view casts both to a common type.
    """
    seen: dict[str, tuple[pa.DataType, str]] = {}
    out: dict[str, str] = {}
    notes: dict[str, list] = {}
    for path, schema in schemas:
        merged, noted = {}, []
        for f in schema:
            if f.name not in seen:
                merged[f.name] = (f.type, path)
                continue
            have, where = seen[f.name]
            m = _merge(have, f.type)
            if m is None:
                out[path] = (f"column {f.name}: {duck_type(f.type)} here, {duck_type(have)} in "
                             f"{where}; DuckDB cannot read both in one view")
                break
            merged[f.name] = (m, where)
            if "NULL" not in (duck_type(have), duck_type(f.type)) and \
                    duck_type(have) != duck_type(f.type) and depth(m) == 0:
                noted.append(f"column {f.name}: {duck_type(f.type)} here, {duck_type(have)} in "
                             f"{where}; the view casts both to DuckDB's common type")
        if path not in out:
            seen.update(merged)
            if noted:
                notes[path] = noted
    return out, notes

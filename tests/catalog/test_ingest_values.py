"""Ingestion keeps every value as it was: one row per odd file, with what must happen to it.

Each case writes its files into a fresh directory, adds them as one dataset and checks the
column types DuckDB sees, the rows (in ``_file``, ``_row`` order), the quarantine (file name,
line, start of the reason), the notes about converted values and the status summary. Before
this change every case here failed: values were re-encoded as JSON text, columns were dropped
or retyped, or one file failed the whole dataset.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from catalog_helpers import write_parquet

from corpusql.catalog.cli import _main


def _lines(*objs) -> bytes:
    return "".join(json.dumps(o) + "\n" for o in objs).encode()


def _parquet(table: pa.Table):
    return lambda path: pq.write_table(table, path)


def _corrupt_footer(path) -> None:
    write_parquet(path, 5)
    raw = path.read_bytes()
    path.write_bytes(raw[:-12] + b"\0" * 8 + raw[-4:])  # footer length and metadata zeroed


def _nested(depth: int) -> bytes:
    return b'{"t": "deep", "m": ' + b"[" * depth + b"1" + b"]" * depth + b"}\n"


GOOD = {"z_good.jsonl": _lines({"t": "fine"})}
RENAMED = ("*: lineage columns are _corpusql_file and _corpusql_row: files have their own _file "
           "or _row columns, kept as they are (options lineage_prefix)")

# (id, files, select, expected rows, column types, quarantine, notes, summary)
CASES = [
    ("int_among_strings_kept_as_its_text",
     {"a.jsonl": _lines({"text": "hello"}, {"text": 123}, {"text": 'say "hi"'},
                        {"text": True})},
     "text", [("hello",), ("123",), ('say "hi"',), ("true",)], {"text": "VARCHAR"},
     [], ["a.jsonl: column text: 2 non-string values kept as their JSON text "
          "(first at line 2: 123 -> '123')"],
     "ready, 1 note"),
    ("string_among_ints_quarantined",
     {"a.jsonl": _lines({"n": 1}, {"n": 2}, {"n": "three"})},
     "n", [(1,), (2,)], {"n": "BIGINT"},
     [("a.jsonl", 3, 'column n: expected BIGINT, got VARCHAR (value "three")')], [], "ready"),
    ("object_in_string_column_quarantined",
     {"a.jsonl": _lines({"t": "a"}, {"t": "b"}, {"t": {"x": 1}})},
     "t", [("a",), ("b",)], {"t": "VARCHAR"},
     [("a.jsonl", 3, 'column t: expected VARCHAR, got STRUCT (value {"x": 1})')], [], "ready"),
    ("int_beyond_int64_quarantined",
     {"a.jsonl": _lines({"n": 1}, {"n": 2**100}, {"n": -(2**63)})},
     "n", [(1,), (-(2**63),)], {"n": "BIGINT"},
     [("a.jsonl", 2, f"column n: integer {2**100} is beyond BIGINT")], [], "ready"),
    ("int_with_more_digits_than_python_reads_quarantined",
     {"a.jsonl": _lines({"n": 1}) + b'{"n": 1' + b"0" * 5000 + b"}\n"},
     "n", [(1,)], {"n": "BIGINT"},
     [("a.jsonl", 2, "invalid JSON: Exceeds the limit (4300 digits) for integer string "
                     "conversion")], [], "ready"),
    ("int_beyond_int64_in_string_column_kept",
     {"a.jsonl": _lines({"s": "a"}, {"s": "b"}, {"s": 2**70})},
     "s", [("a",), ("b",), (str(2**70),)], {"s": "VARCHAR"},
     [], [f"a.jsonl: column s: 1 non-string value kept as its JSON text "
          f"(first at line 3: {2**70} -> '{2**70}')"], "ready, 1 note"),
    ("ints_and_fractions_widened_to_double",
     {"a.jsonl": _lines({"x": 1}, {"x": 2.5}, {"x": 3}, {"x": 2**60})},
     "x", [(1.0,), (2.5,), (3.0,)], {"x": "DOUBLE"},
     [("a.jsonl", 4, f"column x: integer {2**60} cannot be stored exactly as DOUBLE")],
     ["a.jsonl: column x: integers and fractional numbers mixed, stored as DOUBLE "
      "(2 integers converted exactly)"], "ready, 1 note"),
    ("struct_field_of_another_type_quarantined",
     {"a.jsonl": _lines({"m": {"a": 1}}, {"m": {"a": "x"}}, {"m": {"a": 2, "b": True}})},
     "m.a", [(1,), (2,)], {"m": "STRUCT(a BIGINT, b BOOLEAN)"},
     [("a.jsonl", 2, "column m: value does not fit the type of the lines before it")], [],
     "ready"),
    ("user_columns_named_file_and_row_kept_lineage_renamed",
     {"a.jsonl": _lines({"_file": "mine", "_row": 7, "t": "x"}), **GOOD},
     "t, coalesce(_file, '-'), coalesce(_row, 0), _corpusql_row",
     [("x", "mine", 7, 1), ("fine", "-", 0, 1)],
     {"_file": "VARCHAR", "_row": "BIGINT", "_corpusql_file": "VARCHAR",
      "_corpusql_row": "BIGINT"}, [], [RENAMED], "ready, 1 note"),
    ("parquet_with_a_row_column_kept_lineage_renamed",
     {"a.parquet": _parquet(pa.table({"_row": [5], "t": ["mine"]})),
      "b.parquet": _parquet(pa.table({"t": ["fine"]}))},
     "t, coalesce(_row, 0), _corpusql_row, _corpusql_file LIKE '%.parquet'",
     [("mine", 5, 1, True), ("fine", 0, 1, True)],
     {"_row": "BIGINT", "_corpusql_file": "VARCHAR", "_corpusql_row": "BIGINT"}, [], [RENAMED],
     "ready, 1 note"),
    ("csv_keeps_leading_zeros_and_drops_the_bom",
     {"a.csv": "\ufeffid,zip,price,code,z\n1,00123,1.50,7,0\n2,00456,2.25,+8,-0\n".encode()},
     "id, zip, price, code, z",
     [(1, "00123", "1.50", "7", "0"), (2, "00456", "2.25", "+8", "-0")],
     {"id": "BIGINT", "zip": "VARCHAR", "price": "VARCHAR", "code": "VARCHAR", "z": "VARCHAR"},
     [], [],
     "ready"),
    ("csv_exact_decimals_are_numbers",
     {"a.csv": b"x,y\n1.5,-3\n2.25,0\n"},
     "x, y", [(1.5, -3), (2.25, 0)], {"x": "DOUBLE", "y": "BIGINT"}, [], [], "ready"),
    ("json_array_read_as_records",
     {"a.json": json.dumps([{"a": i, "s": f"v{i}"} for i in range(42)], indent=1).encode()},
     "count(*), min(a), max(a), max(_row)", [(42, 0, 41, 42)],
     {"a": "BIGINT", "s": "VARCHAR"}, [], [], "ready"),
    ("one_line_json_array_read_as_records",
     {"a.json": json.dumps([{"a": 1}, {"a": 2}, 3]).encode()},
     "a, _row", [(1, 1), (2, 2)], {"a": "BIGINT"},
     [("a.json", 3, "array item 3 is not a JSON object: int")], [], "ready"),
    ("pretty_printed_object_read_as_one_record",
     {"a.json": json.dumps({"a": 1, "s": "x"}, indent=2).encode()},
     "a, s, _row", [(1, "x", 1)], {"a": "BIGINT", "s": "VARCHAR"}, [], [], "ready"),
    ("broken_json_array_fails_the_file",
     {"a.json": json.dumps([{"a": i} for i in range(42)], indent=1).encode()[:-20], **GOOD},
     "t", [("fine",)], {"t": "VARCHAR"},
     [("a.json", None, "this is a JSON array, not JSON Lines, and it does not parse")], [],
     "ready, 1 file quarantined"),
    ("lone_surrogate_quarantines_its_line",
     {"a.jsonl": b'{"t": "ok"}\n{"t": "bad \\ud800 half"}\n{"t": "\\ud83d\\ude00"}\n'},
     "t", [("ok",), ("\U0001F600",)], {"t": "VARCHAR"},
     [("a.jsonl", 2, "column t: lone surrogate \\ud800")], [], "ready"),
    ("nesting_beyond_python_recursion_quarantines_its_line",
     {"a.jsonl": _lines({"t": "ok"}) + _nested(5000)},
     "t", [("ok",)], {"t": "VARCHAR"},
     [("a.jsonl", 2, "nested more than 100 levels deep")], [], "ready"),
    ("nesting_beyond_duckdb_parquet_quarantines_its_line",
     {"a.jsonl": _lines({"t": "ok"}) + _nested(300)},
     "t", [("ok",)], {"t": "VARCHAR"},
     [("a.jsonl", 2, "nested more than 100 levels deep")], [], "ready"),
    ("corrupt_parquet_footer_quarantines_the_file",
     {"a.parquet": lambda p: write_parquet(p, 3), "b.parquet": _corrupt_footer},
     "id", [(0,), (1,), (2,)], {"id": "BIGINT", "text": "VARCHAR"},
     [("b.parquet", None, "unreadable Parquet footer")], [], "ready, 1 file quarantined"),
    ("parquet_column_file_row_number_quarantines_the_file",
     {"a.parquet": lambda p: write_parquet(p, 2),
      "b.parquet": _parquet(pa.table({"id": [9], "file_row_number": [5]}))},
     "id", [(0,), (1,)], {"id": "BIGINT", "text": "VARCHAR"},
     [("b.parquet", None, "column file_row_number is the name DuckDB's reader")], [],
     "ready, 1 file quarantined"),
    ("parquet_struct_then_list_quarantines_the_second",
     {"a.parquet": _parquet(pa.table({"m": [{"a": 1}]})),
      "b.parquet": _parquet(pa.table({"m": [[1, 2]]}))},
     "m", [({"a": 1},)], {"m": "STRUCT(a BIGINT)"},
     [("b.parquet", None, "column m: BIGINT[] here, STRUCT(a BIGINT) in ")], [],
     "ready, 1 file quarantined"),
    ("jsonl_files_with_string_then_list_quarantine_the_second",
     {"a.jsonl": _lines({"m": "x"}), "b.jsonl": _lines({"m": [[1]]})},
     "m", [("x",)], {"m": "VARCHAR"},
     [("b.jsonl", None, "column m: BIGINT[][] here, VARCHAR in ")], [],
     "ready, 1 file quarantined"),
    ("files_with_other_scalar_types_noted",
     {"a.jsonl": _lines({"t": "x", "n": 1}), "b.jsonl": _lines({"t": 5, "n": 2.5})},
     "t, n", [("x", 1.0), ("5", 2.5)], {"t": "VARCHAR", "n": "DOUBLE"}, [],
     ["b.jsonl: column n: DOUBLE here, BIGINT in a.jsonl; the view casts both to DuckDB's "
      "common type",
      "b.jsonl: column t: BIGINT here, VARCHAR in a.jsonl; the view casts both to DuckDB's "
      "common type"], "ready, 2 notes"),
    ("empty_objects_alone_quarantined",
     {"a.jsonl": _lines({"t": "a", "m": {}}, {"t": "b"})},
     "t", [("b",)], {"t": "VARCHAR"},
     [("a.jsonl", 1, "column m: an empty JSON object has no column type")], [], "ready"),
]


def _write(d, files) -> None:
    d.mkdir()
    for fname, data in files.items():
        if callable(data):
            data(d / fname)
        else:
            (d / fname).write_bytes(data)


@pytest.mark.parametrize(
    ("files", "select", "rows", "types", "quarantine", "notes", "summary"),
    [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_odd_file(lake, tmp_path, files, select, rows, types, quarantine, notes, summary):
    con, cat = lake
    d = tmp_path / "in"
    _write(d, files)
    st = cat.add("ds", str(d / "*"))
    described = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE ds)").fetchall())
    assert {c: described.get(c) for c in types} == types
    assert con.execute(f"SELECT {select} FROM ds ORDER BY ALL").fetchall() == sorted(rows)
    con.execute("SELECT * FROM ds").fetchall()  # every column of every file reads
    got = con.execute("SELECT file, line, reason FROM corpusql.quarantine WHERE dataset = 'ds' "
                      "ORDER BY file, line").fetchall()
    assert len(got) == len(quarantine), got
    for (file, line, reason), (want_file, want_line, want_reason) in zip(got, quarantine):
        assert (file, line) == (str(d / want_file), want_line)
        assert reason.startswith(want_reason), reason
    assert [n.replace(str(d) + "/", "") for n in st.notes] == notes
    assert st.summary == summary
    assert st.status == "ready"


def test_sync_quarantines_a_new_file_whose_nested_type_conflicts(lake, tmp_path):
    con, cat = lake
    d = tmp_path / "s"
    _write(d, {"a.parquet": _parquet(pa.table({"m": [{"a": 1}], "k": [1]}))})
    cat.add("s", str(d / "*.parquet"))
    pq.write_table(pa.table({"m": [["x"]], "k": [2]}), d / "b.parquet")
    pq.write_table(pa.table({"m": [{"a": 3, "b": "y"}], "k": [3]}), d / "c.parquet")
    assert [p.rsplit("/", 1)[1] for p in cat.sync("s").new] == ["b.parquet", "c.parquet"]
    assert con.execute("SELECT k, m FROM s ORDER BY k").fetchall() == [
        (1, {"a": 1, "b": None}), (3, {"a": 3, "b": "y"})]
    (reason,), = con.execute("SELECT reason FROM corpusql.quarantine WHERE dataset = 's' "
                             "AND file LIKE '%b.parquet' AND line IS NULL").fetchall()
    assert reason == (f"column m: VARCHAR[] here, STRUCT(a BIGINT) in "
                      f"{d / 'a.parquet'}; DuckDB cannot read both in one view")
    assert cat.status("s").summary == "ready, 1 file quarantined"


def test_cli_prints_the_summary_and_the_notes(db, tmp_path, capsys, monkeypatch):
    import duckdb

    import corpusql

    monkeypatch.setattr(corpusql, "connect", lambda path: duckdb.connect(str(path)))
    _write(tmp_path / "c", {"a.jsonl": _lines({"t": "x"}, {"t": 5}),
                            "b.jsonl": b"[1, 2\n"})
    assert _main(["dataset", "add", "--db", str(db), "c", str(tmp_path / "c" / "*")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("c\tready, 1 file quarantined, 1 note\tjsonl\t2 files")
    assert (f"  note: {tmp_path / 'c' / 'a.jsonl'}: column t: 1 non-string value kept as its "
            "JSON text (first at line 2: 5 -> '5')") in out


def test_a_later_file_with_a_lineage_column_is_quarantined(lake, tmp_path):
    """Lineage names are fixed when a dataset is added; a later clash cannot rename them."""
    con, cat = lake
    d = tmp_path / "l"
    _write(d, {"a.jsonl": _lines({"t": "x"})})
    cat.add("l", str(d / "*.jsonl"))
    (d / "b.jsonl").write_bytes(_lines({"t": "y", "_row": 3}))
    cat.sync("l")
    assert con.execute("SELECT t, _row FROM l").fetchall() == [("x", 1)]
    (line, reason), = con.execute("SELECT line, reason FROM corpusql.quarantine "
                                  "WHERE dataset = 'l'").fetchall()
    assert line is None and reason.startswith("column _row has the name of this dataset's "
                                              "lineage column _row; the file is left out")
    assert cat.status("l").summary == "ready, 1 file quarantined"


def test_lineage_prefix_option_is_the_knob(lake, tmp_path):
    con, cat = lake
    d = tmp_path / "k"
    _write(d, {"a.parquet": lambda p: write_parquet(p, 2)})
    cat.add("k", str(d / "*.parquet"), options={"lineage_prefix": "src_"})
    assert con.execute("SELECT id, src_row FROM k ORDER BY id").fetchall() == [(0, 1), (1, 2)]
    cat.add("k2", str(d / "*.parquet"))
    assert "src_row" not in [r[0] for r in con.execute("DESCRIBE k2").fetchall()]


def test_role_view_uses_the_renamed_lineage(db, tmp_path):
    import duckdb

    import corpusql

    d = tmp_path / "r"
    _write(d, {"a.parquet": _parquet(pa.table({"_file": ["upstream.jsonl"], "t": ["x"]}))})
    con = duckdb.connect(str(db))
    try:
        cat = corpusql.catalog(con)
        cat.add("r", str(d / "*.parquet"))
        cat.add_role("reader")
        cat.grant("reader", "r")
    finally:
        con.close()
    con = corpusql.connect(db, role="reader")
    try:
        assert con.execute("SELECT _file, t, _corpusql_file, _corpusql_row FROM r").fetchall() \
            == [("upstream.jsonl", "x", str(d / "a.parquet"), 1)]
    finally:
        con.close()

"""A small SQL logic test runner for ``tests/sql/**/*.test`` (the sqllogictest format, trimmed).

Records are separated by blank lines; ``#`` starts a comment line::

    statement ok
    CREATE TABLE docs AS SELECT 1 AS id, 'a' AS text

    statement error
    SELECT * FROM exact_dup_groups('nosuch', 'text', 'id')
    ----
    nosuch

    query ITI rowsort
    SELECT id, text, 2
    ----
    1	a	2

``statement error`` passes when the statement fails and the expected text (if any) occurs in
the message. ``query`` compares rows rendered tab-separated (NULL, true/false, floats to 6
significant digits); ``rowsort`` sorts the rendered rows first, ``nosort`` (default) does not.
Each file runs top to bottom on one fresh ``corpusql.connect()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

import corpusql


@dataclass
class Record:
    kind: str  # 'statement ok', 'statement error', 'query'
    sql: str
    expected: list[str]
    line: int
    sort: str = "nosort"
    types: str = ""


def parse(text: str, path: str) -> list[Record]:
    records: list[Record] = []
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for i, raw in enumerate(text.splitlines() + [""], 1):
        if raw.startswith("#"):
            continue
        if raw.strip() == "":
            if current:
                blocks.append((start, current))
                current = []
            continue
        if not current:
            start = i
        current.append(raw)
    for line, block in blocks:
        head = block[0].split()
        body = block[1:]
        if "----" in body:
            cut = body.index("----")
            sql, expected = body[:cut], body[cut + 1:]
        else:
            sql, expected = body, []
        if head[:2] == ["statement", "ok"]:
            records.append(Record("statement ok", "\n".join(sql), [], line))
        elif head[:2] == ["statement", "error"]:
            records.append(Record("statement error", "\n".join(sql), expected, line))
        elif head[0] == "query":
            types = head[1] if len(head) > 1 else ""
            sort = head[2] if len(head) > 2 else "nosort"
            if sort not in ("nosort", "rowsort"):
                raise ValueError(f"{path}:{line}: unknown sort mode {sort!r}")
            records.append(Record("query", "\n".join(sql), expected, line, sort, types))
        else:
            raise ValueError(f"{path}:{line}: unknown record {block[0]!r}")
    return records


def render_value(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(render_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {render_value(x)}" for k, x in v.items()) + "}"
    return str(v)


def run_file(path: Path) -> None:
    records = parse(path.read_text(encoding="utf-8"), str(path))
    con = corpusql.connect()
    try:
        for rec in records:
            where = f"{path}:{rec.line}"
            if rec.kind == "statement ok":
                try:
                    con.execute(rec.sql)
                except Exception as exc:  # noqa: BLE001 - reported with the place
                    pytest.fail(f"{where}: statement failed: {exc}\n{rec.sql}", pytrace=False)
            elif rec.kind == "statement error":
                try:
                    con.execute(rec.sql).fetchall()
                except Exception as exc:  # noqa: BLE001 - the expected outcome
                    want = "\n".join(rec.expected).strip()
                    if want and want not in str(exc):
                        pytest.fail(f"{where}: error message\n  {exc}\nlacks\n  {want}",
                                    pytrace=False)
                else:
                    pytest.fail(f"{where}: statement succeeded, expected an error\n{rec.sql}",
                                pytrace=False)
            else:
                try:
                    cur = con.execute(rec.sql)
                    rows = cur.fetchall()
                except Exception as exc:  # noqa: BLE001
                    pytest.fail(f"{where}: query failed: {exc}\n{rec.sql}", pytrace=False)
                if rec.types and len(cur.description) != len(rec.types):
                    pytest.fail(f"{where}: {len(cur.description)} columns, header says "
                                f"{len(rec.types)} ({rec.types})", pytrace=False)
                got = ["\t".join(render_value(v) for v in r) for r in rows]
                want = list(rec.expected)
                if rec.sort == "rowsort":
                    got, want = sorted(got), sorted(want)
                if got != want:
                    diff = "\n".join(f"  got:  {g!r}\n  want: {w!r}"
                                     for g, w in zip(got + [""] * len(want), want + [""] * len(got))
                                     if g != w)
                    pytest.fail(f"{where}: result differs\n{rec.sql}\n{diff}", pytrace=False)
    finally:
        con.close()


class SqlLogicFile(pytest.File):
    def collect(self):
        yield SqlLogicItem.from_parent(self, name=self.path.name)


class SqlLogicItem(pytest.Item):
    def runtest(self) -> None:
        run_file(self.path)

    def reportinfo(self):
        return self.path, 0, f"sqllogic: {self.path.name}"

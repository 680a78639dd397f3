"""line_hash, line_dup_counts, remove_common_lines and text_line_units."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest

import corpusql
from corpusql.demo import sample_path
from corpusql.udfs.line_hash import line_hash
from corpusql.udfs.text import text_normalize

DOCS = [
    (1, "intro one\nCopyright (C) 2024 Foo Project\nbody one\n\nSee also: bar(1)"),
    (2, "intro two\ncopyright (c) 2024 foo project.\r\nbody two\n\nSee also: bar(1)\n"),
    (3, "Copyright  (C) 2024 Foo Project\n\nintro three\n\nSee also: bar(1)"),
    (4, None),
    (5, ""),
    (6, "alone\n\n\n   \nalone"),
]


@pytest.fixture
def tcon():
    c = corpusql.connect()
    c.execute("CREATE TABLE docs(id INTEGER, text VARCHAR)")
    c.executemany("INSERT INTO docs VALUES (?, ?)", DOCS)
    yield c
    c.close()


def test_line_hash_is_blake2b64_of_the_normalized_utf8_bytes():
    lines = ["Copyright (C) 2024 Foo", "  copyright c 2024   foo ", "日本語の文章", "", " -- ",
             None, "emoji 🎉 x"]
    got = line_hash(pa.array(lines)).to_pylist()
    norm = text_normalize(pa.array(lines)).to_pylist()
    want = [int.from_bytes(hashlib.blake2b(n.encode(), digest_size=8).digest(), "little")
            if n else None for n in norm]
    assert got == want
    assert got[0] == got[1] and got[3] is None and got[4] is None and got[5] is None


def test_counts_count_documents_once(tcon):
    rows = tcon.execute("SELECT n_docs, n_occurrences, example FROM line_dup_counts('docs', "
                        "'text') WHERE n_docs > 1 ORDER BY example").fetchall()
    assert rows == [(3, 3, "Copyright  (C) 2024 Foo Project"), (3, 3, "See also: bar(1)")]
    alone = tcon.execute("SELECT n_docs, n_occurrences FROM line_dup_counts('docs', 'text') "
                         "WHERE example = 'alone'").fetchall()
    assert alone == [(1, 2)]  # twice in one document: one document


def test_remove_common_lines(tcon):
    rows = tcon.execute("SELECT id, clean_text, n_removed FROM remove_common_lines('docs', "
                        "'text', min_docs := 3)").fetchall()
    assert rows == [
        (1, "intro one\nbody one\n", 2),
        (2, "intro two\nbody two\n\n", 2),
        (3, "\nintro three\n", 2),
        (4, None, 0),
        (5, "", 0),
        (6, "alone\n\n\n   \nalone", 0),
    ]


def test_nothing_removed_gives_the_text_byte_for_byte(tcon):
    rows = tcon.execute("SELECT text IS NOT DISTINCT FROM clean_text, n_removed FROM "
                        "remove_common_lines('docs', 'text', min_docs := 4)").fetchall()
    assert rows == [(True, 0)] * len(DOCS)


def test_paragraph_unit(tcon):
    tcon.execute("INSERT INTO docs VALUES (7, 'x\nSee also: bar(1)\n\ny'), "
                 "(8, 'Copyright (C) 2024 Foo Project\nintro three')")
    counts = tcon.execute("SELECT n_docs, example FROM line_dup_counts('docs', 'text', "
                          "unit := 'paragraph') WHERE n_docs > 1 ORDER BY example").fetchall()
    # 'x\nSee also: bar(1)' is one paragraph, not the paragraph 'See also: bar(1)'; the
    # copyright line is a paragraph of its own in document 3 only
    assert counts == [(3, "See also: bar(1)")]
    rows = dict(tcon.execute("SELECT id, clean_text FROM remove_common_lines('docs', 'text', "
                             "min_docs := 2, unit := 'paragraph')").fetchall())
    assert rows[1] == "intro one\nCopyright (C) 2024 Foo Project\nbody one\n"
    assert rows[3] == "Copyright  (C) 2024 Foo Project\n\nintro three\n"
    assert rows[7] == "x\nSee also: bar(1)\n\ny"
    assert rows[8] == "Copyright (C) 2024 Foo Project\nintro three"


def test_units_number_paragraphs_and_skip_blank_lines(tcon):
    rows = tcon.execute("SELECT pos, line, unit_no FROM text_line_units('docs', 'text', 'id', "
                        "unit := 'paragraph') WHERE doc = 6").fetchall()
    assert rows == [(1, "alone", 0), (2, "", None), (3, "", None), (4, "   ", None),
                    (5, "alone", 3)]


@pytest.mark.parametrize("sql, message", [
    ("SELECT * FROM line_dup_counts('docs', 'text', unit := 'sentence')",
     "unit := 'sentence' is not one of line, paragraph"),
    ("SELECT * FROM remove_common_lines('docs', 'text', min_docs := 0)",
     "min_docs := 0 must be at least 1"),
])
def test_bad_arguments_name_the_parameter(tcon, sql, message):
    with pytest.raises(Exception, match=message):
        tcon.execute(sql).fetchall()


@pytest.fixture(scope="module")
def sample_con():
    c = corpusql.connect()
    c.execute("SET enable_progress_bar = false")
    c.execute("CREATE TABLE sample AS SELECT id, text FROM read_parquet(?)", [str(sample_path())])
    yield c
    c.close()


DEBIAN_BOILERPLATE = [
    "This is free software: you are free to change and redistribute it.  There is NO WARRANTY, to",
    "Mail an die Mailingliste der Übersetzer <debian-l10n-german@lists.debian.org>.",
    "Diese Übersetzung ist Freie Dokumentation; lesen Sie die GNU General Public License Version 3",
    "The Debian Administrator's Handbook",
]


def test_debian_boilerplate_of_the_bundled_sample_is_caught(sample_con):
    sample_con.execute("CREATE TEMP TABLE cleaned AS SELECT id, text, clean_text, n_removed "
                       "FROM remove_common_lines('sample', 'text', min_docs := 3)")
    common = {r[0].strip() for r in sample_con.execute(
        "SELECT example FROM line_dup_counts('sample', 'text') WHERE n_docs >= 20").fetchall()}
    for line in DEBIAN_BOILERPLATE:
        assert line in common, line
        has = ("list_contains(list_transform(string_split({}, chr(10)), lambda x: trim(x)), "
               "$line)")
        before, after = sample_con.execute(
            f"SELECT count(*) FILTER (WHERE {has.format('text')}), "
            f"count(*) FILTER (WHERE {has.format('clean_text')}) FROM cleaned",
            {"line": line}).fetchone()
        assert before >= 20 and after == 0, (line, before, after)
    n, removed = sample_con.execute("SELECT count(*), sum(n_removed) FROM cleaned").fetchone()
    assert n == sample_con.execute("SELECT count(*) FROM sample").fetchone()[0]
    assert removed > 10_000


def test_documents_of_one_repeated_line(tcon):
    """The worst case for repeated lines: every line of three documents is the same line."""
    tcon.execute("INSERT INTO docs SELECT 10 + i, repeat('same line' || chr(10), 20000) "
                 "FROM range(3) AS t(i)")
    counts = tcon.execute("SELECT n_docs, n_occurrences FROM line_dup_counts('docs', 'text') "
                          "WHERE example = 'same line'").fetchall()
    assert counts == [(3, 60000)]
    rows = tcon.execute("SELECT id, clean_text, n_removed FROM remove_common_lines('docs', "
                        "'text', min_docs := 3) WHERE id >= 10").fetchall()
    assert rows == [(10 + i, "", 20000) for i in range(3)]  # the final empty line is not a line

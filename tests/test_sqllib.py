"""The SQL library loader: headers, dependency order, checks, versions, pure SQL in bare DuckDB."""

from __future__ import annotations

import duckdb
import pytest

from corpusql import sqllib
from corpusql.functions import REGISTRY
from corpusql.sqllib import SqlLibraryError, body_version, check_references, parse_file

GOOD = """\
-- twice(x)
--
-- Doubles x.
--
-- returns: value
-- source: arithmetic
CREATE OR REPLACE MACRO twice(x) AS x * 2;
"""


def test_every_library_file_parses_and_loads(con):
    objs = sqllib.library()
    assert objs, "the library is empty"
    names = {r[0] for r in con.execute(
        "SELECT function_name FROM duckdb_functions() WHERE database_name = 'temp'").fetchall()}
    names |= {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    for o in objs:
        assert o.name in names
        assert o.path.endswith(f"/{o.name}.sql")


def test_dependencies_come_first():
    order = [o.name for o in sqllib.library()]
    for o in sqllib.library():
        for dep in o.depends:
            assert order.index(dep) < order.index(o.name)


def test_pure_sql_files_work_in_a_bare_duckdb():
    """Pure-SQL files are `.read`-able in the stock shell: create them with no corpusql at all."""
    bare = duckdb.connect()
    try:
        pure = [o for o in sqllib.library() if o.pure_sql]
        assert pure
        for o in pure:
            bare.execute(o.body)
        bare.execute("CREATE TABLE rel AS SELECT 'train' AS split, 'abc' AS text")
        assert bare.execute("SELECT n_rows FROM split_summary('rel')").fetchall() == [(1,)]
    finally:
        bare.close()


def test_version_ignores_comments_and_spacing_but_not_code():
    a = "CREATE MACRO f(x) AS x + 1"
    assert body_version(a) == body_version("-- note\nCREATE  MACRO f(x)\n  AS x + 1  ")
    assert body_version(a) != body_version("CREATE MACRO f(x) AS x + 2")


def test_good_file_parses():
    obj = parse_file("sql/misc/twice.sql", GOOD)
    assert (obj.name, obj.kind, obj.params, obj.returns, obj.doc) == (
        "twice", "macro", ("x",), ("value",), "Doubles x.")


@pytest.mark.parametrize("path, text, message", [
    ("sql/a/twice.sql", "CREATE OR REPLACE MACRO twice(x) AS x;", "missing header"),
    ("sql/a/other.sql", GOOD, "header names 'twice' but the file is 'other'"),
    ("sql/a/twice.sql", GOOD.replace("-- returns: value\n", ""), "no 'returns:'"),
    ("sql/a/twice.sql", GOOD + "SELECT 1;\n", "holds 2 statements"),
    ("sql/a/twice.sql", GOOD.replace("MACRO twice", "TEMP MACRO twice"), "without TEMP"),
    ("sql/a/twice.sql", GOOD.replace("MACRO twice(x) AS", "MACRO thrice(x) AS"),
     "creates 'thrice'"),
])
def test_malformed_files_are_refused_with_the_path(path, text, message):
    with pytest.raises(SqlLibraryError, match=message) as err:
        parse_file(path, text)
    assert path in str(err.value)


def test_requires_must_match_the_body():
    text = GOOD.replace("AS x * 2", "AS word_count(x)")
    obj = parse_file("sql/a/twice.sql", text)
    with pytest.raises(SqlLibraryError, match="calls word_count but the header's 'requires:'"):
        check_references(obj, {f.name for f in REGISTRY}, set())
    listed = parse_file("sql/a/twice.sql", GOOD.replace("-- source", "-- requires: word_count\n"
                                                        "-- source"))
    with pytest.raises(SqlLibraryError, match="lists word_count, which the body never calls"):
        check_references(listed, {f.name for f in REGISTRY}, set())


def test_header_parameters_are_checked_against_duckdb(con):
    obj = parse_file("sql/a/twice.sql", GOOD.replace("-- twice(x)", "-- twice(y)"))
    con.execute(sqllib.temp_statement(obj))
    with pytest.raises(SqlLibraryError, match=r"header parameters \('y',\) but DuckDB reports"):
        sqllib.check_created(con, obj)


def test_dependency_cycles_and_unknown_dependencies_are_refused():
    def obj(name, deps):
        text = GOOD.replace("twice", name).replace("-- source", f"-- depends: {deps}\n-- source")
        return parse_file(f"sql/a/{name}.sql", text)

    with pytest.raises(SqlLibraryError, match="dependency cycle"):
        sqllib._toposort([obj("a", "b"), obj("b", "a")])
    with pytest.raises(SqlLibraryError, match="depends on 'zzz', which no sql/ file defines"):
        sqllib._toposort([obj("a", "zzz")])


def test_library_objects_are_temp(tmp_path):
    import corpusql

    db = tmp_path / "x.duckdb"
    c = corpusql.connect(db)
    c.close()
    plain = duckdb.connect(str(db))
    try:
        lib = {o.name for o in sqllib.library()}
        found = {r[0] for r in plain.execute(
            "SELECT function_name FROM duckdb_functions() WHERE NOT internal").fetchall()}
        assert not lib & found
    finally:
        plain.close()

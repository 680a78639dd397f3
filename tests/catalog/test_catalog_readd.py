"""Adding a name again: a failed dataset is retried, a working one only with replace."""

from __future__ import annotations

import duckdb
import pytest
from catalog_helpers import write_jsonl, write_parquet

from corpusql.catalog import CatalogError
from corpusql.catalog.cli import _main


def test_failed_add_is_retried_by_adding_again(lake, tmp_path):
    con, cat = lake
    glob = str(tmp_path / "late" / "*.jsonl")
    with pytest.raises(CatalogError, match=r"add it again.*replace=True"):
        cat.add("late", glob)
    assert cat.status("late").status == "failed"
    write_jsonl(tmp_path / "late" / "a.jsonl", [{"x": 1}])
    st = cat.add("late", glob)
    assert (st.status, st.files, st.error) == ("ready", 1, None)
    assert con.execute("SELECT x FROM late").fetchall() == [(1,)]


def test_failed_add_retried_with_another_uri(lake, tmp_path):
    con, cat = lake
    with pytest.raises(CatalogError):
        cat.add("typo", str(tmp_path / "tpyo" / "*.parquet"))
    write_parquet(tmp_path / "typo" / "a.parquet", 3)
    st = cat.add("typo", str(tmp_path / "typo" / "*.parquet"))
    assert (st.status, st.uri) == ("ready", str(tmp_path / "typo" / "*.parquet"))
    assert con.execute("SELECT count(*) FROM typo").fetchall() == [(3,)]


def test_a_ready_dataset_is_replaced_only_when_asked(lake, tmp_path):
    con, cat = lake
    write_jsonl(tmp_path / "one" / "a.jsonl", [{"x": 1}])
    write_jsonl(tmp_path / "two" / "a.jsonl", [{"x": 2}, {"x": 3}])
    cat.add("d", str(tmp_path / "one" / "*.jsonl"))
    cat.add_role("team")
    cat.grant("team", "d")
    with pytest.raises(CatalogError, match=r"already exists.*replace=True"):
        cat.add("d", str(tmp_path / "two" / "*.jsonl"))
    assert con.execute("SELECT x FROM d").fetchall() == [(1,)]
    old_cache = con.execute("SELECT cache_path FROM corpusql.files").fetchall()[0][0]
    st = cat.add("d", str(tmp_path / "two" / "*.jsonl"), replace=True)
    assert (st.status, st.files) == ("ready", 1)
    assert con.execute("SELECT x FROM d ORDER BY x").fetchall() == [(2,), (3,)]
    assert con.execute("SELECT count(*) FROM corpusql.files").fetchall() == [(1,)]
    assert con.execute("SELECT role FROM corpusql.grants").fetchall() == [("team",)]
    assert old_cache != con.execute("SELECT cache_path FROM corpusql.files").fetchall()[0][0]


def test_cli_add_again_and_replace(db, tmp_path, capsys, monkeypatch):
    import corpusql

    monkeypatch.setattr(corpusql, "connect", lambda path: duckdb.connect(str(path)))
    monkeypatch.setenv("CORPUSQL_DB", str(db))
    glob = str(tmp_path / "c" / "*.jsonl")
    assert _main(["dataset", "add", "c", glob]) == 1
    err = capsys.readouterr().err
    assert "no files match" in err and "--replace" in err
    assert _main(["dataset", "status", "c"]) == 0
    assert "c\tfailed" in (out := capsys.readouterr().out) and "dataset add --replace c" in out
    write_jsonl(tmp_path / "c" / "a.jsonl", [{"x": 1}])
    assert _main(["dataset", "add", "c", glob]) == 0
    assert "c\tready\tjsonl\t1 files" in capsys.readouterr().out
    assert _main(["dataset", "add", "c", glob]) == 1
    assert "--replace" in capsys.readouterr().err
    assert _main(["dataset", "add", "c", glob, "--replace"]) == 0
    assert "c\tready" in capsys.readouterr().out


def test_replacing_a_dataset_forgets_its_old_notes(lake, tmp_path):
    """The test failed before this change: the old source's note ("kept as its text") was
    still shown by dataset status after the dataset was replaced by a clean source."""
    con, cat = lake
    write_jsonl(tmp_path / "odd" / "a.jsonl", [{"t": "a"}, {"t": "b"}, {"t": 3}])
    write_jsonl(tmp_path / "clean" / "a.jsonl", [{"t": "c"}])
    assert cat.add("d", str(tmp_path / "odd" / "*.jsonl")).notes
    st = cat.add("d", str(tmp_path / "clean" / "*.jsonl"), replace=True)
    assert (st.status, st.notes) == ("ready", [])
    assert con.execute("SELECT count(*) FROM corpusql.notes WHERE dataset = 'd'").fetchall() \
        == [(0,)]

"""release_diff says why a document left: the stage and reason from the recipe's removal log
(kept in the release as ``_removals.pq``), or the takedown a rebuild applied through the
catalog's views."""

from __future__ import annotations

import pytest
from prov_helpers import ALL, ids

import corpusql
from corpusql.materializer import MaterializeError, read_manifest, verify
from corpusql.releases import materialize

RECIPE = f"""
CREATE OR REPLACE TABLE recipe_removed AS
SELECT id, 'quality' AS step, 'fewer than ' || {{min}} || ' words' AS reason, 'n=3' AS detail
FROM ({ALL}) WHERE id IN ({{gone}});
CREATE OR REPLACE TABLE recipe_kept AS
SELECT * FROM ({ALL}) WHERE id NOT IN (SELECT id FROM recipe_removed);
"""


def _run(con, gone: str, minimum: int) -> None:
    for stmt in RECIPE.format(gone=gone, min=minimum).split(";"):
        if stmt.strip():
            con.execute(stmt)


def test_a_removal_gets_its_stage_and_reason_from_the_removal_log(lake, tmp_path, mcon):
    con, _ = lake
    out = tmp_path / "out"
    _run(con, "'web-1'", 5)
    first = materialize(con, "SELECT * FROM recipe_kept", out, versioned=True,
                        removal_log="recipe_removed", order_by="id")
    assert first.manifest["removal_log"] == "recipe_removed"
    assert first.manifest["index"]["removals"]["rows"] == 1
    _run(con, "'web-1', 'web-2', 'books-3'", 8)  # a stricter recipe
    materialize(con, "SELECT * FROM recipe_kept", out, versioned=True,
                removal_log="recipe_removed", order_by="id")
    assert verify(out / "current").ok and "web-2" not in ids(out / "current")
    rows = mcon.execute(f"SELECT id, change, stage, reason FROM release_diff("
                        f"'{out}/v0001', '{out}') ORDER BY id").fetchall()
    assert rows == [("books-3", "removed", "quality", "fewer than 8 words"),
                    ("web-2", "removed", "quality", "fewer than 8 words")]


def test_a_removal_log_without_its_columns_is_refused_naming_them(lake, tmp_path):
    con, _ = lake
    con.execute("CREATE TABLE bad_log AS SELECT 'web-1' AS id, 'x' AS why")
    with pytest.raises(MaterializeError, match=r"bad_log.*step.*reason"):
        materialize(con, ALL, tmp_path / "o", removal_log="bad_log")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_a_takedown_applied_by_the_catalog_view_shows_in_the_diff(lake, tmp_path, mcon):
    con, _ = lake
    out = tmp_path / "out"
    materialize(con, ALL, out, versioned=True)
    rep = corpusql.takedown(con, {"url": "https://www.example.com/web/9"}, "opt-out", "OPT-9")
    assert rep.recorded and rep.rows == []  # no release named: only the catalog's view
    materialize(con, ALL, out, versioned=True)  # the rebuild
    assert read_manifest(out / "current")["takedowns"][0]["hidden_in_inputs"] == {"web": 1}
    rows = mcon.execute(f"SELECT id, change, stage, reason FROM release_diff("
                        f"'{out}/v0001', '{out}')").fetchall()
    assert rows == [("web-9", "removed", "takedown", "opt-out (request OPT-9)")]

"""``corpusql run recipe.sql --engine spark OUT``: outputs published as versioned releases.

The same rules as the DuckDB recipe runs (``corpusql demo``, corpusql.releases): each run writes
``OUT/<output>/vNNNN/`` and moves ``OUT/<output>/current``; ``keep`` versions are kept; an older
unversioned output becomes ``v0001`` in one swap; ``--unversioned`` replaces in place and
refuses a versioned release; the catalog's recorded takedowns are applied to what is written.
A tiny recipe on the shared local[2] session; the manifests are compared with those the DuckDB
path writes for the same recipe.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_materialize_spark import rows_hash

import corpusql
from corpusql.cli import main
from corpusql.materializer import read_manifest, verify
from corpusql.releases import ReleaseError, rollback
from corpusql.spark.run import run_recipe

pytestmark = pytest.mark.spark

URL = "https://www.example.com/docs/4"


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.delenv("CORPUSQL_KEEP_VERSIONS", raising=False)
    monkeypatch.delenv("CORPUSQL_DB", raising=False)
    monkeypatch.delenv("CORPUSQL_FAULT", raising=False)


@pytest.fixture
def docs(tmp_path) -> Path:
    """Eight documents: id, text, url."""
    path = tmp_path / "docs.parquet"
    con = corpusql.connect()
    try:
        con.execute(f"""COPY (SELECT 'd' || i AS id, 'document number ' || i || ' says ' ||
                                    repeat('word ', i + 2) AS text,
                                    'https://www.example.com/docs/' || i AS url
                             FROM range(8) AS t(i)) TO '{path}' (FORMAT parquet)""")
    finally:
        con.close()
    return path


@pytest.fixture
def recipe(tmp_path, docs) -> Path:
    path = tmp_path / "tiny.sql"
    path.write_text(
        f"-- input docs = {docs}\n"
        "-- output kept: SELECT id, text, url, n_words FROM kept ORDER BY id\n"
        "-- removal_log: tiny_removed\n"
        "CREATE OR REPLACE TEMP TABLE tiny_removed AS\n"
        "SELECT id, 'filter' AS step, 'the seventh' AS reason FROM docs WHERE id = 'd7';\n"
        "CREATE OR REPLACE TEMP TABLE kept AS\n"
        "SELECT id, text, url, word_count(text) AS n_words FROM docs WHERE id <> 'd7';\n",
        encoding="utf-8")
    return path


def _ids(release: Path) -> list[str]:
    return sorted(i for f in sorted(release.glob("*.parquet"))
                  for i in pq.read_table(f).column("id").to_pylist())


def test_each_run_adds_a_version_and_moves_current(spark, recipe, tmp_path):
    root = tmp_path / "out" / "kept"
    first = run_recipe(spark, recipe, tmp_path / "out").outputs["kept"]
    assert first.status == "written" and first.out_dir == root / "v0001"
    assert os.readlink(root / "current") == "v0001"
    second = run_recipe(spark, recipe, tmp_path / "out").outputs["kept"]
    assert second.out_dir == root / "v0002" and os.readlink(root / "current") == "v0002"
    assert verify(root).ok and verify(root / "v0001").ok
    assert rows_hash(root / "v0001") == rows_hash(root / "v0002")
    assert _ids(root / "current") == [f"d{i}" for i in range(7)]
    third = run_recipe(spark, recipe, tmp_path / "out", keep=2).outputs["kept"]
    assert third.out_dir == root / "v0003"
    assert sorted(p.name for p in root.glob("v*")) == ["v0002", "v0003"]  # v0001 pruned


def test_an_unversioned_output_becomes_v0001_and_is_never_overwritten_unversioned(
        spark, recipe, tmp_path):
    root = tmp_path / "out" / "kept"
    old = run_recipe(spark, recipe, tmp_path / "out", versioned=False).outputs["kept"]
    assert old.out_dir == root and (root / "_manifest.json").is_file()
    before = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    new = run_recipe(spark, recipe, tmp_path / "out").outputs["kept"]
    assert new.out_dir == root / "v0002" and os.readlink(root / "current") == "v0002"
    assert {p.name: p.read_bytes() for p in (root / "v0001").iterdir()} == before
    assert not (root / "_manifest.json").exists() and verify(root / "v0001").ok
    with pytest.raises(ReleaseError, match="versioned release.*--unversioned"):
        run_recipe(spark, recipe, tmp_path / "out", versioned=False)
    assert os.readlink(root / "current") == "v0002"


def test_cli_keep_and_unversioned(spark, recipe, tmp_path, capsys):
    out = tmp_path / "out"
    for _ in range(2):
        assert main(["-q", "run", str(recipe), "--engine", "spark", str(out), "--keep", "1"]) == 0
    assert sorted(p.name for p in (out / "kept").glob("v*")) == ["v0002"]
    assert "current -> v0002" in capsys.readouterr().out
    assert main(["-q", "run", str(recipe), "--engine", "spark", str(tmp_path / "flat"),
                 "--unversioned"]) == 0
    assert (tmp_path / "flat" / "kept" / "_manifest.json").is_file()
    assert main(["-q", "run", str(recipe), "--engine", "spark", str(tmp_path / "flat"),
                 "--unversioned", "--keep", "2"]) == 1
    assert "--keep 2 applies to versioned" in capsys.readouterr().err


def _duckdb_run(lake: Path, recipe: Path, out: Path):
    """The DuckDB path for the same recipe: its input the catalog's view, its output
    versioned."""
    from corpusql.releases import materialize
    from corpusql.scripts import run_script

    sql = recipe.read_text(encoding="utf-8")
    con = corpusql.connect(lake)
    try:
        run_script(con, sql, path=str(recipe))
        return materialize(con, "SELECT id, text, url, n_words FROM kept", out, order_by="id",
                           recipe=sql, versioned=True, removal_log="tiny_removed")
    finally:
        con.close()


def _shape(m: dict) -> dict:
    """What must be equal between the engines' manifests: keys, and the keys of their parts."""
    return {"keys": sorted(m), "file": sorted(m["files"][0]), "index": sorted(m["index"]),
            "licences": sorted(m["licences"]),
            "takedowns": [(sorted(t), t["request_id"], t["removed"]) for t in m["takedowns"]],
            "takedown_requests": m["takedown_requests"]}


def test_catalog_takedowns_apply_and_the_manifest_has_the_duckdb_shape(
        spark, recipe, docs, tmp_path, capsys):
    lake = tmp_path / "lake.duckdb"
    con = corpusql.connect(lake)
    try:
        corpusql.catalog(con).add("docs", str(docs))  # the recipe's input, in the catalog
        corpusql.takedown(con, {"url": URL}, "opt-out", "REQ-4")  # hidden in the view of docs
    finally:
        con.close()
    duck = _duckdb_run(lake, recipe, tmp_path / "duck" / "kept")
    run = run_recipe(spark, recipe, tmp_path / "spark", lake=lake)
    assert run.hidden == {"docs": 1}  # left out of the Spark view docs, as DuckDB's hides it
    sp = run.outputs["kept"]
    assert sp.out_dir == tmp_path / "spark" / "kept" / "v0001"
    assert verify(duck.out_dir).ok and verify(sp.out_dir).ok
    assert "d4" not in _ids(sp.out_dir) and _ids(sp.out_dir) == _ids(duck.out_dir)
    assert rows_hash(sp.out_dir) == rows_hash(duck.out_dir)
    dm, sm = read_manifest(duck.out_dir), read_manifest(sp.out_dir)
    assert sm["engine"] == "spark" and dm["engine"] == "duckdb"
    assert _shape(sm) == _shape(dm)
    assert _shape(sm)["takedowns"] == [(["applied", "hidden_in_inputs", "match", "reason",
                                         "removed", "request_id"], "REQ-4", 0)]
    assert sm["takedowns"][0]["hidden_in_inputs"] == dm["takedowns"][0]["hidden_in_inputs"] == {
        "docs": 1}
    assert sm["removal_log"] == "tiny_removed" and "removals" in sm["index"]
    assert pq.read_table(sp.out_dir / "_removals.pq").to_pylist() == pq.read_table(
        duck.out_dir / "_removals.pq").to_pylist() == [
            {"id": "d7", "step": "filter", "reason": "the seventh"}]
    # the CLI reads the catalog from --db (or $CORPUSQL_DB) the same way
    assert main(["-q", "run", str(recipe), "--engine", "spark", str(tmp_path / "cli"),
                 "--db", str(lake)]) == 0
    assert _ids(tmp_path / "cli" / "kept" / "current") == _ids(duck.out_dir)
    assert "input docs: 1 rows left out" in capsys.readouterr().out


def test_a_document_made_by_the_recipe_is_removed_when_the_output_is_written(
        spark, tmp_path, docs):
    """A taken-down document no input holds (the recipe wrote it) leaves at the write."""
    lake = tmp_path / "lake.duckdb"
    con = corpusql.connect(lake)
    try:
        corpusql.catalog(con).add("docs", str(docs))
        corpusql.takedown(con, {"url": URL}, "opt-out", "REQ-4")
    finally:
        con.close()
    recipe = tmp_path / "made.sql"
    recipe.write_text(
        f"-- input docs = {docs}\n"
        "-- output kept: SELECT id, url FROM made ORDER BY id\n"
        "CREATE OR REPLACE TEMP TABLE made AS\n"
        f"SELECT 'copy' AS id, '{URL}?utm_source=x' AS url UNION ALL SELECT id, url FROM docs;\n",
        encoding="utf-8")
    out = run_recipe(spark, recipe, tmp_path / "out", lake=lake).outputs["kept"]
    assert _ids(out.out_dir) == [f"d{i}" for i in range(8) if i != 4]
    assert [(t["request_id"], t["removed"]) for t in read_manifest(out.out_dir)["takedowns"]] \
        == [("REQ-4", 1)]


def test_kill_9_while_publishing_a_version_leaves_current_as_it_was(spark, recipe, tmp_path):
    """The real CLI killed (SIGKILL, by corpusql's fault points) after Spark wrote a version's
    files, and after the new ``current`` link was made but before it replaced the old one:
    ``current`` still names the complete v0001 each time; the next run cleans up and moves on."""
    import signal
    import subprocess
    import sys

    from test_run_spark import SUBMIT_ARGS

    out = tmp_path / "out"
    root = out / "kept"
    run_recipe(spark, recipe, out)
    before = rows_hash(root / "current")
    for point in ("write:copied", "releases:pointer-staged"):
        proc = subprocess.run(
            [sys.executable, "-m", "corpusql.cli", "-q", "run", str(recipe), "--engine", "spark",
             "--master", "local[2]", str(out)], capture_output=True, text=True, timeout=900,
            env={**os.environ, "PYSPARK_SUBMIT_ARGS": SUBMIT_ARGS, "CORPUSQL_FAULT": point})
        assert proc.returncode == -signal.SIGKILL, (point, proc.stderr[-2000:])
        assert os.readlink(root / "current") == "v0001", point
        assert verify(root).ok and rows_hash(root / "current") == before
    assert any(p.name.startswith(".current.tmp-") for p in root.iterdir())  # the killed link
    again = run_recipe(spark, recipe, out).outputs["kept"]
    assert again.out_dir == root / "v0003" and os.readlink(root / "current") == "v0003"
    assert any("pointer left by a killed writer" in line for line in again.recovered)
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []
    assert verify(root).ok and rows_hash(root / "current") == before


def test_an_opt_out_and_an_erasure_on_spark_releases_end_to_end(spark, recipe, docs, tmp_path):
    """docs/provenance.md sections 4 and 5 on the outputs of Spark runs: a takedown publishes a
    version without the document, release_diff names the request, an erasure with purge takes
    the document out of every kept version (verify passes on each), and the next Spark run of
    the recipe does not bring either document back."""
    lake, root = tmp_path / "lake.duckdb", tmp_path / "out" / "kept"
    con = corpusql.connect(lake)
    try:
        corpusql.catalog(con).add("docs", str(docs))
    finally:
        con.close()
    for _ in range(2):
        run_recipe(spark, recipe, tmp_path / "out", lake=lake)
    (erased,) = [r["text"] for r in pq.read_table(docs).to_pylist() if r["id"] == "d5"]
    con = corpusql.connect(lake)
    try:
        opt = corpusql.takedown(con, {"domain": "example.com"}, "site owner opt-out", "OPT-1",
                                [root], dry_run=True)
        assert [(r.version, r.action, r.found) for r in opt.rows] == [
            ("v0002", "would remove", 7)]  # the whole site: a domain takes every page
        opt = corpusql.takedown(con, {"url": URL}, "site owner opt-out", "OPT-1", [root])
        assert [(r.version, r.action, r.found) for r in opt.rows] == [("v0002", "removed", 1)]
        diff = con.execute(f"SELECT id, change, stage, reason FROM release_diff("
                           f"'{root}/v0002', '{root}')").fetchall()
        assert diff == [("d4", "removed", "takedown", "site owner opt-out (request OPT-1)")]
        erase = corpusql.takedown(con, {"near_text": erased, "threshold": 0.8},
                                  "GDPR art. 17 erasure", "DSR-1", [root], purge=True)
    finally:
        con.close()
    # near_text finds d5's near copies too: MinHash reads every digit as 0, and d3 .. d7 differ
    # only in their number and in how many times they say "word"
    assert [(r.version, r.action) for r in erase.rows] == [
        ("v0003", "removed"), ("v0001", "purged"), ("v0002", "purged"), ("v0003", "purged")]
    assert erase.rows[0].found == 3 and os.readlink(root / "current") == "v0004"
    for v in ("v0001", "v0002", "v0003", "v0004"):
        report = verify(root / v)
        assert report.ok, (v, report.problems)
        assert not {"d3", "d5", "d6"} & set(_ids(root / v)), v
    assert _ids(root / "v0004") == ["d0", "d1", "d2"]
    assert {t["request_id"] for t in read_manifest(root / "v0001")["tombstones"]} == {"DSR-1"}
    assert erased not in (root / "v0004" / "_manifest.json").read_text(encoding="utf-8")
    again = run_recipe(spark, recipe, tmp_path / "out", lake=lake)
    assert again.hidden == {"docs": 5} and again.outputs["kept"].out_dir == root / "v0005"
    assert _ids(root / "current") == ["d0", "d1", "d2"] and verify(root).ok
    manifest = read_manifest(root / "current")
    assert sorted(t["request_id"] for t in manifest["takedowns"]) == ["DSR-1", "OPT-1"]
    # the input is a file, not the catalog dataset: no licence is carried over, none guessed
    assert manifest["licences"]["redistributable"] == "unknown" and manifest["licences"]["why"]
    # a rollback to a purged version gives what its remaining files hold: never the erased ones
    assert rollback(root, "v0002") == "v0002" and verify(root).ok
    assert not {"d3", "d5", "d6"} & set(_ids(root / "current"))

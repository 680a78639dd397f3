"""The main job: `corpusql demo` on the bundled sample, and the stock DuckDB shell reading it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from corpusql.demo import demo, sample_path
from corpusql.materializer import read_manifest, verify


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    result = demo(out)
    return out, result


def test_sample_is_small_and_free_documentation():
    table = pq.read_table(sample_path())
    assert sample_path().stat().st_size < 5_000_000
    assert 3000 <= table.num_rows <= 6000
    assert set(table.column("source").to_pylist()) <= {
        "man", "handbook", "debref", "pydoc", "perlpod", "info"}


def _output_ids(out):
    return {split: pq.read_table(out / split / "current").column("id").to_pylist()
            for split in ("train", "val", "test")}


def test_demo_removes_what_was_injected_and_splits_the_rest(demo_out):
    out, result = demo_out
    sample = pq.read_table(sample_path()).to_pylist()
    ids = _output_ids(out)
    kept = set(ids["train"]) | set(ids["val"]) | set(ids["test"])
    origin = {r["id"]: r["origin"] for r in sample}
    # every exact and formatting-only copy goes; most edited copies go as near duplicates (the
    # copies with 8% of words edited fall below Jaccard 0.8 on word 5-grams and may stay)
    assert not [i for i in kept if origin[i] in ("exact", "format", "empty")]
    near = [i for i, o in origin.items() if o == "near"]
    assert len(set(near) - kept) > 0.6 * len(near)
    removed = {step: n for step, _reason, n in result.removed}
    assert removed["empty"] == 5
    assert removed["exact_dedup"] > 600 and removed["near_dedup"] > 200
    assert {"language", "gopher_repetition", "quality_model"} <= set(removed)
    # every document is accounted for: removed with a reason, or in a split
    split_docs = sum(n_docs for _s, _rows, n_docs, _c, _t in result.splits)
    assert sum(removed.values()) + split_docs + result.unmixed == result.docs_in == len(sample)
    summary = result.summary()
    for word in ("documents in", "removed: near_dedup", "flagged: c4_quality", "redacted: pii",
                 "split train", "mix of the train split"):
        assert word in summary


def test_train_is_a_token_budgeted_mix_and_the_split_is_leakage_free(demo_out):
    out, result = demo_out
    for group, target, achieved, _epochs, _short in result.mix:
        assert abs(target - achieved) < 0.005, group
    train = pq.read_table(out / "train" / "current")
    assert max(train.column("epoch").to_pylist()) >= 1  # small sources were repeated
    import corpusql

    con = corpusql.connect()
    try:
        con.execute(f"CREATE TABLE rel AS SELECT DISTINCT id, text, split FROM read_parquet("
                    f"['{out}/train/current/*.parquet', '{out}/val/current/*.parquet', "
                    f"'{out}/test/current/*.parquet'])")
        assert con.execute("SELECT straddling_pairs FROM split_leakage('rel', 'split', 'text', "
                           "threshold := 0.7)").fetchone() == (0,)
    finally:
        con.close()


def test_outputs_have_manifests_that_verify(demo_out):
    out, result = demo_out
    ids = _output_ids(out)
    for split in ("train", "val", "test"):
        assert verify(out / split).ok
        m = read_manifest(out / split / "current")
        assert {"exact_dup_groups", "near_dup_clusters", "split_dataset", "mix", "token_count",
                "pii_redact", "quality_score", "lang_id"} <= set(m["functions"])
        assert "near_dup_clusters" in m["recipe"]
    assert not set(ids["train"]) & set(ids["val"])
    assert not set(ids["val"]) & set(ids["test"])
    assert not set(ids["train"]) & set(ids["test"])


def test_demo_is_byte_identical_across_thread_counts(demo_out, tmp_path):
    out, _ = demo_out
    other = demo(tmp_path / "one-thread", threads=1)
    for split in ("train", "val", "test"):
        a = [f["sha256"] for f in read_manifest(out / split / "current")["files"]]
        b = [f["sha256"] for f in other.outputs[split].files]
        assert a == b


def test_stock_duckdb_shell_opens_the_demo_database(demo_out):
    """The duckdb-cli package (DuckDB 1.5) reads the file: a table, a view and a pure-SQL macro."""
    out, result = demo_out
    exe = shutil.which("duckdb", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the duckdb-cli package is not installed (pip install -e '.[test]')")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    assert version.startswith("v1.5"), version
    proc = subprocess.run(
        [exe, "-readonly", "-csv", str(out / "lake.duckdb"), "-c",
         "SELECT count(*) FROM docs; SELECT count(*) FROM train; "
         "SELECT split, n_rows FROM split_summary('release');"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    train_rows = {s: n for s, n, *_ in result.splits}["train"]
    assert f"{result.docs_in}" in proc.stdout
    assert f"train,{train_rows}" in proc.stdout
    assert "test," in proc.stdout


def test_demo_cli_prints_the_summary(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "corpusql.cli", "demo", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "removed: exact_dedup" in proc.stdout and "split test" in proc.stdout


def test_demo_exports_train_tokens_matching_the_mix(demo_out):
    from corpusql.export_tokens import check
    from corpusql.loader import TokenShards

    out, result = demo_out
    m = result.tokens_export.manifest
    assert check(out / "train_tokens") == []
    assert m["format"] == "datatrove" and m["dtype"] == "uint16" and m["null_texts"] == 0
    train = pq.read_table(out / "train" / "current").to_pydict()
    assert m["total_documents"] == len(train["id"])
    # tokens per source minus one EOS per document = the n_tokens the mix counted
    for source, g in m["groups"].items():
        n = [t for t, s in zip(train["n_tokens"], train["source"]) if s == source]
        assert g["tokens"] - g["documents"] == sum(n), source
    samples = list(TokenShards(out / "train_tokens", 2048))
    assert len(samples) == m["total_tokens"] // 2048
    assert "export train_tokens" in result.summary()


def test_a_second_run_adds_a_version_applies_takedowns_and_adopts_an_older_output(demo_out,
                                                                                 tmp_path):
    """Recipe runs write versions by default: a run over an older demo's output (val written in
    place, as before versions) keeps it as v0001 and adds v0002; the lake's views read current.
    A takedown recorded in the previous run's lake (found only in the catalog's view of the
    sample) is carried to the new run: the document is not back in any split, the manifest
    says the view hid it, and release_diff names the takedown as its stage. --unversioned
    refuses a versioned output before running anything."""
    import corpusql
    from corpusql.releases import current, versions

    out, first = demo_out
    again = tmp_path / "out"
    shutil.copytree(out, again, symlinks=True)
    val = again / "val"
    shutil.move(val / "v0001", tmp_path / "old-val")  # val as an older corpusql left it
    shutil.rmtree(val)
    shutil.move(tmp_path / "old-val", val)
    assert (val / "_manifest.json").is_file()
    before = _output_ids(out)
    con = corpusql.connect(again / "lake.duckdb")
    try:  # a val document that no removal names as its kept copy
        named = {r[0] for r in con.execute(
            "SELECT regexp_extract(reason, ' of (\\S+)$', 1) FROM demo_removed_log").fetchall()}
        gone = min(set(before["val"]) - named)
        rep = corpusql.takedown(con, {"id": gone}, "opt-out", "T-1")
        assert rep.recorded and [(r.release, r.found) for r in rep.datasets] == [
            ("dataset docs", 1)]
    finally:
        con.close()
    second = demo(again)
    assert "hidden: takedowns" in second.summary() and second.hidden == 1
    for split in ("train", "val", "test"):
        assert versions(again / split) == ["v0001", "v0002"], split
        assert current(again / split) == "v0002" and verify(again / split / "v0001").ok
    now = _output_ids(again)  # (its near-duplicate cluster's split may change without it)
    assert all(gone not in ids for ids in now.values()) and gone in before["val"]
    taken = read_manifest(again / "val" / "current")["takedowns"]
    assert [(t["request_id"], t["removed"], t.get("hidden_in_inputs")) for t in taken] == [
        ("T-1", 0, {"docs": 1})]
    con = corpusql.connect(again / "lake.duckdb", read_only=True)
    try:
        (n,) = con.execute("SELECT count(*) FROM val").fetchone()
        assert n == read_manifest(again / "val" / "v0002")["total_rows"]
        diff = con.execute(f"SELECT id, change, stage, reason FROM release_diff("
                           f"'{again}/val/v0001', '{again}/val') WHERE stage = 'takedown'"
                           ).fetchall()
        assert diff == [(gone, "removed", "takedown", "opt-out (request T-1)")]
    finally:
        con.close()
    proc = subprocess.run([sys.executable, "-m", "corpusql.cli", "demo", str(again),
                           "--unversioned"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "holds a versioned release" in proc.stderr
    assert versions(again / "train") == ["v0001", "v0002"]


def test_demo_reports_semantic_duplicates_and_keeps_them(demo_out):
    """Stage 4b: SemDeDup (static model, eps 0.05) reports documents; none is removed for it."""
    import duckdb

    out, result = demo_out
    origin = {r["id"]: r["origin"] for r in pq.read_table(sample_path()).to_pylist()}
    kept = {i for ids in _output_ids(out).values() for i in ids}
    con = duckdb.connect(str(out / "lake.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT id, kept_id, cluster_size, similarity "
                           "FROM demo_semantic_dups_log ORDER BY id").fetchall()
        steps = {r[0] for r in con.execute("SELECT DISTINCT step FROM demo_removed_log").fetchall()}
        (later,) = con.execute("SELECT count(*) FROM demo_semantic_dups_log WHERE id NOT IN "
                               "(SELECT id FROM demo_removed_log)").fetchone()
    finally:
        con.close()
    assert rows and all(i != k and n >= 2 for i, k, n, _s in rows)
    assert all(s > 0.95 for _i, _k, n, s in rows if n == 2)  # a pair: cosine > 1 - eps
    assert not {i for i, *_ in rows} & {k for _, k, *_ in rows}  # the kept ones are not reported
    assert not [s for s in steps if "semantic" in s]
    assert result.semantic_dups == later > 0
    reported = {i for i, *_ in rows}
    # edited copies that MinHash at 0.8 let through are among those reported, and are kept
    assert {i for i in reported & kept if origin[i] == "near"}
    assert "reported: semantic_dup" in result.summary()

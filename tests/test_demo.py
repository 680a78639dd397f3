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


def test_demo_removes_what_was_injected_and_splits_the_rest(demo_out):
    out, result = demo_out
    origin = pq.read_table(sample_path()).column("origin").to_pylist()
    removed = {step: n for step, _reason, n in result.removed}
    assert removed["empty"] == origin.count("empty")
    # every exact and formatting-only copy goes (plus natural duplicates in the corpus)
    assert removed["exact_dedup"] >= origin.count("exact") + origin.count("format")
    kept = sum(n for _s, n, _c in result.splits)
    assert kept + sum(removed.values()) == result.docs_in == len(origin)
    assert [s for s, _n, _c in result.splits] == ["train", "val", "test"]
    summary = result.summary()
    for word in ("documents in", "removed: empty", "removed: exact_dedup", "split train"):
        assert word in summary


def test_outputs_have_manifests_that_verify(demo_out):
    out, result = demo_out
    ids = set()
    for split in ("train", "val", "test"):
        assert verify(out / split).ok
        m = read_manifest(out / split)
        assert {"exact_dup_groups", "text_fingerprint", "split_assign"} <= set(m["functions"])
        assert "exact_dup_groups" in m["recipe"]
        split_ids = set(pq.read_table(out / split).column("id").to_pylist())
        assert not split_ids & ids, "a document in two splits"
        ids |= split_ids


def test_demo_is_byte_identical_across_thread_counts(demo_out, tmp_path):
    out, _ = demo_out
    other = demo(tmp_path / "one-thread", threads=1)
    for split in ("train", "val", "test"):
        a = [f["sha256"] for f in read_manifest(out / split)["files"]]
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
        [exe, "-readonly", "-csv", str(out / "corpusql.duckdb"), "-c",
         "SELECT count(*) FROM docs; SELECT count(*) FROM train; "
         "SELECT split, n_rows FROM split_summary('release');"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    train_rows = dict((s, n) for s, n, _c in result.splits)["train"]
    assert f"{result.docs_in}" in proc.stdout
    assert f"train,{train_rows}" in proc.stdout
    assert "test," in proc.stdout


def test_demo_cli_prints_the_summary(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "corpusql.cli", "demo", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "removed: exact_dedup" in proc.stdout and "split test" in proc.stdout

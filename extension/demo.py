"""``corpusql demo``: the project's main job on the bundled sample.

Registers the sample through the source catalog, runs ``sql/recipes/demo.sql`` (empty texts,
language, exact and near dedup, quality, PII redaction, tokens, leakage-free split, token-budget
mix), materializes ``OUT/train`` (the mix), ``OUT/val`` and ``OUT/test`` atomically with
manifests, each a versioned release (``OUT/train/v0001/``, ... and ``OUT/train/current``; each
run adds a version, ``versioned=False`` / ``--unversioned`` writes in place) that keeps the
recipe's removal log for ``release_diff``, exports the train split as tokenized, shuffled datatrove shards in
``OUT/train_tokens`` (``export_tokens``), and leaves ``OUT/lake.duckdb``: the catalog with the dataset ``docs``, views
``train``, ``val``, ``test`` and ``release`` (all three) over the current versions' Parquet files, the logs of
removed (``demo_removed_log``, stage by stage in the recipe's order) and flagged
(``demo_flags_log``) documents, the semantic duplicates reported and kept
(``demo_semantic_dups_log``), the quality signals (``demo_signals_log``) and thresholds
(``demo_thresholds_log``), the mix report and the pure-SQL macros, readable by the stock DuckDB
shell and BI tools.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .connect import connect
from .materializer import Result
from .progress import Progress
from .releases import materialize, prepare
from .scripts import run_script
from .sqllib import persist_pure_sql

SPLITS = ("train", "val", "test")
SUMMARY_REASONS = 4  # reasons of one step printed before "N other reasons"
TOKENS_DIR = "train_tokens"
DB_NAME = "lake.duckdb"
OUTPUT_COLUMNS = ("id, text, source, lang, url, detected_lang, n_tokens, n_words, n_chars, "
                  "quality, pii_redacted")
QUERIES = {
    "train": f"SELECT {OUTPUT_COLUMNS}, 'train' AS split, epoch, mix_rank FROM demo_train_mix",
    "val": f"SELECT {OUTPUT_COLUMNS}, split FROM demo_release WHERE split = 'val'",
    "test": f"SELECT {OUTPUT_COLUMNS}, split FROM demo_release WHERE split = 'test'",
}


def sample_path() -> Path:
    """Path of the bundled sample corpus (Parquet: id, text, source, lang, url, origin)."""
    return Path(str(resources.files("corpusql") / "data" / "sample.parquet"))


def recipe_sql() -> str:
    return (resources.files("corpusql.sql") / "recipes" / "demo.sql").read_text(encoding="utf-8")


@dataclass
class DemoResult:
    out_dir: Path
    docs_in: int
    removed: list[tuple[str, str, int]]  # step, its reason (or "N reasons"), documents
    flagged: list[tuple[str, str, int]]  # filter, most common reason, kept documents
    pii_redacted: int
    splits: list[tuple[str, int, int, int, int]]  # split, rows, documents, characters, tokens
    mix: list[tuple]  # group, target share, achieved share, epochs, shortfall tokens
    unmixed: int  # training documents the token budget left out
    outputs: dict[str, Result] = field(default_factory=dict)
    tokens_export: Any = None  # export_tokens.ExportResult of OUT/train_tokens
    seconds: float = 0.0
    removed_reasons: list[tuple[str, str, int]] = field(default_factory=list)  # step, reason, docs
    takedowns: int = 0  # requests carried over from the previous run's database
    hidden: int = 0  # sample documents the catalog's view hides for them
    semantic_dups: int = 0  # documents SemDeDup (eps 0.05) would drop: reported, kept

    def summary(self) -> str:
        from .display import render

        rows: list[list[Any]] = []
        if self.takedowns:
            rows.append(["hidden: takedowns", f"{self.takedowns} request(s) recorded in the "
                         "previous run's lake.duckdb", -self.hidden])
        rows.append(["documents in", "", self.docs_in])
        for step, reason, n in self.removed:
            reasons = [(r, k) for s, r, k in self.removed_reasons if s == step]
            if len(reasons) <= 1:
                rows.append([f"removed: {step}", reason, -n])
                continue
            rows.append([f"removed: {step}", f"{len(reasons)} reasons:", -n])
            shown = reasons[:SUMMARY_REASONS] if len(reasons) > SUMMARY_REASONS + 1 else reasons
            rows += [["", f"  {r}", -k] for r, k in shown]
            if len(shown) < len(reasons):
                rest = reasons[len(shown):]
                rows.append(["", f"  {len(rest)} other reasons", -sum(k for _, k in rest)])
        rows += [[f"flagged: {f}", f"kept; most often {reason}", n] for f, reason, n in self.flagged]
        rows.append(["reported: semantic_dup", "kept; cosine > 0.95 to a kept document",
                     self.semantic_dups])
        rows.append(["redacted: pii", "personal data replaced by tags", self.pii_redacted])
        for split, n_rows, n_docs, chars, tokens in self.splits:
            detail = f"{n_rows:,} rows, {chars:,} chars, {tokens:,} tokens"
            rows.append([f"split {split}", detail, n_docs])
        rows.append(["train: not in the mix", "left out by the token budget", self.unmixed])
        if self.tokens_export is not None:
            m = self.tokens_export.manifest
            rows.append([f"export {TOKENS_DIR}", f"{m['total_tokens']:,} tokens, {m['dtype']}, "
                         f"shuffled, {len(m['shards'])} datatrove shard(s)",
                         m["total_documents"]])
        table = render(["stage", "detail", "documents"], rows)
        mix = render(["source", "target share", "achieved share", "epochs", "shortfall tokens"],
                     [list(r) for r in self.mix])
        return f"{table}\nmix of the train split by source:\n{mix}"


def _split_dir(root: Path, versioned: bool) -> Path:
    """Where the views read a split: ``root/current`` of a versioned release, else ``root``."""
    from .release_paths import CURRENT

    return root / CURRENT if versioned else root


def _carry_takedowns(con, previous: Path) -> int:
    """Copy the takedowns recorded in the previous run's database (``corpusql takedown --db
    OUT/lake.duckdb``) into the new one, so this run applies them: the catalog's view of the
    sample hides what they match and the manifests record it. Returns how many."""
    from .takedown_apply import DDL, TABLE

    if not previous.is_file():
        return 0
    con.execute(f"ATTACH '{previous.as_posix()}' AS demo_previous (READ_ONLY)")
    try:
        there = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                            "'demo_previous' AND schema_name = 'corpusql' AND table_name = "
                            "'takedowns'").fetchall()[0][0]
        if not there:
            return 0
        con.execute("CREATE SCHEMA IF NOT EXISTS corpusql")
        con.execute(DDL)
        con.execute(f"INSERT INTO {TABLE} SELECT * FROM demo_previous.{TABLE}")
        return con.execute(f"SELECT count(*) FROM {TABLE}").fetchall()[0][0]
    finally:
        con.execute("DETACH demo_previous")


def demo(out_dir: str | os.PathLike = "out", *, threads: int | None = None,
         progress: Progress | None = None, versioned: bool = True,
         keep: int | None = None) -> DemoResult:
    """Run the demo pipeline into ``out_dir`` and return what it did.

    ``progress`` (optional) is told each stage's name and polls the connection's query progress.
    ``versioned`` (the default): each run writes a new version of ``OUT/train``, ``OUT/val`` and
    ``OUT/test`` (``OUT/train/v0002/``, ...) and moves their ``current`` pointers, keeping
    ``keep`` versions (corpusql.releases); ``versioned=False`` replaces them in place.
    """
    from .catalog import catalog

    progress = progress or Progress(enabled=False)
    t0 = time.perf_counter()
    out = Path(out_dir).absolute()
    out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:  # before the recipe: a refusal costs nothing
        prepare(out / split, versioned)  # an older unversioned output becomes v0001
    db_final = out / DB_NAME
    db_tmp = out / f".lake-tmp-{os.getpid()}.duckdb"
    for stale in (db_tmp, Path(str(db_tmp) + ".wal")):
        stale.unlink(missing_ok=True)
    config = {"threads": threads} if threads else None
    con = connect(db_tmp, config=config)
    try:
        progress.attach(con)
        progress.stage("register the sample in the catalog")
        carried = _carry_takedowns(con, db_final)
        catalog(con).add("docs", str(sample_path()))  # its view hides what they match
        recipe = recipe_sql()
        progress.stage("recipe sql/recipes/demo.sql")
        run_script(con, recipe, path="sql/recipes/demo.sql")
        outputs = {}
        how = {"versioned": True, "keep": keep} if versioned else {"overwrite": True}
        for split in SPLITS:
            progress.stage(f"materialize {split}")
            outputs[split] = materialize(con, QUERIES[split], out / split,
                                         order_by="id, epoch" if split == "train" else "id",
                                         recipe=recipe, removal_log="demo_removed", **how)
            con.execute(f"CREATE OR REPLACE VIEW {split} AS SELECT * FROM read_parquet("
                        f"'{_split_dir(out / split, versioned).as_posix()}/*.parquet')")
        con.execute(
            "CREATE OR REPLACE VIEW release AS SELECT * FROM read_parquet(["
            + ", ".join(f"'{_split_dir(out / s, versioned).as_posix()}/*.parquet'"
                        for s in SPLITS)
            + "], union_by_name = true)"
        )
        progress.stage(f"export tokens of train to {TOKENS_DIR}")
        from .export_tokens import export_tokens

        tokens_export = export_tokens(
            con, "SELECT id, text, source, epoch FROM train", out / TOKENS_DIR,
            format="datatrove", by="source", order_by="id, epoch", overwrite=True)
        con.execute("CREATE OR REPLACE TABLE demo_removed_log AS SELECT * EXCLUDE (stage) FROM "
                    "(SELECT *, min(rowid) OVER (PARTITION BY step) AS stage FROM demo_removed) "
                    "ORDER BY stage, id")
        for name in ("flags", "mix_report", "semantic_dups", "signals", "thresholds"):
            con.execute(f"CREATE OR REPLACE TABLE demo_{name}_log AS SELECT * FROM demo_{name} "
                        "ORDER BY ALL")
        persist_pure_sql(con)
        result = _result(con, out, outputs)
        if carried:
            from .takedown_views import hidden_count

            result.takedowns, result.hidden = carried, hidden_count(con, "docs")
        result.tokens_export = tokens_export
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        for stale in (db_tmp, Path(str(db_tmp) + ".wal")):
            stale.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(db_tmp, db_final)
    Path(str(db_tmp) + ".wal").unlink(missing_ok=True)
    result.seconds = time.perf_counter() - t0
    return result


def _result(con, out: Path, outputs: dict[str, Result]) -> DemoResult:
    (docs_in,) = con.execute("SELECT count(*) FROM docs").fetchone()
    reasons = con.execute(
        "SELECT step, regexp_replace(reason, ' of .*', ' of a kept document') AS why, count(*) AS n, "
        "min(min(rowid)) OVER (PARTITION BY step) AS first FROM demo_removed GROUP BY step, why "
        "ORDER BY first, n DESC, why").fetchall()
    removed: list[tuple[str, str, int]] = []
    for step, why, n, _ in reasons:
        if removed and removed[-1][0] == step:
            removed[-1] = (step, "several reasons", removed[-1][2] + n)
        else:
            removed.append((step, why, n))
    flagged = con.execute(
        "SELECT filter, mode(reason), count(DISTINCT id) FROM demo_flags "
        "WHERE id NOT IN (SELECT id FROM demo_removed) GROUP BY filter ORDER BY filter").fetchall()
    (pii,) = con.execute("SELECT count(*) FROM demo_clean WHERE pii_redacted").fetchone()
    splits = []
    for split in SPLITS:
        splits.append((split, *con.execute(
            f"SELECT count(*), count(DISTINCT id), coalesce(sum(n_chars), 0), "
            f"coalesce(sum(n_tokens), 0) FROM {split}").fetchone()))
    (unmixed,) = con.execute(
        "SELECT count(*) FROM demo_train WHERE id NOT IN (SELECT id FROM demo_train_mix)"
    ).fetchone()
    mix = con.execute(
        "SELECT group_key, round(target_share, 4), round(achieved_share, 4), epochs_used, "
        "shortfall_tokens FROM demo_mix_report ORDER BY group_key").fetchall()
    (semantic,) = con.execute("SELECT count(*) FROM demo_semantic_dups WHERE id NOT IN "
                              "(SELECT id FROM demo_removed)").fetchone()
    return DemoResult(out, docs_in, removed, [tuple(r) for r in flagged], pii, splits,
                      [tuple(r) for r in mix], unmixed, outputs,
                      removed_reasons=[(s, w, n) for s, w, n, _ in reasons],
                      semantic_dups=semantic)

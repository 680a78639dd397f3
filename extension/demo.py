"""``corpusql demo``: the project's main job on the bundled sample.

Registers the sample through the source catalog, runs ``sql/recipes/demo.sql`` (empty texts,
language, exact and near dedup, quality, PII redaction, tokens, leakage-free split, token-budget
mix), materializes ``OUT/train`` (the mix), ``OUT/val`` and ``OUT/test`` atomically with
manifests, exports the train split as tokenized, shuffled datatrove shards in
``OUT/train_tokens`` (``export_tokens``), and leaves ``OUT/lake.duckdb``: the catalog with the dataset ``docs``, views
``train``, ``val``, ``test`` and ``release`` (all three) over the Parquet files, the logs of
removed (``demo_removed_log``) and flagged (``demo_flags_log``) documents, the mix report and the
pure-SQL macros, readable by the stock DuckDB shell and BI tools.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .connect import connect
from .materializer import Result, materialize
from .progress import Progress
from .scripts import run_script
from .sqllib import persist_pure_sql

SPLITS = ("train", "val", "test")
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
    removed: list[tuple[str, str, int]]  # step, example reason, documents
    flagged: list[tuple[str, str, int]]  # filter, most common reason, documents
    pii_redacted: int
    splits: list[tuple[str, int, int, int, int]]  # split, rows, documents, characters, tokens
    mix: list[tuple]  # group, target share, achieved share, epochs, shortfall tokens
    unmixed: int  # training documents the token budget left out
    outputs: dict[str, Result] = field(default_factory=dict)
    tokens_export: Any = None  # export_tokens.ExportResult of OUT/train_tokens
    seconds: float = 0.0

    def summary(self) -> str:
        from .display import render

        rows: list[list[Any]] = [["documents in", "", self.docs_in]]
        rows += [[f"removed: {step}", reason, -n] for step, reason, n in self.removed]
        rows += [[f"flagged: {f}", f"kept; most often {reason}", n] for f, reason, n in self.flagged]
        rows.append(["redacted: pii", "personal data replaced by tags", self.pii_redacted])
        for split, n_rows, n_docs, chars, tokens in self.splits:
            detail = f"{n_rows:,} rows, {chars:,} chars, {tokens:,} tokens"
            rows.append([f"split {split}", detail, n_docs])
        rows.append(["train: not in the mix", "left out by the token budget", self.unmixed])
        if self.tokens_export is not None:
            m = self.tokens_export.manifest
            rows.append([f"export {TOKENS_DIR}", f"{m['total_tokens']:,} tokens ({m['dtype']}, "
                         f"shuffled, EOS after each) in {len(m['shards'])} datatrove shard(s)",
                         m["total_documents"]])
        table = render(["stage", "detail", "documents"], rows)
        mix = render(["source", "target share", "achieved share", "epochs", "shortfall tokens"],
                     [list(r) for r in self.mix])
        return f"{table}\nmix of the train split by source:\n{mix}"


def demo(out_dir: str | os.PathLike = "out", *, threads: int | None = None,
         progress: Progress | None = None) -> DemoResult:
    """Run the demo pipeline into ``out_dir`` and return what it did.

    ``progress`` (optional) is told each stage's name and polls the connection's query progress.
    """
    from .catalog import catalog

    progress = progress or Progress(enabled=False)
    t0 = time.perf_counter()
    out = Path(out_dir).absolute()
    out.mkdir(parents=True, exist_ok=True)
    db_final = out / DB_NAME
    db_tmp = out / f".lake-tmp-{os.getpid()}.duckdb"
    for stale in (db_tmp, Path(str(db_tmp) + ".wal")):
        stale.unlink(missing_ok=True)
    config = {"threads": threads} if threads else None
    con = connect(db_tmp, config=config)
    try:
        progress.attach(con)
        progress.stage("register the sample in the catalog")
        catalog(con).add("docs", str(sample_path()))
        recipe = recipe_sql()
        progress.stage("recipe sql/recipes/demo.sql")
        run_script(con, recipe, path="sql/recipes/demo.sql")
        outputs = {}
        for split in SPLITS:
            progress.stage(f"materialize {split}")
            outputs[split] = materialize(con, QUERIES[split], out / split,
                                         order_by="id, epoch" if split == "train" else "id",
                                         overwrite=True, recipe=recipe)
            con.execute(f"CREATE OR REPLACE VIEW {split} AS SELECT * FROM read_parquet("
                        f"'{(out / split).as_posix()}/*.parquet')")
        con.execute(
            "CREATE OR REPLACE VIEW release AS SELECT * FROM read_parquet(["
            + ", ".join(f"'{(out / s).as_posix()}/*.parquet'" for s in SPLITS)
            + "], union_by_name = true)"
        )
        progress.stage(f"export tokens of train to {TOKENS_DIR}")
        from .export_tokens import export_tokens

        tokens_export = export_tokens(
            con, "SELECT id, text, source, epoch FROM train", out / TOKENS_DIR,
            format="datatrove", by="source", order_by="id, epoch", overwrite=True)
        for name in ("removed", "flags", "mix_report"):
            con.execute(f"CREATE OR REPLACE TABLE demo_{name}_log AS SELECT * FROM demo_{name} "
                        "ORDER BY ALL")
        persist_pure_sql(con)
        result = _result(con, out, outputs)
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
    removed = con.execute(
        "SELECT step, min(regexp_replace(reason, ' of .*', ' of a kept document')), "
        "count(*) FROM demo_removed GROUP BY step ORDER BY min(rowid)").fetchall()
    flagged = con.execute(
        "SELECT filter, mode(reason), count(DISTINCT id) FROM demo_flags "
        "GROUP BY filter ORDER BY filter").fetchall()
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
    return DemoResult(out, docs_in, [tuple(r) for r in removed], [tuple(r) for r in flagged],
                      pii, splits, [tuple(r) for r in mix], unmixed, outputs)

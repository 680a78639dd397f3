"""``corpusql demo``: the project's main job on the bundled sample.

Loads the sample into a database file, runs ``sql/recipes/demo.sql`` (set aside empty texts,
exact dedup, split), materializes ``OUT/train``, ``OUT/val`` and ``OUT/test`` atomically with
manifests, and leaves ``OUT/corpusql.duckdb``: the sample table ``docs``, views ``train``,
``val``, ``test`` and ``release`` (all three) over the Parquet files, the log of removed
documents ``demo_removed_log`` and the pure-SQL macros, readable by the stock DuckDB
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
from .materializer import Result, materialize
from .progress import Progress
from .scripts import run_script
from .sqllib import persist_pure_sql

SPLITS = ("train", "val", "test")
DB_NAME = "corpusql.duckdb"


def sample_path() -> Path:
    """Path of the bundled sample corpus (Parquet: id, text, source, lang, url, origin)."""
    return Path(str(resources.files("corpusql") / "data" / "sample.parquet"))


def recipe_sql() -> str:
    return (resources.files("corpusql.sql") / "recipes" / "demo.sql").read_text(encoding="utf-8")


@dataclass
class DemoResult:
    out_dir: Path
    docs_in: int
    removed: list[tuple[str, str, int]]  # step, reason, documents
    splits: list[tuple[str, int, int]]  # split, rows, chars
    outputs: dict[str, Result] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        from .display import render

        rows: list[list[Any]] = [["documents in", "", self.docs_in]]
        rows += [[f"removed: {step}", reason, -n] for step, reason, n in self.removed]
        rows += [[f"split {s}", f"{chars:,} characters", n] for s, n, chars in self.splits]
        kept = sum(n for _, n, _ in self.splits)
        rows.append(["documents out", f"{kept / max(self.docs_in, 1):.1%} kept", kept])
        return render(["stage", "detail", "documents"], rows)


def demo(out_dir: str | os.PathLike = "out", *, threads: int | None = None,
         progress: Progress | None = None) -> DemoResult:
    """Run the demo pipeline into ``out_dir`` and return what it did.

    ``progress`` (optional) is told each stage's name and polls the connection's query progress.
    """
    progress = progress or Progress(enabled=False)
    t0 = time.perf_counter()
    out = Path(out_dir).absolute()
    out.mkdir(parents=True, exist_ok=True)
    db_final = out / DB_NAME
    db_tmp = out / f".{DB_NAME}.tmp-{os.getpid()}"
    for stale in (db_tmp, Path(str(db_tmp) + ".wal")):
        stale.unlink(missing_ok=True)
    config = {"threads": threads} if threads else None
    con = connect(db_tmp, config=config)
    try:
        progress.attach(con)
        progress.stage("load sample")
        con.execute(
            "CREATE TABLE docs AS SELECT id, text, source, lang, url, origin "
            "FROM read_parquet(?) ORDER BY id", [str(sample_path())]
        )
        recipe = recipe_sql()
        progress.stage("recipe sql/recipes/demo.sql")
        run_script(con, recipe, path="sql/recipes/demo.sql")
        (docs_in,) = con.execute("SELECT count(*) FROM docs").fetchone()
        removed = con.execute(
            "SELECT step, any_value(regexp_replace(reason, ' of .*', ' of a kept document')), "
            "count(*) FROM demo_removed GROUP BY step ORDER BY min(rowid)"
        ).fetchall()
        outputs = {}
        for split in SPLITS:
            progress.stage(f"materialize {split}")
            outputs[split] = materialize(
                con,
                "SELECT id, text, source, lang, url, n_words, n_chars, split FROM demo_release "
                f"WHERE split = '{split}'",
                out / split,
                order_by="id",
                overwrite=True,
                recipe=recipe,
            )
            con.execute(
                f"CREATE OR REPLACE VIEW {split} AS SELECT * FROM read_parquet("
                f"'{(out / split).as_posix()}/*.parquet')"
            )
        con.execute(
            "CREATE OR REPLACE VIEW release AS SELECT * FROM read_parquet(["
            + ", ".join(f"'{(out / s).as_posix()}/*.parquet'" for s in SPLITS) + "])"
        )
        con.execute(
            "CREATE OR REPLACE TABLE demo_removed_log AS SELECT * FROM demo_removed ORDER BY id"
        )
        persist_pure_sql(con)
        splits = con.execute(
            "SELECT split, n_rows, n_chars FROM split_summary('demo_release')"
        ).fetchall()
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        for stale in (db_tmp, Path(str(db_tmp) + ".wal")):
            stale.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(db_tmp, db_final)
    Path(str(db_tmp) + ".wal").unlink(missing_ok=True)
    return DemoResult(out, docs_in, [tuple(r) for r in removed], [tuple(r) for r in splits],
                      outputs, time.perf_counter() - t0)

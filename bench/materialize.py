"""Materialization overhead against a plain DuckDB ``COPY ... TO`` of the same query, one run.

    python bench/materialize.py [--corpus ../shared/data/corpus-dev.parquet] [--repeat 3]

Both write zstd Parquet of the same rows in the same order (``ORDER BY id``); the materialize
side adds staging, sha256 of every file, the manifest and the rename. Also times
``materialize`` with its default total order (``ORDER BY ALL``) and the demo end to end.
Prints seconds (best of --repeat) and ratios; record them in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from _timing import best  # bench/ is the script's directory

import corpusql
from corpusql.demo import demo, sample_path
from corpusql.materializer import materialize

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path,
                        default=ROOT.parent / "shared" / "data" / "corpus-dev.parquet")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    corpus = args.corpus if args.corpus.exists() else sample_path()
    work = Path(tempfile.mkdtemp(prefix="corpusql-bench-"))
    con = corpusql.connect()
    try:
        rows, mb = con.execute(
            f"SELECT count(*), sum(strlen(text)) / 1e6 FROM read_parquet('{corpus}')").fetchone()
        query = f"SELECT id, text, source, lang FROM read_parquet('{corpus}')"
        print(f"input: {corpus} ({rows:,} rows, {mb:.0f} MB of text)")

        def plain():
            out = work / "plain.parquet"
            out.unlink(missing_ok=True)
            con.execute(f"COPY ({query} ORDER BY id) TO '{out}' (FORMAT parquet, "
                        "COMPRESSION zstd)")

        def mat_id():
            materialize(con, query, work / "mat", order_by="id", force=True, overwrite=True)

        def mat_all():
            materialize(con, query, work / "mat_all", force=True, overwrite=True)

        t_plain = best(plain, args.repeat)
        t_mat = best(mat_id, args.repeat)
        t_all = best(mat_all, args.repeat)
        print(f"plain COPY ... ORDER BY id      {t_plain:7.2f} s")
        print(f"materialize(order_by='id')      {t_mat:7.2f} s   ratio {t_mat / t_plain:.2f}x")
        print(f"materialize(order_by='ALL')     {t_all:7.2f} s   ratio {t_all / t_plain:.2f}x")
    finally:
        con.close()
    t_demo = best(lambda: demo(work / "demo"), args.repeat)
    print(f"corpusql demo (bundled sample)  {t_demo:7.2f} s")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

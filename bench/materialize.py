"""Materialization overhead against a plain DuckDB ``COPY ... TO`` of the same query, one run.

    python bench/materialize.py [--corpus ../shared/data/corpus-dev.parquet] [--repeat 3]
                                [--rows N] [--no-demo]

Both write zstd Parquet of the same rows in the same order (``ORDER BY id``); the materialize
side adds staging, sha256 of every file, the fingerprint index (``_fingerprints.pq``: the
``text_fingerprint`` and ``url_normalize`` of every row), the manifest and the rename. Also
times ``materialize`` with its default total order (``ORDER BY ALL``), the index build alone on
the written file, and the demo end to end. The sides alternate (A B C A B C ...); each line
gives the best and median time, the spread (max - min) and the peak RSS seen during the calls.
Record them in bench/RESULTS.md with the date and the machine's load.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from _compare import alternate, load_average  # bench/ is the script's directory

import corpusql
from corpusql import fingerprints
from corpusql.demo import demo, sample_path
from corpusql.materializer import materialize

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path,
                        default=ROOT.parent / "shared" / "data" / "corpus-dev.parquet")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=None, help="first N rows only")
    parser.add_argument("--no-demo", action="store_true")
    args = parser.parse_args()
    corpus = args.corpus if args.corpus.exists() else sample_path()
    work = Path(tempfile.mkdtemp(prefix="corpusql-bench-"))
    con = corpusql.connect()
    try:
        limit = f" LIMIT {args.rows}" if args.rows else ""
        cols = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{corpus}')").fetchall()
        names = [c[0] for c in cols if c[0] in ("id", "text", "source", "url", "lang")]
        con.execute(f"CREATE VIEW src AS SELECT {', '.join(names)} FROM "
                    f"read_parquet('{corpus}'){limit}")
        rows, mb = con.execute("SELECT count(*), sum(strlen(text)) / 1e6 FROM src").fetchone()
        query = "SELECT * FROM src"
        print(f"input: {corpus} ({rows:,} rows, {mb:.0f} MB of text; columns {names})")
        print(load_average())
        # compile and load the kernels once, outside the timed runs
        materialize(con, f"{query} LIMIT 100", work / "warm", order_by="id", force=True,
                    overwrite=True)

        def plain():
            out = work / "plain.parquet"
            out.unlink(missing_ok=True)
            con.execute(f"COPY ({query} ORDER BY id) TO '{out}' (FORMAT parquet, "
                        "COMPRESSION zstd)")

        def mat_id():
            materialize(con, query, work / "mat", order_by="id", force=True, overwrite=True)

        def mat_all():
            materialize(con, query, work / "mat_all", force=True, overwrite=True)

        def index_only():
            fingerprints.write_index(work / "index.pq", [(work / "plain.parquet", "p.parquet")],
                                     {})

        sides = alternate({"plain COPY ... ORDER BY id": plain,
                           "materialize(order_by='id')": mat_id,
                           "materialize() (ORDER BY ALL)": mat_all,
                           "fingerprint index alone": index_only}, args.repeat)
        ref = sides["plain COPY ... ORDER BY id"]
        for side in sides.values():
            print(side.line(ref))
    finally:
        con.close()
    if not args.no_demo:
        d = alternate({"corpusql demo (bundled sample)": lambda: demo(work / "demo")},
                      args.repeat)
        print(d["corpusql demo (bundled sample)"].line())
    print(load_average())
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

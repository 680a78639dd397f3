"""exact_substring_spans on about 100 MB of text: time, peak memory, bytes per input byte.

Input: the first documents (by id) of ../shared/data/corpus-dev.parquet (real documentation,
changelogs, copyright files, reviews in about 60 languages) until ``--mb`` MB of UTF-8 text.
Each side runs in a fresh subprocess so its peak RSS is its own:

- ``sql``: a view over the documents' Parquet file on a corpusql connection (as catalog datasets
  are), then
  ``SELECT count(*), sum("end" - start) FROM exact_substring_spans('docs', 'text', 'id')``;
  peak RSS of the whole process (the table, DuckDB's list of the texts, the kernel);
- ``kernel``: ``corpusql.udfs.substring.spans_of`` on a Python list of the same texts, timed in
  steps (token ids, suffix array + LCP, spans).

Prints seconds, peak RSS (MB), peak RSS per input byte and the spans found.
Run: python bench/substring.py [--mb 100] [--min-tokens 50] [--sides sql,kernel]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data" / "corpus-dev.parquet"
_SUBSET = """
    COPY (SELECT id, text FROM (
        SELECT id, text, sum(strlen(text)) OVER (ORDER BY id) AS upto
        FROM read_parquet('{src}') WHERE text IS NOT NULL)
    WHERE upto <= {size} ORDER BY id) TO '{dst}' (FORMAT parquet)"""
_SELECT = "SELECT id, text FROM read_parquet(?) ORDER BY id"


def _peak_mb() -> float:
    """Peak RSS of this process (VmHWM: ru_maxrss would carry the parent's peak across exec)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def side_sql(subset: str, min_tokens: int) -> dict:
    import corpusql

    con = corpusql.connect(config={"threads": 2})
    try:
        con.execute("SET enable_progress_bar = false")
        # a view over the Parquet file, as catalog datasets are: the text is read by the query
        con.execute(f"CREATE VIEW docs AS SELECT id, text FROM read_parquet('{subset}')")
        n_docs, size = con.execute("SELECT count(*), sum(strlen(text)) FROM docs").fetchone()
        con.execute("CREATE TEMP TABLE warm AS SELECT i AS id, 'warm up ' || i AS text "
                    "FROM range(2) AS t(i)")  # imports and macro binding outside the timing
        con.execute("SELECT * FROM exact_substring_spans('warm', 'text', 'id')").fetchall()
        base = _peak_mb()
        t0 = time.perf_counter()
        spans, chars = con.execute(
            "SELECT count(*), sum(\"end\" - start) FROM exact_substring_spans('docs', 'text', "
            "'id', min_tokens := ?)", [min_tokens]).fetchone()
        secs = time.perf_counter() - t0
    finally:
        con.close()
    return {"docs": n_docs, "bytes": int(size), "seconds": secs, "spans": spans,
            "span_chars": int(chars or 0), "rss_before_mb": base}


def side_kernel(subset: str, min_tokens: int) -> dict:
    import duckdb
    import numpy as np

    from corpusql.udfs import substring

    con = duckdb.connect()
    texts = [r[1] for r in con.execute(_SELECT, [subset]).fetchall()]
    con.close()
    size = sum(len(t.encode()) for t in texts)
    base = _peak_mb()
    steps = {}
    t0 = time.perf_counter()
    tok, starts = substring._ids(texts, None)
    steps["token_ids"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    cov = substring.covered_tokens(tok, starts, min_tokens, substring.MAX_TOKENS)
    steps["suffix_array_lcp_cover"] = time.perf_counter() - t1
    steps["tokens"] = int(len(tok))
    steps["covered_tokens"] = int(np.count_nonzero(cov))
    del tok, cov
    t2 = time.perf_counter()
    spans = substring.spans_of(texts, min_tokens=min_tokens)
    steps["spans_of_total"] = time.perf_counter() - t2
    return {"docs": len(texts), "bytes": size, "seconds": steps["spans_of_total"],
            "spans": len(spans), "span_chars": sum(e - s for _, s, e in spans),
            "rss_before_mb": base, "steps": steps}


SIDES = {"sql": side_sql, "kernel": side_kernel}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=100)
    ap.add_argument("--min-tokens", type=int, default=50)
    ap.add_argument("--sides", default="sql,kernel")
    ap.add_argument("--side")
    ap.add_argument("--subset")
    args = ap.parse_args()
    if args.side:
        r = SIDES[args.side](args.subset, args.min_tokens)
        r["peak_rss_mb"] = _peak_mb()
        print(json.dumps(r))
        return
    if not CORPUS.exists():
        sys.exit(f"bench/substring.py needs {CORPUS} (the shared corpus beside the project)")
    tmp = tempfile.TemporaryDirectory()
    subset = str(Path(tmp.name) / "subset.parquet")
    import duckdb

    with duckdb.connect() as con:
        con.execute(_SUBSET.format(src=CORPUS, size=int(args.mb * 1e6), dst=subset))
    for side in args.sides.split(","):
        out = subprocess.run([sys.executable, __file__, "--side", side, "--subset", subset,
                              "--min-tokens", str(args.min_tokens)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        per_byte = r["peak_rss_mb"] * 2**20 / r["bytes"]
        print(f"{side:7s} {r['docs']:,} docs, {r['bytes'] / 1e6:.1f} MB: {r['seconds']:.1f} s, "
              f"peak RSS {r['peak_rss_mb']:.0f} MB ({per_byte:.2f} bytes per input byte; "
              f"{r['rss_before_mb']:.0f} MB before the call), {r['spans']:,} spans covering "
              f"{r['span_chars']:,} characters", flush=True)
        if "steps" in r:
            print("        steps:", json.dumps(r["steps"]))
    tmp.cleanup()


if __name__ == "__main__":
    main()

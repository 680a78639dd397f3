"""token_count through SQL vs the same tokenizer's encode_batch called directly, same run.

    python bench/tokens.py [--docs 4000] [--repeat 5]

Takes a fixed sample of ../shared/data/corpus-dev.parquet (every source; documents cut to their
first 8,000 characters), counts tokens with the default tokenizer both ways and prints the
throughput and the ratio direct_time / sql_time (1.0 = SQL as fast as calling tokenizers
directly; the target is >= 0.9). Best of ``--repeat`` runs each, interleaved.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import corpusql
from corpusql.udfs.tokens import load_tokenizer

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data" / "corpus-dev.parquet"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    con = corpusql.connect()
    table = con.sql(
        "SELECT id, left(text, 8000) AS text FROM read_parquet($1) WHERE text IS NOT NULL "
        "ORDER BY hash_unit(id, seed := 11), id LIMIT $2",
        params=[str(CORPUS), args.docs],
    ).to_arrow_table()
    texts = table["text"].to_pylist()
    n_chars = sum(len(t) for t in texts)
    con.register("docs", table)
    tok = load_tokenizer("default")
    sql = "SELECT sum(token_count(text)) FROM docs"

    direct_times, sql_times = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        direct = sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False))
        direct_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        via_sql = con.execute(sql).fetchall()[0][0]
        sql_times.append(time.perf_counter() - t0)
        assert via_sql == direct, (via_sql, direct)
    con.close()

    d, s = min(direct_times), min(sql_times)
    print(f"docs {len(texts):,}, {n_chars / 1e6:.1f} M chars, {direct:,} tokens, "
          f"{os.cpu_count()} cpus, duckdb threads default")
    print(f"direct encode_batch : {d:7.2f} s  {n_chars / d / 1e6:6.2f} M chars/s")
    print(f"SQL token_count     : {s:7.2f} s  {n_chars / s / 1e6:6.2f} M chars/s")
    print(f"ratio direct/SQL    : {d / s:7.2f}x  (target >= 0.9)")


if __name__ == "__main__":
    main()

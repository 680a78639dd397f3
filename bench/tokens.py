"""token_count through SQL vs the same tokenizer's encode_batch called directly, same run.

    python bench/tokens.py [--docs 4000] [--repeat 5]

Takes a fixed sample of ../shared/data/corpus-dev.parquet (every source; documents cut to their
first 8,000 characters), counts tokens with the default tokenizer both ways and prints the
throughput and the ratio direct_time / sql_time (1.0 = SQL as fast as calling tokenizers
directly; the target is >= 0.9). The two sides alternate (direct, SQL, direct, SQL ...); each
line gives the best and median time, the spread and the peak RSS seen during the calls.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from _compare import alternate, load_average  # bench/ is the script's directory

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

    counts: dict[str, int] = {}

    def direct():
        counts["direct"] = sum(len(e.ids) for e in tok.encode_batch(texts,
                                                                    add_special_tokens=False))

    def via_sql():
        counts["sql"] = con.execute(sql).fetchall()[0][0]

    print(load_average())
    sides = alternate({"direct encode_batch": direct, "SQL token_count": via_sql}, args.repeat)
    con.close()
    assert counts["sql"] == counts["direct"], counts

    d, s = sides["direct encode_batch"], sides["SQL token_count"]
    print(f"docs {len(texts):,}, {n_chars / 1e6:.1f} M chars, {counts['direct']:,} tokens, "
          f"{os.cpu_count()} cpus, duckdb threads default")
    for side in (d, s):
        print(f"{side.line()}  {n_chars / side.best / 1e6:6.2f} M chars/s")
    print(f"ratio direct/SQL    : {d.best / s.best:7.2f}x best, {d.median / s.median:.2f}x median "
          "(target >= 0.9)")
    print(load_average())


if __name__ == "__main__":
    main()

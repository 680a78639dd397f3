"""mix / split_stratified / split_grouped on 1M synthetic rows vs a plain COPY of the same rows.

    python bench/mix.py [--rows 1000000] [--repeat 2]

Builds a table of synthetic documents (id, source among 8 groups of very different sizes, site
among 50,000, lang among 12, n_tokens log-normal around 400, and a 200-character text),
then times, in the same run and on the same connection:

- COPY the table to Parquet (the reference);
- COPY (FROM mix(...)) to Parquet, a budget of half the tokens with skewed weights (so some
  groups are upsampled);
- COPY (FROM split_stratified(...)) and COPY (FROM split_grouped(...)) to Parquet.

Prints each time and its ratio to the reference (target: mixing + splitting within 2x). Best of
``--repeat`` runs each.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import corpusql


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    con = corpusql.connect()
    con.execute(f"""
        CREATE TABLE docs AS
        SELECT
            'doc-' || i AS id,
            ['web', 'web', 'web', 'web', 'code', 'code', 'books', 'wiki', 'news', 'papers',
             'forum', 'legal'][1 + (i * 7919) % 12] AS source,
            'https://site' || ((i * 104729) % 50000) || '.example/' AS site,
            ['en', 'de', 'fr', 'es', 'ja', 'zh', 'ru', 'pt', 'it', 'ko', 'ar', 'sw']
                [1 + (i * 31) % 12] AS lang,
            CAST(1 + 400 * exp(0.8 * sqrt(-2 * ln((i % 9973 + 0.5) / 9973))
                * cos(2 * pi() * ((i * 7) % 10007) / 10007) - 0.32) AS BIGINT) AS n_tokens,
            repeat('lorem ipsum dolor sit amet ', 7) || i AS text
        FROM range({args.rows}) t(i)
    """)
    total = con.execute("SELECT sum(n_tokens) FROM docs").fetchall()[0][0]
    con.execute("""
        CREATE TABLE w AS SELECT * FROM (VALUES
            ('web', 0.30), ('code', 0.20), ('books', 0.15), ('wiki', 0.10), ('news', 0.10),
            ('papers', 0.10), ('forum', 0.05)) v(group_key, weight)
    """)
    budget = total // 2

    with tempfile.TemporaryDirectory() as tmp:
        jobs = {
            "COPY table (reference)": "docs",
            "mix": f"(FROM mix('docs', 'w', {budget}, seed := 1))",
            "split_stratified": "(FROM split_stratified('docs', 'id', 'lang', seed := 1))",
            "split_grouped": "(FROM split_grouped('docs', 'id', 'site', seed := 1))",
        }
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            for name, source in jobs.items():
                path = os.path.join(tmp, name.split()[0] + ".parquet")
                t0 = time.perf_counter()
                con.execute(f"COPY {source} TO '{path}' (FORMAT parquet)")
                best[name] = min(best.get(name, float("inf")), time.perf_counter() - t0)
        report = con.execute(
            f"SELECT max(abs(share_error_pp)), sum(shortfall_tokens) "
            f"FROM mix_report('docs', 'w', {budget}, seed := 1)"
        ).fetchall()[0]
    con.close()

    ref = best["COPY table (reference)"]
    print(f"rows {args.rows:,}, {total:,} tokens, budget {budget:,}, {os.cpu_count()} cpus")
    for name, t in best.items():
        print(f"{name:24s} {t:7.2f} s  {t / ref:5.2f}x COPY")
    both = best["mix"] + best["split_stratified"] + best["split_grouped"]
    print(f"{'mix + both splits':24s} {both:7.2f} s  {both / ref:5.2f}x COPY")
    print(f"mix max |share error| {report[0]:.4f} pp, shortfall {report[1]:,.0f} tokens")


if __name__ == "__main__":
    main()

"""mix / split_stratified / split_grouped on 1M synthetic rows vs a plain COPY of the same rows.

    python bench/mix.py [--rows 1000000] [--repeat 2]

Builds a table of synthetic documents (id, source among 8 groups of very different sizes, site
among 50,000, lang among 12, n_tokens log-normal around 400, and a 200-character text),
then times, in the same run and on the same connection:

- COPY the table to Parquet (the reference);
- COPY (FROM mix(...)) to Parquet, a budget of half the tokens with skewed weights (so some
  groups are upsampled);
- COPY (FROM split_stratified(...)) and COPY (FROM split_grouped(...)) to Parquet.

The jobs alternate (COPY, mix, split_stratified, split_grouped, COPY, ...); each line gives
the best and median time, the spread and the peak RSS seen, and the ratio to the reference
(target: each within 2x). ``--profile`` also prints where mix's time goes (DuckDB's profile of
one run: the operators by time); ``--pieces`` times mix's steps one by one on one thread
(process CPU, best of 3): the hash, the window, the join back to the documents, an ORDER BY.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

from _compare import alternate, load_average  # bench/ is the script's directory

import corpusql


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--pieces", action="store_true")
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

        def job(name, source):
            path = os.path.join(tmp, name.split()[0] + ".parquet")
            return lambda: con.execute(f"COPY {source} TO '{path}' (FORMAT parquet)")

        print(load_average())
        sides = alternate({name: job(name, source) for name, source in jobs.items()},
                          args.repeat)
        report = con.execute(
            f"SELECT max(abs(share_error_pp)), sum(shortfall_tokens) "
            f"FROM mix_report('docs', 'w', {budget}, seed := 1)"
        ).fetchall()[0]
        if args.profile:
            for name in ("mix", "split_stratified", "split_grouped"):
                _profile(con, name, jobs[name], tmp)
        if args.pieces:
            _pieces(con, tmp)
    con.close()

    ref = sides["COPY table (reference)"]
    print(f"rows {args.rows:,}, {total:,} tokens, budget {budget:,}, {os.cpu_count()} cpus")
    for side in sides.values():
        print(side.line(ref))
    print(f"mix max |share error| {report[0]:.4f} pp, shortfall {report[1]:,.0f} tokens")
    print(load_average())


def _pieces(con, tmp: str) -> None:
    """Process CPU (best of 3, one thread) of mix's steps, each alone, on the same rows."""
    import time

    con.execute("SET threads = 1")
    out = os.path.join(tmp, "piece.parquet")
    steps = {
        "COPY docs (reference)": f"COPY docs TO '{out}' (FORMAT parquet)",
        "rows as structs with a row number": "CREATE OR REPLACE TEMP TABLE m AS SELECT r AS doc, "
        "row_number() OVER () AS doc_row, r.source AS g, r.n_tokens AS n, r.id AS k FROM docs r",
        "hash_unit of every id": "CREATE OR REPLACE TEMP TABLE h AS "
        "SELECT doc_row, g, n, k, hash_unit(k, seed := 1) AS u FROM m",
        "window: running sum, position": "CREATE OR REPLACE TEMP TABLE w AS SELECT doc_row, g, n, "
        "sum(n) OVER o AS run, row_number() OVER o AS pos FROM h "
        "WINDOW o AS (PARTITION BY g ORDER BY u, k ROWS UNBOUNDED PRECEDING)",
        "ORDER BY the same key": "CREATE OR REPLACE TEMP TABLE s AS FROM h ORDER BY g, u, k",
        "join half back, write": f"COPY (SELECT unnest(m.doc), w.g, w.pos FROM w JOIN m "
        f"ON m.doc_row = w.doc_row WHERE w.pos % 2 = 0) TO '{out}' (FORMAT parquet)",
        "join half back, sort, write": f"COPY (SELECT unnest(m.doc), w.g, w.pos FROM w JOIN m "
        f"ON m.doc_row = w.doc_row WHERE w.pos % 2 = 0 ORDER BY w.g, w.pos) TO '{out}' "
        "(FORMAT parquet)",
    }
    print("-- mix's steps alone, one thread, process CPU s (best of 3)")
    for name, sql in steps.items():
        best = float("inf")
        for _ in range(3):
            c0 = time.process_time()
            con.execute(sql)
            best = min(best, time.process_time() - c0)
        print(f"{best:8.3f} s  {name}")


def _profile(con, name: str, source: str, tmp: str) -> None:
    """Print the operators of one COPY of ``source`` by time (DuckDB's JSON profile)."""
    out = os.path.join(tmp, "profile.json")
    con.execute("PRAGMA enable_profiling = 'json'")
    con.execute(f"PRAGMA profiling_output = '{out}'")
    con.execute(f"COPY {source} TO '{os.path.join(tmp, 'p.parquet')}' (FORMAT parquet)")
    con.execute("PRAGMA disable_profiling")
    with open(out) as f:
        tree = json.load(f)
    ops: list[tuple[float, str, int]] = []

    def walk(node, depth=0):
        extra = json.dumps(node.get("extra_info", {}))[:100]
        ops.append((node.get("timing", 0.0), f"{'  ' * depth}{node.get('name')} {extra}",
                    node.get("intermediate_rows", 0)))
        for child in node.get("children", []):
            walk(child, depth + 1)

    for node in tree.get("operator", []):
        walk(node)
    q = tree.get("query", {})
    print(f"-- {name}: wall {q.get('total_time', 0):.2f} s, thread time {q.get('cpu_time', 0):.2f}"
          " s; operators taking >= 3% of the thread time (a Python UDF's waits for the GIL "
          "count here), rows out")
    total = sum(t for t, _, _ in ops) or 1
    for t, op, rows in ops:
        if t / total >= 0.03:
            print(f"{t:8.2f} s {100 * t / total:5.1f}%  {rows:>12,}  {op}")


if __name__ == "__main__":
    main()

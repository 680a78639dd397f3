"""pii_redact and count_matches (5,000 terms) through SQL, against naive Python in the same run.

    python bench/pii.py [--docs 20000] [--naive-docs 300] [--terms 5000]

Takes a fixed sample of ../shared/data/corpus-dev.parquet (every source, whole documents) and
measures documents per second of

- ``pii_redact(text)`` through SQL, and the naive reference on every document: per row, every
  precise Python pattern of ``corpusql.udfs.pii`` run on the whole text (no RE2 prefilter);
- ``count_matches(text, (SELECT list(term) FROM blocklist))`` with ``--terms`` terms drawn from
  the corpus vocabulary (a few multi-word and CJK terms among them), and the naive reference:
  per row, a loop of ``re.findall`` over one compiled word-bounded pattern per term.

The naive count_matches reference runs on the first ``--naive-docs`` documents only (it is
slow); the ratio compares documents per second. Also prints on how many documents SQL and
naive agree, findings per PII kind, and the time DuckDB spends just handing the constant term
list to an Arrow UDF (it arrives as a full column: the list once per row).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

import corpusql
from corpusql.udfs import pii

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data" / "corpus-dev.parquet"


def make_terms(texts: list[str], n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    vocab = sorted({w for t in texts[:3000] for w in re.findall(r"[^\W\d_]{4,}", t.casefold())})
    terms = rng.sample(vocab, min(n - 40, len(vocab)))
    pairs = [" ".join(rng.sample(vocab, 2)) for _ in range(20)] + ["free software", "mailing list"]
    runs = [w for w in vocab if re.search(r"[\u4e00-\u9fff]", w)]
    cjk = sorted({w[i:i + 2 + i % 2] for w in runs[:40] for i in range(4)})[:15]
    cjk += ["文件", "配置", "ファイル"]
    return (terms + pairs + cjk)[:n]


def naive_count(text: str, patterns: list[re.Pattern]) -> int:
    folded = text.casefold()
    return sum(len(p.findall(folded)) for p in patterns)


def naive_pattern(term: str) -> re.Pattern:
    t = term.casefold()
    if re.search(r"[\u3040-\u30ff\u3400-\u9fff]", t):
        return re.compile(re.escape(t))
    words = re.findall(r"\w+", t)
    return re.compile(r"(?<!\w)" + r"\W+".join(map(re.escape, words)) + r"(?!\w)")


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--naive-docs", type=int, default=300)
    ap.add_argument("--terms", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    con = corpusql.connect()
    table = con.sql(
        "SELECT id, text FROM read_parquet($1) WHERE text IS NOT NULL "
        "ORDER BY hash_unit(id, seed := 11), id LIMIT $2",
        params=[str(CORPUS), args.docs]).to_arrow_table()
    texts = table["text"].to_pylist()
    n = len(texts)
    con.register("docs", table)
    terms = make_terms(texts, args.terms)
    con.register("blocklist", pa.table({"term": terms}))
    print(f"docs {n:,}, {sum(map(len, texts)) / 1e6:.1f} M chars, {len(terms):,} terms, "
          f"{os.cpu_count()} cpus")

    # --- pii_redact ---
    t_sql, _ = best(lambda: con.execute(
        "SELECT sum(length(pii_redact(text))) FROM docs").fetchall(), args.repeat)
    sample = texts[:args.naive_docs]
    t_naive, naive_all = best(lambda: [pii.find_pii(t) for t in texts], 1)
    spans = con.sql("SELECT id, pii_spans(text) AS s FROM docs").to_arrow_table().to_pylist()
    by_id = {r["id"]: [(s["kind"], s["start"], s["end"]) for s in r["s"]] for r in spans}
    same = sum(by_id[i] == f for i, f in zip(table["id"].to_pylist(), naive_all))
    kinds = Counter(k for found in by_id.values() for k, _, _ in found)
    print(f"pii_redact SQL       : {t_sql:7.2f} s  {n / t_sql:9.0f} docs/s")
    print(f"pii naive (no RE2)   : {t_naive:7.2f} s  {n / t_naive:9.0f} docs/s")
    print(f"  ratio SQL / naive  : {t_naive / t_sql:.1f}x; "
          f"same findings on {same:,}/{n:,} docs")
    print(f"  findings per kind  : {dict(sorted(kinds.items()))}")

    # --- count_matches ---
    t_cm, counted = best(lambda: con.sql(
        "SELECT id, count_matches(text, (SELECT list(term) FROM blocklist)) AS c FROM docs"
    ).to_arrow_table().to_pylist(), args.repeat)
    by_id = {r["id"]: r["c"] for r in counted}
    counts = [by_id[i] for i in table["id"].to_pylist()]
    # what DuckDB spends handing the constant list to an Arrow UDF (a full column per batch)
    con.create_function("__bench_list_probe",
                        lambda t, terms: pa.array([0] * len(t), pa.int32()),
                        ["VARCHAR", "VARCHAR[]"], "INTEGER", type="arrow")
    t_probe, _ = best(lambda: con.sql(
        "SELECT count(__bench_list_probe(text, (SELECT list(term) FROM blocklist))) FROM docs"
    ).fetchall(), args.repeat)
    patterns = [naive_pattern(t) for t in terms]
    t_nv, naive_counts = best(lambda: [naive_count(t, patterns) for t in sample], 1)
    agree = sum(a == b for a, b in zip(counts[:len(sample)], naive_counts))
    print(f"count_matches SQL    : {t_cm:7.2f} s  {n / t_cm:9.0f} docs/s  "
          f"({sum(c > 0 for c in counts):,} docs with a match)")
    print(f"  of which list input: {t_probe:7.2f} s  (an Arrow UDF that only receives the "
          f"{len(terms):,}-term list)")
    print(f"count naive re loop  : {t_nv:7.2f} s  {len(sample) / t_nv:9.0f} docs/s  "
          f"(first {len(sample)} docs)")
    print(f"  ratio SQL / naive  : {(n / t_cm) / (len(sample) / t_nv):.0f}x; "
          f"same count on {agree}/{len(sample)} docs")
    con.close()


if __name__ == "__main__":
    main()

"""export_tokens vs the tokenizer's encode_batch alone, and the loader's read rate, same run.

    python bench/export.py [--docs 4000] [--repeat 3] [--gb 2]

Takes a fixed sample of ../shared/data/corpus-dev.parquet (the bundled demo sample when it is
absent; documents cut to their first 8,000 characters) and prints:

- export: ``encode_batch`` alone on the texts vs ``export_tokens`` (datatrove and parquet
  formats, query to published shards, sha256 included), ratio direct_time / export_time
  (target >= 0.8). Best of ``--repeat`` runs each, interleaved.
- loader: ``TokenShards`` at seq_len 2048 over the datatrove export (uint16, page cache), the
  benchmark summing every array it receives, GB/s of token ids consumed (target >= 1): with
  verify off and on (verify's sha256 pass counted), per sample and in batches of 16.
- the loader alone: arrays handed out per second without touching them.
- resume: ``load_state_dict`` plus the next sample, near the start and near the end of an epoch
  (O(1): both the same), against re-reading up to the same place.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

import corpusql
from corpusql.demo import sample_path
from corpusql.export_tokens import export_tokens
from corpusql.loader import TokenShards
from corpusql.udfs.tokens import load_tokenizer

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "data" / "corpus-dev.parquet"


def _consume(loader: TokenShards, budget: int) -> tuple[float, int]:
    """Seconds and bytes to sum every array of ``loader`` until ``budget`` bytes were read."""
    seen, total = 0, 0
    t0 = time.perf_counter()
    while seen < budget:
        for arr in loader:
            total += int(arr.sum(dtype=np.uint64))
            seen += arr.nbytes
    return time.perf_counter() - t0, seen


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=4000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gb", type=float, default=2.0, help="token bytes the loader must deliver")
    args = ap.parse_args()
    source = CORPUS if CORPUS.exists() else sample_path()
    con = corpusql.connect()
    table = con.sql(
        "SELECT id, left(text, 8000) AS text FROM read_parquet($1) WHERE text IS NOT NULL "
        "ORDER BY hash_unit(CAST(id AS VARCHAR), seed := 11), id LIMIT $2",
        params=[str(source), args.docs]).to_arrow_table()
    con.register("docs", table)
    texts = table["text"].to_pylist()
    tok = load_tokenizer("default")
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    times: dict[str, list[float]] = {"direct": [], "datatrove": [], "parquet": []}
    try:
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            n_tokens = sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False))
            times["direct"].append(time.perf_counter() - t0)
            for fmt in ("datatrove", "parquet"):
                t0 = time.perf_counter()
                r = export_tokens(con, "SELECT id, text FROM docs", work / fmt, format=fmt,
                                  order_by="id", overwrite=True)
                times[fmt].append(time.perf_counter() - t0)
                assert r.tokens == n_tokens + r.documents
        d = min(times["direct"])
        print(f"source {source.name}, docs {len(texts):,}, {n_tokens:,} tokens, "
              f"{os.cpu_count()} cpus")
        print(f"encode_batch alone      : {d:6.2f} s  {n_tokens / d / 1e6:6.2f} M tokens/s")
        for fmt in ("datatrove", "parquet"):
            e = min(times[fmt])
            print(f"export_tokens {fmt:<9} : {e:6.2f} s  ratio direct/export {d / e:5.2f}x "
                  "(target >= 0.8)")

        path, budget = work / "datatrove", int(args.gb * 1e9)
        for verify in (False, True):
            for batch in (1, 16):
                t0 = time.perf_counter()
                loader = TokenShards(path, 2048, seed=1, verify=verify, batch_size=batch)
                opened = time.perf_counter() - t0
                secs, seen = _consume(loader, budget)
                print(f"loader verify={verify!s:<5} batch={batch:<2}: "
                      f"{seen / (secs + opened) / 1e9:5.2f} GB/s consumed ({seen / 1e9:.2f} GB, "
                      f"open {opened * 1e3:.1f} ms; target >= 1)")
        loader = TokenShards(path, 2048, seed=1, verify=False)
        t0, seen = time.perf_counter(), 0
        while seen < budget:
            for arr in loader:
                seen += arr.nbytes
        print(f"loader alone (no sum)    : {seen / (time.perf_counter() - t0) / 1e9:5.2f} GB/s "
              "handed out, batch=1")
        for where in (1, len(loader) - 1):
            t0 = time.perf_counter()
            fresh = TokenShards(path, 2048, seed=1, verify=False)
            fresh.load_state_dict({"epoch": 0, "index": where})
            next(iter(fresh))
            resume = time.perf_counter() - t0
            t0 = time.perf_counter()
            it = iter(TokenShards(path, 2048, seed=1, verify=False))
            for _ in range(where + 1):
                int(next(it).sum(dtype=np.uint64))
            rescan = time.perf_counter() - t0
            print(f"resume at sample {where:>6,} of {len(loader):,}: {resume * 1e3:6.2f} ms "
                  f"(re-reading to it: {rescan * 1e3:7.2f} ms)")
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

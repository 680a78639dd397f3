"""Would a Bloom-filter band index (LSHBloom) speed up near_dup_incremental? Measured, not assumed.

    .venv/bin/python bench/band_index.py [--copies 19] [--work /tmp/corpusql-bandindex]
        [--fp 0.001] [--repeat 3]

Issue 17 item 1 asks to consider LSHBloom (Khan et al. 2024: one Bloom filter per LSH band in
place of band-key tables) for deduplicating new batches against a large release, and to implement
it if it wins. What a Bloom filter can replace in corpusql's incremental path is one step: looking
the batch's band keys up among the release's stored keys (near_dup_incremental with
``release_keys``). It cannot replace the rest: a filter answers "some release document has this
key", not which one, so ``duplicate_of`` and the Jaccard verification (``verify := true``, the
default) still need the matching release documents, read from the exact keys and the texts.

On neardup_scale's replicated release (about 1M documents) and its batch of 20,000 near copies,
the script times, alternated (A B A B ...; bench/_compare.py: spread, CPU and peak RSS per
side), in one process, 2 DuckDB threads:

- ``incremental``: the whole ``near_dup_incremental(..., release_keys := ...)`` call;
- ``batch keys``: signing the batch and cutting its band keys (what any index needs first);
- ``key lookup``: the step a Bloom filter could replace: the release's stored keys filtered by
  the batch's keys and grouped (as the macro's ``nd_release_buckets`` does);
- ``bloom lookup``: the batch's keys tested against a Bloom filter of the release's keys
  (numpy, one filter for all bands, since corpusql's band keys mix the band index in; ``k``
  positions by double hashing ``h1 + i * h2 mod m``, ``h2`` = fmix64(key) | 1, sized for
  ``--fp`` false positives per key: m = -n ln(fp) / ln(2)^2 bits, k = round(m / n ln 2)).

It also prints the filter's build time and size against the stored keys' Parquet file, and its
false-positive rate measured on 1,000,000 random keys absent from the release, beside the rate
the formula (1 - e^(-kn/m))^k predicts. The last line is the most a Bloom filter could save per
batch: (key lookup - bloom lookup) / incremental.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from _compare import alternate  # bench/ is the script's directory
from _timing import warm_up_kernels
from neardup_scale import DEFAULT_DATA, build, build_batch

M64 = (1 << 64) - 1


def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, on uint64 arrays (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


class Bloom:
    """A Bloom filter of uint64 keys, bits packed little-endian in a uint8 array."""

    def __init__(self, n: int, fp: float):
        self.m = max(64, int(math.ceil(-n * math.log(fp) / math.log(2) ** 2)))
        self.k = max(1, round(self.m / n * math.log(2)))
        self.n = n
        self.bits = np.zeros((self.m + 7) // 8, np.uint8)

    def _positions(self, keys: np.ndarray):
        h1 = keys.astype(np.uint64)
        h2 = fmix64(h1) | np.uint64(1)
        m = np.uint64(self.m)
        with np.errstate(over="ignore"):
            for i in range(self.k):
                yield (h1 + np.uint64(i) * h2) % m

    def add(self, keys: np.ndarray, chunk: int = 1 << 20) -> None:
        flat = np.unpackbits(self.bits, bitorder="little").astype(bool)
        for s in range(0, len(keys), chunk):
            for p in self._positions(keys[s:s + chunk]):
                flat[p] = True
        self.bits = np.packbits(flat, bitorder="little")

    def contains(self, keys: np.ndarray) -> np.ndarray:
        out = np.ones(len(keys), bool)
        for p in self._positions(keys):
            out &= ((self.bits[p >> np.uint64(3)] >> (p & np.uint64(7)).astype(np.uint8)) & 1) == 1
        return out

    def predicted_fp(self) -> float:
        return (1 - math.exp(-self.k * self.n / self.m)) ** self.k


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=19)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--work", type=Path, default=Path("/tmp/corpusql-bandindex"))
    ap.add_argument("--fp", type=float, default=0.001)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threshold", type=float, default=0.8)
    args = ap.parse_args()

    import corpusql

    args.work.mkdir(parents=True, exist_ok=True)
    release = args.work / f"neardup-x{args.copies}.parquet"
    batch = args.work / "batch.parquet"
    if not release.exists():
        build(args.data, args.copies, release)
    if not batch.exists():
        build_batch(args.data, batch)
    con = corpusql.connect()
    con.execute("SET threads = 2")
    con.execute(f"SET temp_directory = '{args.work / 'spill'}'")
    con.execute(f"CREATE VIEW release AS SELECT id, text FROM read_parquet('{release}')")
    con.execute(f"CREATE VIEW batch AS SELECT id, text FROM read_parquet('{batch}')")
    warm_up_kernels(con)
    th = args.threshold
    keys = args.work / "release_band_keys.parquet"
    if not keys.exists():
        t0 = time.perf_counter()
        con.execute(f"COPY (FROM near_dup_band_keys('release', 'text', 'id', threshold := {th})) "
                    f"TO '{keys}' (FORMAT parquet)")
        print(f"stored release keys: {time.perf_counter() - t0:.1f} s")
    con.execute(f"CREATE VIEW release_keys AS FROM read_parquet('{keys}')")
    n_docs = con.execute("SELECT count(*) FROM release").fetchone()[0]
    n_keys = con.execute("SELECT count(*) FROM release_keys").fetchone()[0]

    def incremental():
        con.execute("CREATE OR REPLACE TEMP TABLE inc AS FROM near_dup_incremental('batch', "
                    f"'release', 'text', 'id', threshold := {th}, release_keys := 'release_keys')")
        return con.execute("SELECT count(*) FILTER (WHERE NOT is_kept) FROM inc").fetchone()[0]

    def batch_keys():
        con.execute("CREATE OR REPLACE TEMP TABLE bk AS SELECT id, band_key FROM "
                    f"near_dup_band_keys('batch', 'text', 'id', threshold := {th})")
        return con.execute("SELECT count(*) FROM bk").fetchone()[0]

    def key_lookup():
        return con.execute(
            "SELECT count(*), sum(n) FROM (SELECT band_key, count(*) AS n, min(id) AS rep "
            "FROM release_keys WHERE band_key IN (SELECT band_key FROM bk) GROUP BY band_key)"
        ).fetchone()

    # the Bloom filter of the release's keys
    t0 = time.perf_counter()
    rk = con.execute("SELECT band_key FROM release_keys").fetchnumpy()["band_key"]
    rk = np.asarray(rk, dtype=np.uint64)
    read_s = time.perf_counter() - t0
    bloom = Bloom(len(rk), args.fp)
    t0 = time.perf_counter()
    bloom.add(rk)
    build_s = time.perf_counter() - t0
    # false positives on keys absent from the release
    rng = np.random.default_rng(0)
    probe = rng.integers(0, M64, size=1_000_000, dtype=np.uint64, endpoint=True)
    probe = probe[~np.isin(probe, rk)]
    fp_measured = bloom.contains(probe).mean()
    assert bloom.contains(rk[:1_000_000]).all(), "a Bloom filter has no false negatives"

    answers = {"incremental": incremental(), "batch keys": batch_keys()}  # also warms both
    bk_ids = con.execute("SELECT id, band_key FROM bk").fetchnumpy()
    bk = np.asarray(bk_ids["band_key"], np.uint64)
    sides = alternate({"incremental": incremental, "batch keys": batch_keys,
                       "key lookup": key_lookup, "bloom lookup": lambda: bloom.contains(bk)},
                      args.repeat)
    hit = bloom.contains(bk)
    exact = np.isin(bk, rk)
    docs = np.asarray(bk_ids["id"], dtype=object)
    docs_bloom = len(set(docs[hit]))
    docs_exact = len(set(docs[exact]))
    n_batch = con.execute("SELECT count(*) FROM batch").fetchone()[0]
    con.close()

    print(f"release {n_docs:,} documents, {n_keys:,} band keys ({keys.stat().st_size / 1e6:.1f} MB "
          f"of Parquet); batch {n_batch:,} documents, {answers['batch keys']:,} keys; "
          f"{answers['incremental']:,} removed")
    print(f"Bloom filter: fp {args.fp} a key, m = {bloom.m:,} bits ({bloom.bits.nbytes / 1e6:.1f} MB), "
          f"k = {bloom.k}; reading the keys {read_s:.2f} s, building {build_s:.2f} s")
    print(f"false positives on {len(probe):,} absent keys: {fp_measured:.5f} measured, "
          f"{bloom.predicted_fp():.5f} predicted")
    print(f"batch documents with a key in the release: {docs_exact:,} exact, {docs_bloom:,} by the "
          f"Bloom filter (no false negatives: checked)")
    for side in sides.values():
        print(side.line(sides["incremental"]))
    inc = sides["incremental"].median
    save = sides["key lookup"].median - sides["bloom lookup"].median
    print(f"the most a Bloom filter could save a batch: {save:.3f} s of {inc:.3f} s "
          f"({100 * save / inc:.1f}% of near_dup_incremental)")


if __name__ == "__main__":
    main()

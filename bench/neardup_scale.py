"""Near-duplicate scaling run: near_dup_clusters on neardup-dev replicated to about 1M documents.

Usage: .venv/bin/python bench/neardup_scale.py [--copies 19] [--data ../shared/data/neardup-dev]
       [--work /tmp/corpusql-scale] [--sizes 1,2,6,19] [--memory-limit 8GB] [--budget 4GB]
       [--no-incremental]

Replica 0 is bench.parquet as it is. Replica k > 0 gets fresh perturbations, so that replicas are
not copies of each other while each keeps the set's own near-duplicate structure: every
space-separated word is prefixed with a two-letter tag of k (a new vocabulary per replica), and
about one distinct word in 40, chosen per replica, is dropped wherever it occurs (so copies of
one document inside a replica stay as alike as they were). 19 copies of the
53,885 documents give 1,023,815 documents (2.85 GB of text).

Each size is clustered in its own process (threshold 0.8, verify := true, 2 threads, the
database spilling to --work), reading the Parquet file through a view; the script prints wall
time, CPU time, peak RSS, documents removed, and the time per document relative to the base set,
which is 1.0 when the pipeline scales linearly. Then near_dup_incremental deduplicates a new
batch of 20,000 documents (near copies of release documents) against the ~1M-document release,
once signing the release in the call and once with its band keys stored by near_dup_band_keys.

``--sizes`` clusters several replica counts (the slope of peak RSS per document comes from two
of them); ``--memory-limit`` sets DuckDB's memory_limit and ``--budget`` the corpusql memory
budget in every clustering process, so a run stays under a known ceiling on a shared machine;
``--macro-file`` runs a .sql file after connecting, e.g. an earlier near_dup_clusters taken with
``git show COMMIT:sql/governance/near_dup_clusters.sql``, to measure before and after alike.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from _timing import warm_up_kernels  # bench/ is the script's directory

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "neardup-dev"

#: Rows per Parquet row group of the replicated files. DuckDB's Parquet reader holds a row
#: group's text column of each thread in memory it cannot spill: at 100,000 rows (about 250 MB of
#: text a row group) a plain scan of the file failed under a 400 MB memory_limit, so the corpus
#: file, not the pipeline, set the smallest limit that works. 10,000 rows (25 MB), as
#: neardup-dev's own file has, scans under 200 MB.
ROW_GROUP_ROWS = 10_000


def build(data: Path, copies: int, out: Path) -> None:
    import duckdb

    con = duckdb.connect()
    # In insertion order, writing 190 replicas held 18 GB before the file grew: row order does
    # not matter to the pipeline, so the copy streams within a bounded memory_limit.
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET memory_limit = '2GB'")
    tags = ", ".join(f"({k}, '{chr(97 + k // 26)}{chr(97 + k % 26)}')" for k in range(1, copies))
    con.execute(f"""
        COPY (
            SELECT id, text FROM read_parquet('{data}/bench.parquet')
            UNION ALL
            SELECT
                b.id || '~' || r.k AS id,
                array_to_string(list_transform(
                    list_filter(string_split(b.text, ' '),
                                lambda w: hash(w, r.k) % 40 <> 0),
                    lambda w: r.tag || w), ' ') AS text
            FROM read_parquet('{data}/bench.parquet') AS b,
                 (VALUES {tags or "(1, 'ab')"}) AS r(k, tag)
            WHERE {1 if copies > 1 else 0}
        ) TO '{out}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_ROWS})
    """)
    con.close()


def build_batch(data: Path, out: Path, n: int = 20_000) -> None:
    """A new batch: the first ``n`` documents as replica 1 words, dropping other words than
    replica 1 did, so most are near (not exact) copies of release documents."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"""
        COPY (
            SELECT b.id || '~new' AS id,
                   array_to_string(list_transform(
                       list_filter(string_split(b.text, ' '), lambda w: hash(w, 1000) % 40 <> 0),
                       lambda w: 'ab' || w), ' ') AS text
            FROM (FROM read_parquet('{data}/bench.parquet') LIMIT {n}) AS b
        ) TO '{out}' (FORMAT parquet, COMPRESSION zstd)
    """)
    con.close()


def incremental(release: Path, batch: Path, work: Path, threshold: float) -> dict:
    """near_dup_incremental of ``batch`` against ``release``: signing the release in the call,
    then with band keys stored once (the time to store them is reported apart)."""
    import corpusql

    con = corpusql.connect()
    con.execute("SET threads = 2")
    con.execute(f"SET temp_directory = '{work / 'spill'}'")
    con.execute(f"CREATE VIEW release AS SELECT id, text FROM read_parquet('{release}')")
    con.execute(f"CREATE VIEW batch AS SELECT id, text FROM read_parquet('{batch}')")
    warm_up_kernels(con)
    call = f"FROM near_dup_incremental('batch', 'release', 'text', 'id', threshold := {threshold}"
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE signed AS {call})")
    signed_secs = time.perf_counter() - t0
    keys = work / "release_band_keys.parquet"
    t0 = time.perf_counter()
    con.execute(f"COPY (FROM near_dup_band_keys('release', 'text', 'id', threshold := {threshold})) "
                f"TO '{keys}' (FORMAT parquet)")
    store_secs = time.perf_counter() - t0
    con.execute(f"CREATE VIEW release_keys AS FROM read_parquet('{keys}')")
    t0 = time.perf_counter()
    con.execute(f"CREATE TABLE stored AS {call}, release_keys := 'release_keys')")
    stored_secs = time.perf_counter() - t0
    same = con.execute("SELECT count(*) FROM (FROM signed EXCEPT FROM stored)").fetchone()[0] == 0
    n, removed = con.execute("SELECT count(*), count(*) FILTER (WHERE NOT is_kept) FROM stored").fetchone()
    con.close()
    return {"batch": n, "removed": removed, "signed_secs": signed_secs,
            "store_keys_secs": store_secs, "stored_keys_secs": stored_secs, "same_answer": same}


def cluster(path: Path, work: Path, threshold: float, memory_limit: str | None = None,
            budget: str | None = None, macro_file: Path | None = None) -> dict:
    import corpusql

    con = corpusql.connect(memory_budget=budget)
    if macro_file:
        con.execute(macro_file.read_text())
    con.execute("SET threads = 2")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{work / 'spill'}'")
    con.execute(f"CREATE VIEW docs AS SELECT id, text FROM read_parquet('{path}')")
    warm_up_kernels(con)
    n, mb = con.execute("SELECT count(*), sum(strlen(text)) / 1e6 FROM docs").fetchone()
    t0, c0 = time.perf_counter(), time.process_time()
    con.execute(f"CREATE TABLE clusters AS FROM near_dup_clusters('docs', 'text', 'id', "
                f"threshold := {threshold})")
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    removed, largest = con.execute(
        "SELECT count(*) FILTER (WHERE NOT is_kept), max(cluster_size) FROM clusters").fetchone()
    con.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"docs": n, "mb": mb, "secs": secs, "cpu": cpu, "peak_rss_mb": rss,
            "removed": removed, "largest_cluster": largest}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--copies", type=int, default=19)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--work", type=Path, default=Path("/tmp/corpusql-scale"))
    ap.add_argument("--sizes", help="replica counts to cluster, e.g. 1,2,6 (default 1,COPIES)")
    ap.add_argument("--memory-limit", help="DuckDB memory_limit in each run, e.g. 8GB")
    ap.add_argument("--budget", help="corpusql memory budget in each run, e.g. 4GB")
    ap.add_argument("--macro-file", type=Path, help="a .sql file to run after connecting")
    ap.add_argument("--no-incremental", action="store_true", help="skip the incremental run")
    ap.add_argument("--part", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--incremental-part", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.part:
        print(json.dumps(cluster(args.part, args.work, args.threshold, args.memory_limit,
                                 args.budget, args.macro_file)))
        return
    if args.incremental_part:
        batch = args.work / "batch.parquet"
        print(json.dumps(incremental(args.incremental_part, batch, args.work, args.threshold)))
        return
    if not (args.data / "bench.parquet").exists():
        raise SystemExit(f"{args.data}/bench.parquet not found (see ../shared/README.md)")
    args.work.mkdir(parents=True, exist_ok=True)
    results = {}
    sizes = [int(k) for k in args.sizes.split(",")] if args.sizes else [1, args.copies]
    limits = [f"--{k}={v}" for k, v in (("memory-limit", args.memory_limit),
                                        ("budget", args.budget),
                                        ("macro-file", args.macro_file)) if v]
    for copies in sizes:
        path = args.work / f"neardup-x{copies}.parquet"
        if not path.exists():
            t0 = time.perf_counter()
            build(args.data, copies, path)
            print(f"built {path.name} in {time.perf_counter() - t0:.1f} s", flush=True)
        proc = subprocess.run([sys.executable, __file__, "--part", str(path), "--work",
                               str(args.work), "--threshold", str(args.threshold), *limits],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"clustering {path.name} failed:\n{proc.stderr}")
        results[copies] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"x{copies:<3d} {json.dumps(results[copies])}", flush=True)
    base, big = results[sizes[0]], results[sizes[-1]]
    per_doc = (big["secs"] / big["docs"]) / (base["secs"] / base["docs"])
    print(f"\n{big['docs']:,} documents ({big['mb']:,.0f} MB): {big['secs']:.1f} s wall, "
          f"{big['cpu']:.1f} s CPU, peak RSS {big['peak_rss_mb']:,.0f} MB, "
          f"{big['removed']:,} removed (smallest set: {base['removed']:,} of {base['docs']:,})")
    print(f"time per document vs the smallest set: {per_doc:.2f} (1.0 = linear)")
    if big["docs"] > base["docs"]:
        slope = (big["peak_rss_mb"] - base["peak_rss_mb"]) / (big["docs"] - base["docs"])
        print(f"peak RSS slope: {slope * 1e6:,.0f} MB per million documents "
              f"(10M documents: about {base['peak_rss_mb'] + slope * (1e7 - base['docs']):,.0f} MB)")
    if args.no_incremental:
        return

    build_batch(args.data, args.work / "batch.parquet")
    proc = subprocess.run([sys.executable, __file__, "--incremental-part",
                           str(args.work / f"neardup-x{sizes[-1]}.parquet"), "--work",
                           str(args.work), "--threshold", str(args.threshold)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"incremental run failed:\n{proc.stderr}")
    inc = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\nnear_dup_incremental, a {inc['batch']:,}-document batch against the "
          f"{big['docs']:,}-document release: {inc['removed']:,} removed; "
          f"{inc['signed_secs']:.1f} s signing the release in the call, "
          f"{inc['stored_keys_secs']:.1f} s with stored band keys "
          f"(storing them once: {inc['store_keys_secs']:.1f} s); same answer: {inc['same_answer']}")


if __name__ == "__main__":
    main()

"""Near-duplicate scaling run: near_dup_clusters on neardup-dev replicated to about 1M documents.

Usage: .venv/bin/python bench/neardup_scale.py [--copies 19] [--data ../shared/data/neardup-dev]
       [--work /tmp/corpusql-scale]

Replica 0 is bench.parquet as it is. Replica k > 0 gets fresh perturbations, so that replicas are
not copies of each other while each keeps the set's own near-duplicate structure: every
space-separated word is prefixed with a two-letter tag of k (a new vocabulary per replica), and
about one distinct word in 40, chosen per replica, is dropped wherever it occurs (so copies of
one document inside a replica stay as alike as they were). 19 copies of the
53,885 documents give 1,023,815 documents (about 2 GB of text).

Each size is clustered in its own process (threshold 0.8, verify := true, 2 threads, the
database spilling to --work), reading the Parquet file through a view; the script prints wall
time, CPU time, peak RSS, documents removed, and the time per document relative to the base set,
which is 1.0 when the pipeline scales linearly.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "neardup-dev"


def build(data: Path, copies: int, out: Path) -> None:
    import duckdb

    con = duckdb.connect()
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
        ) TO '{out}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000)
    """)
    con.close()


def cluster(path: Path, work: Path, threshold: float) -> dict:
    import corpusql

    con = corpusql.connect()
    con.execute("SET threads = 2")
    con.execute(f"SET temp_directory = '{work / 'spill'}'")
    con.execute(f"CREATE VIEW docs AS SELECT id, text FROM read_parquet('{path}')")
    con.execute("SELECT minhash_signature('warm up'), set_jaccard(shingle_set('a'), shingle_set('b'))")
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
    ap.add_argument("--part", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.part:
        print(json.dumps(cluster(args.part, args.work, args.threshold)))
        return
    if not (args.data / "bench.parquet").exists():
        raise SystemExit(f"{args.data}/bench.parquet not found (see ../shared/README.md)")
    args.work.mkdir(parents=True, exist_ok=True)
    results = {}
    for copies in (1, args.copies):
        path = args.work / f"neardup-x{copies}.parquet"
        t0 = time.perf_counter()
        build(args.data, copies, path)
        print(f"built {path.name} in {time.perf_counter() - t0:.1f} s", flush=True)
        proc = subprocess.run([sys.executable, __file__, "--part", str(path), "--work",
                               str(args.work), "--threshold", str(args.threshold)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"clustering {path.name} failed:\n{proc.stderr}")
        results[copies] = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"x{copies:<3d} {json.dumps(results[copies])}", flush=True)
    base, big = results[1], results[args.copies]
    per_doc = (big["secs"] / big["docs"]) / (base["secs"] / base["docs"])
    print(f"\n{big['docs']:,} documents ({big['mb']:,.0f} MB): {big['secs']:.1f} s wall, "
          f"{big['cpu']:.1f} s CPU, peak RSS {big['peak_rss_mb']:,.0f} MB, "
          f"{big['removed']:,} removed (base set: {base['removed']:,} of {base['docs']:,})")
    print(f"time per document vs the base set: {per_doc:.2f} (1.0 = linear)")


if __name__ == "__main__":
    main()

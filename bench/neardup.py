"""Near-duplicate benchmark: corpusql SQL vs datasketch 2.0 vs rensa, measured in one run.

Usage: .venv/bin/python bench/neardup.py [--data ../shared/data/neardup-dev] [--threshold 0.8]
       [--ds-docs 3000]

Reports, on the neardup-dev benchmark (bench.parquet, truth_pairs.parquet):
  (a) signature throughput (MB of text per second, 128 permutations, word 5-grams) of
      corpusql's minhash_signature through SQL, datasketch's MinHash.bulk (on the first
      --ds-docs documents: it is slow) and rensa's RMinHash.digest_matrix_from_token_sets;
  (b) end-to-end clustering time and peak memory (each pipeline in its own process) of
      near_dup_clusters(verify := true), a datasketch MinHashLSH pipeline and a rensa
      RMinHashLSH pipeline at the same threshold;
  (c) pair precision, recall and F1 against the truth pairs (Jaccard >= threshold).
The machine is shared, so absolute numbers are noisy: read the ratios, measured in the same run.
The baselines tokenize in Python the way the truth does (lowercase, runs of \\w+, word 5-grams);
corpusql normalizes as datatrove does (see corpusql.udfs.minhash).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from _timing import warm_up_kernels  # bench/ is the script's directory

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "neardup-dev"
NUM_PERM, NGRAM, SEED = 128, 5, 1
WORD = re.compile(r"\w+")
DOCS: int | None = None  # --docs: only the first N documents (a quick check of the script)


def _texts(data: Path, limit: int | None = None):
    import pyarrow.parquet as pq

    t = pq.read_table(data / "bench.parquet", columns=["id", "text"])
    limit = min(x for x in (limit, DOCS, t.num_rows) if x)
    t = t.slice(0, limit)
    return t


def _shingles(text: str) -> list[str]:
    words = WORD.findall(text.lower())
    if len(words) < NGRAM:
        return [" ".join(words)] if words else []
    return [" ".join(words[i:i + NGRAM]) for i in range(len(words) - NGRAM + 1)]


def _mb(table) -> float:
    import pyarrow.compute as pc

    return pc.sum(pc.binary_length(table["text"])).as_py() / 1e6


def _union_find_pairs(ids: list, pairs) -> dict:
    parent: dict = {}

    def find(x):
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {i: find(i) for i in ids}


# --- parts, each run in its own process ---------------------------------------------------------

def _arrow_source(con, table):
    """Register the texts as an Arrow table in 4096-row batches so DuckDB can use both cores."""
    import pyarrow as pa

    con.register("bench_src", pa.Table.from_batches(table.to_batches(max_chunksize=4096)))
    return "bench_src"


def part_sig_sql(data: Path, threshold: float) -> dict:
    import corpusql

    table = _texts(data)
    con = corpusql.connect()
    src = _arrow_source(con, table)
    startup = warm_up_kernels(con)
    t0, c0 = time.perf_counter(), time.process_time()
    con.execute(f"CREATE TABLE sig AS SELECT id, minhash_signature(text) AS s FROM {src}")
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    con.close()
    return {"docs": table.num_rows, "mb": _mb(table), "secs": secs, "cpu": cpu,
            "startup_secs": startup}


def part_sig_datasketch(data: Path, threshold: float, ds_docs: int) -> dict:
    from datasketch import MinHash

    table = _texts(data, ds_docs)
    texts = table["text"].to_pylist()
    t0, c0 = time.perf_counter(), time.process_time()
    sets = [[s.encode() for s in _shingles(t or "")] for t in texts]
    t1 = time.perf_counter()
    MinHash.bulk(sets, num_perm=NUM_PERM, seed=SEED)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"docs": table.num_rows, "mb": _mb(table), "secs": secs, "cpu": cpu,
            "sign_only_secs": time.perf_counter() - t1}


def part_sig_rensa(data: Path, threshold: float) -> dict:
    from rensa import RMinHash

    table = _texts(data)
    texts = table["text"].to_pylist()
    t0, c0 = time.perf_counter(), time.process_time()
    sets = [_shingles(t or "") for t in texts]
    t1 = time.perf_counter()
    RMinHash.digest_matrix_from_token_sets(sets, NUM_PERM, SEED)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"docs": table.num_rows, "mb": _mb(table), "secs": secs, "cpu": cpu,
            "sign_only_secs": time.perf_counter() - t1}


def part_e2e_sql(data: Path, threshold: float, out: Path) -> dict:
    import corpusql

    table = _texts(data)
    con = corpusql.connect()
    src = _arrow_source(con, table)
    startup = warm_up_kernels(con)
    t0, c0 = time.perf_counter(), time.process_time()
    con.execute(f"CREATE TABLE clusters AS FROM near_dup_clusters('{src}', 'text', 'id', "
                f"threshold := {threshold}, verify := true)")
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    removed = con.execute("SELECT count(*) FROM clusters WHERE NOT is_kept").fetchone()[0]
    # untimed: the pairs behind the clusters, for precision and recall
    con.execute(f"""
        CREATE TABLE cand AS
        SELECT c.id_a, c.id_b, c.est_jaccard, jaccard(a.text, b.text) AS j
        FROM near_dup_candidates('{src}', 'text', 'id', threshold := {threshold},
                                 fn_weight := 0.9) AS c
        JOIN {src} AS a ON a.id = c.id_a JOIN {src} AS b ON b.id = c.id_b""")
    con.execute(f"COPY cand TO '{out}' (FORMAT parquet)")
    # untimed: the same with digits kept (norm_numbers := false), closer to the truth's words
    con.execute(f"""
        COPY (SELECT c.id_a, c.id_b, c.est_jaccard,
                     jaccard(a.text, b.text, norm_numbers := false) AS j
              FROM near_dup_candidates('{src}', 'text', 'id', threshold := {threshold},
                                       fn_weight := 0.9, norm_numbers := false) AS c
              JOIN {src} AS a ON a.id = c.id_a JOIN {src} AS b ON b.id = c.id_b)
        TO '{out}.digits' (FORMAT parquet)""")
    con.execute(f"COPY (SELECT id, cluster_id FROM clusters) TO '{out}.clusters' (FORMAT parquet)")
    con.close()
    return {"docs": table.num_rows, "secs": secs, "cpu": cpu, "removed": removed,
            "startup_secs": startup}


def part_e2e_datasketch(data: Path, threshold: float, out: Path) -> dict:
    from datasketch import MinHash, MinHashLSH

    table = _texts(data)
    ids, texts = table["id"].to_pylist(), table["text"].to_pylist()
    t0, c0 = time.perf_counter(), time.process_time()
    sets = [[s.encode() for s in _shingles(t or "")] for t in texts]
    sigs = MinHash.bulk(sets, num_perm=NUM_PERM, seed=SEED)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    with lsh.insertion_session() as session:
        for i, m, s in zip(ids, sigs, sets):
            if s:
                session.insert(i, m, check_duplication=False)
    pairs = set()
    for i, m, s in zip(ids, sigs, sets):
        if s:
            for j in lsh.query(m):
                if j != i:
                    pairs.add((min(i, j), max(i, j)))
    clusters = _union_find_pairs(ids, pairs)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    _write_pairs(out, pairs, clusters)
    return {"docs": len(ids), "secs": secs, "cpu": cpu, "removed": len(ids) - len(set(clusters.values())),
            "bands_rows": [lsh.b, lsh.r]}


def part_e2e_rensa(data: Path, threshold: float, out: Path) -> dict:
    from rensa import RMinHash, RMinHashLSH

    table = _texts(data)
    ids, texts = table["id"].to_pylist(), table["text"].to_pylist()
    t0, c0 = time.perf_counter(), time.process_time()
    sets = [_shingles(t or "") for t in texts]
    keep = [k for k, s in enumerate(sets) if s]
    sigs = RMinHash.from_token_sets([sets[k] for k in keep], NUM_PERM, SEED)
    lsh = RMinHashLSH(threshold, NUM_PERM, 16)  # rensa needs num_perm divisible by num_bands
    lsh.insert_many(sigs)
    pairs = set()
    for a, found in enumerate(lsh.query_all(sigs)):
        for b in found:
            if b != a:
                i, j = ids[keep[a]], ids[keep[b]]
                pairs.add((min(i, j), max(i, j)))
    clusters = _union_find_pairs(ids, pairs)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    _write_pairs(out, pairs, clusters)
    return {"docs": len(ids), "secs": secs, "cpu": cpu, "removed": len(ids) - len(set(clusters.values())),
            "bands_rows": [16, NUM_PERM // 16]}


def _write_pairs(out: Path, pairs, clusters) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    ps = sorted(pairs)
    pq.write_table(pa.table({"id_a": [p[0] for p in ps], "id_b": [p[1] for p in ps]}), out)
    pq.write_table(pa.table({"id": list(clusters), "cluster_id": list(clusters.values())}),
                   f"{out}.clusters")


# --- orchestration ------------------------------------------------------------------------------

def run_part(name: str, args) -> dict:
    cmd = [sys.executable, __file__, "--part", name, "--data", str(args.data),
           "--threshold", str(args.threshold), "--ds-docs", str(args.ds_docs),
           "--docs", str(args.docs),
           "--out", str(args.tmp / f"{name}.parquet")]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"part {name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def quality(pairs: set, truth: dict, threshold: float) -> dict:
    want = {p for p, j in truth.items() if j >= threshold}
    tp = len(pairs & want)
    precision = tp / len(pairs) if pairs else 1.0
    recall = tp / len(want) if want else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": len(pairs), "truth": len(want), "precision": precision, "recall": recall,
            "f1": f1}


def cluster_pairs(path: str) -> set:
    import pyarrow.parquet as pq

    t = pq.read_table(path).to_pydict()
    members: dict = {}
    for i, c in zip(t["id"], t["cluster_id"]):
        members.setdefault(c, []).append(i)
    out = set()
    for ms in members.values():
        ms.sort()
        out.update((a, b) for k, a in enumerate(ms) for b in ms[k + 1:])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--threshold", type=float, default=0.8)
    ap.add_argument("--ds-docs", type=int, default=3000)
    ap.add_argument("--docs", type=int, default=0)
    ap.add_argument("--part")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    global DOCS
    DOCS = args.docs or None
    if args.part:
        fn = {
            "sig-sql": lambda: part_sig_sql(args.data, args.threshold),
            "sig-datasketch": lambda: part_sig_datasketch(args.data, args.threshold, args.ds_docs),
            "sig-rensa": lambda: part_sig_rensa(args.data, args.threshold),
            "e2e-sql": lambda: part_e2e_sql(args.data, args.threshold, args.out),
            "e2e-datasketch": lambda: part_e2e_datasketch(args.data, args.threshold, args.out),
            "e2e-rensa": lambda: part_e2e_rensa(args.data, args.threshold, args.out),
        }[args.part]
        result = fn()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_rss_mb"] = usage.ru_maxrss / 1024
        result["cpu_secs_process"] = usage.ru_utime + usage.ru_stime
        print(json.dumps(result))
        return

    import tempfile

    import pyarrow.parquet as pq

    if not (args.data / "bench.parquet").exists():
        raise SystemExit(f"{args.data}/bench.parquet not found (see ../shared/README.md)")
    with tempfile.TemporaryDirectory() as tmp:
        args.tmp = Path(tmp)
        res = {}
        for name in ("sig-sql", "sig-datasketch", "sig-rensa",
                     "e2e-sql", "e2e-datasketch", "e2e-rensa"):
            res[name] = run_part(name, args)
            print(f"{name:16s} {json.dumps(res[name])}", flush=True)
        t = pq.read_table(args.data / "truth_pairs.parquet").to_pydict()
        truth = {(a, b): j for a, b, j in zip(t["a"], t["b"], t["jaccard"])}
        if args.docs:
            ids = set(_texts(args.data)["id"].to_pylist())
            truth = {p: j for p, j in truth.items() if p[0] in ids and p[1] in ids}
        sql = pq.read_table(args.tmp / "e2e-sql.parquet").to_pydict()
        cand = list(zip(sql["id_a"], sql["id_b"], sql["est_jaccard"], sql["j"]))
        q = {
            "corpusql verified pairs": quality(
                {(a, b) for a, b, _, j in cand if j is not None and j >= args.threshold},
                truth, args.threshold),
            "corpusql LSH candidates": quality({(a, b) for a, b, _, _ in cand}, truth,
                                               args.threshold),
            "corpusql verified, digits kept": quality(
                {(a, b) for a, b, j in zip(*(pq.read_table(args.tmp / "e2e-sql.parquet.digits")
                                             .to_pydict()[k] for k in ("id_a", "id_b", "j")))
                 if j is not None and j >= args.threshold}, truth, args.threshold),
            "corpusql cluster pairs": quality(
                cluster_pairs(str(args.tmp / "e2e-sql.parquet.clusters")), truth, args.threshold),
        }
        for name in ("datasketch", "rensa"):
            p = pq.read_table(args.tmp / f"e2e-{name}.parquet").to_pydict()
            q[f"{name} LSH candidates"] = quality(set(zip(p["id_a"], p["id_b"])), truth,
                                                  args.threshold)
            q[f"{name} cluster pairs"] = quality(
                cluster_pairs(str(args.tmp / f"e2e-{name}.parquet.clusters")), truth,
                args.threshold)

    def mbps(r, key="secs"):
        return r["mb"] / r[key]

    sql, ds, rs = res["sig-sql"], res["sig-datasketch"], res["sig-rensa"]
    print("\n## signatures (MB of text per second; wall clock, and per CPU second)")
    for name, r in (("sig-sql", sql), ("sig-datasketch", ds), ("sig-rensa", rs)):
        print(f"  {name:16s} {mbps(r):8.2f} MB/s wall {mbps(r, 'cpu'):8.2f} MB/cpu-s  "
              f"({r['docs']} docs, {r['mb']:.1f} MB, {r['secs']:.2f} s, cpu {r['cpu']:.2f} s)")
    for label, key in (("wall", "secs"), ("cpu", "cpu")):
        print(f"  [{label}] SQL / datasketch bulk: {mbps(sql, key) / mbps(ds, key):5.1f}x "
              f"(target >= 20x)   SQL / rensa: {mbps(sql, key) / mbps(rs, key):5.2f}x "
              "(target >= 0.5x)")
    print("  the baselines include their Python tokenization (as a pipeline must); "
          "signing pre-tokenized input only (wall):")
    for name, r in (("sig-datasketch", ds), ("sig-rensa", rs)):
        only = r["mb"] / r["sign_only_secs"]
        print(f"  {name:16s} {only:8.2f} MB/s sign-only; SQL (normalize + shingle + sign) / it: "
              f"{mbps(sql) / only:.2f}x")
    print(f"\n## end to end at threshold {args.threshold} ({res['e2e-sql']['docs']} docs)")
    for name in ("e2e-sql", "e2e-datasketch", "e2e-rensa"):
        r = res[name]
        print(f"  {name:16s} {r['secs']:8.2f} s wall {r['cpu']:8.2f} s cpu  peak RSS "
              f"{r['peak_rss_mb']:7.0f} MB  removed {r['removed']}")
    for name in ("datasketch", "rensa"):
        b = res[f"e2e-{name}"]
        print(f"  speed-up SQL vs {name}: wall {b['secs'] / res['e2e-sql']['secs']:.2f}x, "
              f"cpu {b['cpu'] / res['e2e-sql']['cpu']:.2f}x"
              + ("  (target >= 3x)" if name == "rensa" else "  (target >= 10x)"))
    print(f"  one-time start-up of the compiled kernels (not in the figures above): "
          f"{res['sig-sql']['startup_secs']:.2f} s (signatures process), "
          f"{res['e2e-sql']['startup_secs']:.2f} s (end-to-end process)")
    print(f"\n## pair quality against truth Jaccard >= {args.threshold}")
    for name, r in q.items():
        print(f"  {name:26s} P={r['precision']:.4f} R={r['recall']:.4f} F1={r['f1']:.4f} "
              f"({r['pairs']} pairs, {r['truth']} truth)")


if __name__ == "__main__":
    main()

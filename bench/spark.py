"""Near-duplicate clustering on Spark against DuckDB on the same 2 cores, stage by stage.

Usage: .venv/bin/python bench/spark.py [--copies 19] [--scale-copies 1] [--no-cluster]
       [--data ../shared/data/neardup-dev] [--work /tmp/corpusql-spark-bench]

The documents are bench/neardup_scale.py's replicated set (``--copies 19``: 1,023,815 documents),
rewritten with 10,000-row row groups so that Spark reads it in many splits. The pipeline is
near_dup_clusters at threshold 0.8 (verify, 128 permutations, word 5-grams) cut into stages,
each materialized (a DuckDB table, a Parquet directory on Spark) so that each is timed alone:

  signatures       minhash_signature of every text
  band keys        minhash_bands, one row per band (14 bands)
  candidate pairs  documents sharing a band bucket, distinct (over-full buckets: stars)
  verify           shingle sets of the candidates, pairs with Jaccard >= 0.8
  cc               connected components (DuckDB: the connected_components UDF on one list;
                   Spark: large-star / small-star rounds) and the cluster labels

Each side runs in its own process: DuckDB (SET threads = 2) first, then Spark on local[2], then
DuckDB again (the DuckDB figure is the faster of its two runs). CPU is the CPU time of the
whole process tree (the Spark driver JVM and its Python workers; on the standalone cluster also
the workers' executor JVMs and their Python workers), read around each stage from a cgroup-v1
cpuacct group the Spark side runs in (exited workers included), else from /proc.
Spark's shuffle bytes per stage come from its REST API (/api/v1/applications/<id>/stages, the
stages of the jobs run under the stage's job group). Session start and the first query's
warm-up are reported apart. The DuckDB macro near_dup_clusters is timed too, and every run's
clusters must be the same rows as the macro's.

Then, unless --no-cluster, a standalone cluster (tests/spark/cluster.py: a master and two
1-core workers on 127.0.0.1) runs the same Spark stages on ``--scale-copies`` replicas with
spark.cores.max = 1 and then 2: speedup = time(1 core) / time(2 cores), efficiency = speedup / 2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "neardup-dev"
STAGES = ("signatures", "band keys", "candidate pairs", "verify", "cc")
THRESHOLD = 0.8
CLK = os.sysconf("SC_CLK_TCK")


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds (user + system, with reaped children) of ``roots`` and every descendant."""
    total, todo, seen = 0.0, list(roots), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15]) / CLK  # utime stime cutime cstime
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                todo.extend(int(k) for k in (task / "children").read_text().split())
            except OSError:
                pass
    return total


CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class CpuMeter:
    """CPU seconds of this process and everything it starts, with exited processes counted.

    Preferably a cgroup-v1 ``cpuacct`` group of its own (``cpuacct.usage`` counts every process
    that ever ran in it, and children join their parent's group): summing /proc over the live
    process tree misses a Python worker that exits without being reaped into a parent's
    ``cutime``, which gave a negative stage CPU once. Falls back to that sum (``tree_cpu``)
    where the cgroup cannot be made (no cpuacct mount or no permission).
    """

    def __init__(self, roots: list[int], tag: str):
        self.roots, self.group = roots, None
        group = CPUACCT / f"corpusql-bench-{tag}-{os.getpid()}"
        try:
            group.mkdir()
            for pid in roots:
                (group / "cgroup.procs").write_text(f"{pid}\n")
            self.group = group
        except OSError:
            pass
        self.source = "cgroup cpuacct" if self.group else "/proc process tree"

    def __call__(self) -> float:
        if self.group:
            return int((self.group / "cpuacct.usage").read_text()) / 1e9
        return tree_cpu(self.roots)

    def close(self) -> None:
        """Hand the live processes back to the root group and remove ours (best effort)."""
        if not self.group:
            return
        for pid in (self.group / "cgroup.procs").read_text().split():
            try:
                (CPUACCT / "cgroup.procs").write_text(f"{pid}\n")
            except OSError:
                pass
        try:
            self.group.rmdir()
        except OSError:
            pass


def prepare(data: Path, copies: int, work: Path) -> Path:
    """neardup_scale's replicated set, rewritten in 10,000-row row groups (built once)."""
    import duckdb
    from neardup_scale import build  # bench/ is the script's directory

    out = work / f"docs-x{copies}.parquet"
    if out.exists():
        return out
    raw = work / f"raw-x{copies}.parquet"
    build(data, copies, raw)
    con = duckdb.connect()
    con.execute(f"COPY (FROM read_parquet('{raw}')) TO '{out}' "
                "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 10000)")
    con.close()
    raw.unlink()
    return out


# ---------------------------------------------------------------- DuckDB side

def duck_stages(bands: int, rows: int) -> list[tuple[str, str]]:
    return [
        ("signatures", "CREATE TABLE sigs AS SELECT id, minhash_signature(text) AS sig FROM docs"),
        ("band keys", f"CREATE TABLE keys AS SELECT id, unnest(minhash_bands(sig, bands := {bands}, "
                      f"rows := {rows})) AS band_key FROM sigs WHERE sig IS NOT NULL"),
        ("candidate pairs", """CREATE TABLE cand AS
            WITH shared AS (
                SELECT id, band_key, count(*) OVER w AS n, min(id) OVER w AS rep
                FROM keys WINDOW w AS (PARTITION BY band_key) QUALIFY n > 1)
            SELECT DISTINCT src, dst FROM (
                SELECT a.id AS src, b.id AS dst FROM shared AS a JOIN shared AS b
                    ON a.band_key = b.band_key AND a.id < b.id WHERE a.n <= 1000 AND b.n <= 1000
                UNION ALL
                SELECT rep, id FROM shared WHERE n > 1000 AND id <> rep)"""),
        ("verify", f"""CREATE TABLE pairs AS
            WITH sets AS (
                SELECT id, shingle_set(text) AS s FROM docs
                WHERE id IN (SELECT src FROM cand UNION SELECT dst FROM cand))
            SELECT c.src, c.dst FROM cand AS c JOIN sets AS a ON a.id = c.src
                JOIN sets AS b ON b.id = c.dst WHERE set_jaccard(a.s, b.s) >= {THRESHOLD}"""),
        ("cc", """CREATE TABLE clusters AS
            WITH nodes AS (SELECT id, dense_rank() OVER (ORDER BY id) - 1 AS node FROM docs),
            edges AS (SELECT a.node AS src, b.node AS dst FROM pairs AS p
                      JOIN nodes AS a ON a.id = p.src JOIN nodes AS b ON b.id = p.dst),
            label AS (SELECT connected_components(list(src ORDER BY src, dst),
                                                  list(dst ORDER BY src, dst)) AS l FROM edges),
            labels AS (SELECT unnest(range(len(l))) AS node, unnest(l) AS component
                       FROM label WHERE l IS NOT NULL),
            clustered AS (SELECT n.id, coalesce(l.component, n.node) AS component
                          FROM nodes AS n LEFT JOIN labels AS l USING (node))
            SELECT id, min(id) OVER c AS cluster_id, count(*) OVER c AS cluster_size,
                   row_number() OVER (PARTITION BY component ORDER BY id) = 1 AS is_kept
            FROM clustered WINDOW c AS (PARTITION BY component)"""),
    ]


def duck_part(path: Path, work: Path, tag: str) -> dict:
    from _timing import warm_up_kernels

    import corpusql

    con = corpusql.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET temp_directory = '{work / 'spill'}'")
    con.execute(f"CREATE VIEW docs AS SELECT id, text FROM read_parquet('{path}')")
    warm = warm_up_kernels(con)
    n = con.execute("SELECT count(*) FROM docs").fetchone()[0]
    p = con.execute(f"SELECT minhash_params({THRESHOLD}, fn_weight := 0.9)").fetchone()[0]
    stages = {}
    for name, sql in duck_stages(p["bands"], p["rows"]):
        t0, c0 = time.perf_counter(), time.process_time()
        con.execute(sql)
        stages[name] = {"secs": time.perf_counter() - t0, "cpu": time.process_time() - c0}
    t0, c0 = time.perf_counter(), time.process_time()
    con.execute(f"CREATE TABLE macro AS FROM near_dup_clusters('docs', 'text', 'id', "
                f"threshold := {THRESHOLD})")
    macro = {"secs": time.perf_counter() - t0, "cpu": time.process_time() - c0}
    out = work / f"duck-{tag}.parquet"
    con.execute(f"COPY macro TO '{out}' (FORMAT parquet)")
    diff = con.execute("SELECT count(*) FROM (SELECT * FROM clusters EXCEPT SELECT id, "
                       "cluster_id, cluster_size, is_kept FROM macro)").fetchone()[0]
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("keys", "cand", "pairs")}
    removed = con.execute("SELECT count(*) FILTER (WHERE NOT is_kept) FROM macro").fetchone()[0]
    con.close()
    return {"docs": n, "warm_up_secs": warm, "stages": stages, "macro": macro,
            "staged_differs_from_macro": diff, "rows": counts, "removed": removed,
            "clusters": str(out)}


# ---------------------------------------------------------------- Spark side

def get_json(url: str):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.load(r)


def shuffle_by_group(spark) -> dict:
    """{job group: {shuffle_write, shuffle_read, executor_cpu}} from Spark's REST API."""
    sc = spark.sparkContext
    api = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}"
    stage_group = {}
    for job in get_json(f"{api}/jobs"):
        for sid in job.get("stageIds", []):
            stage_group[sid] = job.get("jobGroup")
    out: dict = {}
    for st in get_json(f"{api}/stages?status=complete"):
        g = out.setdefault(stage_group.get(st["stageId"]), {
            "shuffle_write": 0, "shuffle_read": 0, "executor_cpu": 0.0, "tasks": 0})
        g["shuffle_write"] += st["shuffleWriteBytes"]
        g["shuffle_read"] += st["shuffleReadBytes"]
        g["executor_cpu"] += st["executorCpuTime"] / 1e9
        g["tasks"] += st["numCompleteTasks"]
    return out


def spark_part(path: Path, work: Path, master: str, tag: str, cpu_pids: list[int],
               conf: dict) -> dict:
    import socket

    import corpusql.spark
    from corpusql.spark import dedup

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        ui_port = s.getsockname()[1]
    settings = {"spark.ui.enabled": "true", "spark.ui.port": str(ui_port),
                "spark.ui.showConsoleProgress": "false",
                "spark.local.dir": str(work / "spark-local"),
                "spark.sql.shuffle.partitions": "16",
                "spark.sql.execution.arrow.maxRecordsPerBatch": "2000", **conf}
    cpu = CpuMeter([os.getpid(), *cpu_pids], tag)  # before the JVM starts: it joins the group
    t0 = time.perf_counter()
    spark = corpusql.spark.session(master, app_name=f"bench-{tag}", **settings)
    start_secs = time.perf_counter() - t0
    spark.sparkContext.setLogLevel("ERROR")
    out = work / f"spark-{tag}"
    t0 = time.perf_counter()
    spark.range(0, 8, numPartitions=8).selectExpr(
        "minhash_signature(CAST(id AS STRING) || ' warm up') AS s",
        "set_jaccard(shingle_set('a'), shingle_set('b')) AS j").collect()
    warm_secs = time.perf_counter() - t0
    sc = spark.sparkContext
    opts = dedup.shingle_options()
    bands, rows = dedup.banding(spark, THRESHOLD)
    base = spark.read.parquet(str(path)).select("id", "text")
    n = base.count()
    cc_stats: dict = {}

    def signatures():
        dedup.signatures(base, options=opts).write.parquet(str(out / "sigs"))

    def keys():
        dedup.band_keys(spark.read.parquet(str(out / "sigs")), bands, rows).write.parquet(
            str(out / "keys"))

    def cand():
        dedup.candidate_pairs(spark.read.parquet(str(out / "keys"))).write.parquet(
            str(out / "cand"))

    def verify():
        dedup.verified_pairs(spark.read.parquet(str(out / "cand")), base, THRESHOLD,
                             opts).write.parquet(str(out / "pairs"))

    def cc():
        from pyspark.sql import functions as F

        labels = dedup.connected_components(spark.read.parquet(str(out / "pairs")),
                                            stats=cc_stats)
        dedup.clusters(base.select("id", F.lit(None).alias("priority")), labels).write.parquet(
            str(out / "clusters"))

    stages = {}
    for name, fn in zip(STAGES, (signatures, keys, cand, verify, cc)):
        sc.setJobGroup(name, name)
        t0, c0 = time.perf_counter(), cpu()
        fn()
        stages[name] = {"secs": time.perf_counter() - t0, "cpu": cpu() - c0}
    api = shuffle_by_group(spark)
    for name in STAGES:
        stages[name].update(api.get(name, {}))
    counts = {t: spark.read.parquet(str(out / t)).count() for t in ("keys", "cand", "pairs")}
    executors = [{"id": e["id"], "host": e["hostPort"], "tasks": e["totalTasks"]}
                 for e in get_json(f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}"
                                   "/allexecutors")]
    spark.stop()
    cpu.close()
    return {"docs": n, "cpu_source": cpu.source, "session_start_secs": start_secs,
            "warm_up_secs": warm_secs,
            "stages": stages, "cc_rounds": cc_stats["rounds"], "rows": counts,
            "clusters": str(out / "clusters"), "executors": executors}


# ---------------------------------------------------------------- driver

def run_part(args: list[str], env: dict | None = None) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          check=False, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"bench/spark.py {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def same_clusters(duck: dict, spark: dict) -> int:
    """Rows of DuckDB's macro answer not in Spark's, plus the other way round."""
    import duckdb

    con = duckdb.connect()
    a = f"read_parquet('{duck['clusters']}')"
    b = f"read_parquet('{spark['clusters']}/*.parquet')"
    cols = "id, cluster_id, cluster_size, is_kept"
    n = con.execute(f"SELECT (SELECT count(*) FROM (SELECT {cols} FROM {a} EXCEPT SELECT {cols} "
                    f"FROM {b})) + (SELECT count(*) FROM (SELECT {cols} FROM {b} EXCEPT "
                    f"SELECT {cols} FROM {a}))").fetchone()[0]
    con.close()
    return n


def table(duck: dict, spark: dict) -> str:
    n = duck["docs"]
    lines = ["| stage | DuckDB s | Spark s | DuckDB CPU-us/doc | Spark CPU-us/doc | CPU ratio | "
             "shuffle write B/doc | shuffle read B/doc |", "|---|---|---|---|---|---|---|---|"]
    for name in STAGES:
        d, s = duck["stages"][name], spark["stages"][name]
        lines.append(f"| {name} | {d['secs']:.1f} | {s['secs']:.1f} | {1e6 * d['cpu'] / n:.1f} | "
                     f"{1e6 * s['cpu'] / n:.1f} | {s['cpu'] / max(d['cpu'], 1e-9):.2f} | "
                     f"{s.get('shuffle_write', 0) / n:.1f} | {s.get('shuffle_read', 0) / n:.1f} |")
    dt = sum(v["secs"] for v in duck["stages"].values())
    st = sum(v["secs"] for v in spark["stages"].values())
    dc = sum(v["cpu"] for v in duck["stages"].values())
    sc = sum(v["cpu"] for v in spark["stages"].values())
    lines.append(f"| total | {dt:.1f} | {st:.1f} | {1e6 * dc / n:.1f} | {1e6 * sc / n:.1f} | "
                 f"{sc / dc:.2f} | | |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--copies", type=int, default=19)
    ap.add_argument("--scale-copies", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path("/tmp/corpusql-spark-bench"))
    ap.add_argument("--driver-memory", default="6g")
    ap.add_argument("--no-cluster", action="store_true")
    ap.add_argument("--duck-part", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--spark-part", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--master", default="local[2]", help=argparse.SUPPRESS)
    ap.add_argument("--tag", default="x", help=argparse.SUPPRESS)
    ap.add_argument("--cpu-pids", default="", help=argparse.SUPPRESS)
    ap.add_argument("--conf", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.duck_part:
        print(json.dumps(duck_part(args.duck_part, args.work, args.tag)))
        return
    if args.spark_part:
        pids = [int(p) for p in args.cpu_pids.split(",") if p]
        print(json.dumps(spark_part(args.spark_part, args.work, args.master, args.tag, pids,
                                    json.loads(args.conf))))
        return
    if not (args.data / "bench.parquet").exists():
        raise SystemExit(f"{args.data}/bench.parquet not found (see ../shared/README.md)")
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    path = prepare(args.data, args.copies, args.work)
    w = ["--work", str(args.work)]
    duck1 = run_part(["--duck-part", str(path), "--tag", "d1", *w])
    print("duckdb", json.dumps(duck1), flush=True)
    conf = json.dumps({"spark.driver.memory": args.driver_memory})
    spark = run_part(["--spark-part", str(path), "--tag", "local2", "--conf", conf, *w])
    print("spark", json.dumps(spark), flush=True)
    duck2 = run_part(["--duck-part", str(path), "--tag", "d2", *w])
    print("duckdb", json.dumps(duck2), flush=True)
    duck = min(duck1, duck2, key=lambda d: sum(v["secs"] for v in d["stages"].values()))
    differs = same_clusters(duck, spark)
    n = duck["docs"]
    st = sum(v["secs"] for v in spark["stages"].values())
    dt = sum(v["secs"] for v in duck["stages"].values())
    print(f"\n{n:,} documents, threshold {THRESHOLD}, 2 cores; load average now "
          f"{os.getloadavg()[0]:.1f}")
    print(table(duck, spark))
    print(f"Spark local[2] {st:.1f} s vs DuckDB staged {dt:.1f} s (macro {duck['macro']['secs']:.1f}"
          f" s; runs {sum(v['secs'] for v in duck1['stages'].values()):.1f} / "
          f"{sum(v['secs'] for v in duck2['stages'].values()):.1f} s): ratio {st / dt:.2f}x "
          f"(vs macro {st / duck['macro']['secs']:.2f}x)")
    print(f"session start {spark['session_start_secs']:.1f} s, first-query warm-up "
          f"{spark['warm_up_secs']:.1f} s (both excluded); CC rounds {spark['cc_rounds']}; "
          f"rows: {spark['rows']} (DuckDB {duck['rows']}); removed {duck['removed']:,}; "
          f"rows differing from the DuckDB macro: {differs}; DuckDB staged vs macro: "
          f"{duck['staged_differs_from_macro']}")
    if args.no_cluster:
        return
    sys.path.insert(0, str(ROOT / "tests" / "spark"))
    from cluster import standalone_cluster

    small = prepare(args.data, args.scale_copies, args.work)
    runs = {}
    with standalone_cluster(workers=2, cores=1, memory="2g") as cluster:
        pids = ",".join(str(p) for p in cluster.worker_pids)
        for cores in (1, 2):
            conf = json.dumps({"spark.cores.max": str(cores), "spark.executor.memory": "1500m",
                               "spark.driver.memory": "1g"})
            runs[cores] = run_part(["--spark-part", str(small), "--tag", f"cluster{cores}",
                                    "--master", cluster.master_url, "--cpu-pids", pids,
                                    "--conf", conf, *w])
            print(f"cluster, {cores} core(s)", json.dumps(runs[cores]), flush=True)
    t1, t2 = (sum(v["secs"] for v in runs[c]["stages"].values()) for c in (1, 2))
    print(f"\nstandalone cluster, {runs[1]['docs']:,} documents: 1 worker {t1:.1f} s, 2 workers "
          f"{t2:.1f} s: speedup {t1 / t2:.2f}, efficiency {t1 / t2 / 2:.2f}; per stage: "
          + ", ".join(f"{s} {runs[1]['stages'][s]['secs'] / runs[2]['stages'][s]['secs']:.2f}"
                      for s in STAGES)
          + f"; executors (2 workers): {runs[2]['executors']}")


if __name__ == "__main__":
    main()

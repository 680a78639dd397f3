"""Catalog benchmarks: view vs direct read_parquet, prewarmed remote vs local, registering files.

    .venv/bin/python bench/catalog.py [--rows 2000000] [--small-files 10000]

Each figure is a ratio against a reference measured in the same run: best of --repeat runs, the
two sides alternating so that both see the same load from other processes.
Remote reads use the Range/ETag HTTP server of the catalog tests, on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "catalog"))

from catalog_helpers import RangeServer  # noqa: E402

import corpusql  # noqa: E402

QUERIES = {
    "count": "SELECT count(*) FROM {src}",
    "scan": "SELECT sum(length(text)), sum(id) FROM {src}",
    "range": "SELECT count(*), max(text) FROM {src} WHERE id BETWEEN 100000 AND 900000",
    "like": "SELECT count(*) FROM {src} WHERE text LIKE '%word word word%'",
    # DuckDB 2.0 pushes arithmetic filters into read_parquet only when no subquery (view)
    # sits between them: this one runs as a Filter operator over the view.
    "arith": "SELECT count(*) FROM {src} WHERE id % 97 = 3",
}


def timed(con, sql: str, repeat: int) -> float:
    """Best of ``repeat`` runs after a warm-up (the minimum resists other load on the machine)."""
    con.execute(sql).fetchall()
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        con.execute(sql).fetchall()
        runs.append(time.perf_counter() - t)
    return min(runs)


def paired(con, a: str, b: str, repeat: int) -> tuple[float, float]:
    """Best times of ``a`` and ``b`` run alternately, so both see the same machine load."""
    ta, tb = [], []
    con.execute(a).fetchall()
    con.execute(b).fetchall()
    for _ in range(repeat):
        ta.append(timed(con, a, 1))
        tb.append(timed(con, b, 1))
    return min(ta), min(tb)


def make_files(d: Path, files: int, rows: int) -> list[str]:
    d.mkdir(parents=True, exist_ok=True)
    per = rows // files
    out = []
    for i in range(files):
        ids = pa.array(range(i * per, (i + 1) * per), pa.int64())
        text = pa.array([f"doc {j} " + "word " * (j % 13) for j in range(i * per, (i + 1) * per)])
        path = d / f"part-{i:03d}.parquet"
        pq.write_table(pa.table({"id": ids, "text": text}), path, row_group_size=100_000)
        out.append(str(path))
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--remote-rows", type=int, default=400_000)
    ap.add_argument("--small-files", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="corpusql-bench-") as tmp:
        tmp = Path(tmp)
        con = corpusql.connect(str(tmp / "lake.duckdb"))
        con.execute(f"SET threads = {a.threads}")
        cat = corpusql.catalog(con)

        # 1. view vs direct read_parquet over the same local files
        paths = make_files(tmp / "local", a.files, a.rows)
        cat.add("local_ds", str(tmp / "local" / "*.parquet"))
        direct = "read_parquet([" + ", ".join(f"'{p}'" for p in paths) + "])"
        print(f"## view vs direct read_parquet ({a.rows:,} rows, {a.files} files, "
              f"{a.threads} threads)")
        for q, sql in QUERIES.items():
            ref, view = paired(con, sql.format(src=direct), sql.format(src="local_ds"),
                               a.repeat)
            print(f"{q:8s} direct {ref * 1000:8.1f} ms  view {view * 1000:8.1f} ms  "
                  f"ratio {view / ref:.2f}x")

        # 2. remote (HTTP, Range requests) live vs prewarmed vs local
        make_files(tmp / "http", 4, a.remote_rows)
        server = RangeServer(tmp / "http").start()
        try:
            t = time.perf_counter()
            for i in range(4):
                cat.add(f"remote_{i}", f"{server.url}/part-{i:03d}.parquet")
            add_s = time.perf_counter() - t
            union = " UNION ALL ".join(f"SELECT id, text FROM remote_{i}" for i in range(4))
            lunion = " UNION ALL ".join(
                f"SELECT id, text FROM read_parquet('{tmp / 'http' / f'part-{i:03d}.parquet'}')"
                for i in range(4))
            scan = "SELECT sum(length(text)), sum(id) FROM ({src})"
            live, local = paired(con, scan.format(src=union), scan.format(src=lunion),
                                 max(1, a.repeat // 3))
            t = time.perf_counter()
            for i in range(4):
                cat.prewarm(f"remote_{i}")
            warm_s = time.perf_counter() - t
            warm, local2 = paired(con, scan.format(src=union), scan.format(src=lunion), a.repeat)
            local = min(local, local2)
        finally:
            server.stop()
        print(f"\n## remote over HTTP ({a.remote_rows:,} rows, 4 files)")
        print(f"local {local * 1000:.1f} ms  live remote {live * 1000:.1f} ms "
              f"({live / local:.2f}x)  prewarmed {warm * 1000:.1f} ms ({warm / local:.2f}x)")
        print(f"add 4 datasets {add_s:.2f} s, prewarm {warm_s:.2f} s")

        # 3. registering many small files
        d = tmp / "small"
        d.mkdir()
        tiny = pa.table({"id": [1], "text": ["x"]})
        for i in range(a.small_files):
            pq.write_table(tiny, d / f"f{i:05d}.parquet")
        t = time.perf_counter()
        st = cat.add("small", str(d / "*.parquet"))
        reg = time.perf_counter() - t
        t = time.perf_counter()
        n = con.execute("SELECT count(*) FROM small").fetchall()[0][0]
        scan_s = time.perf_counter() - t
        t = time.perf_counter()
        rep = cat.sync("small")
        sync_s = time.perf_counter() - t
        print(f"\n## registering {a.small_files:,} small Parquet files")
        print(f"add {reg:.2f} s ({st.files} files), count(*) over the view {scan_s:.2f} s "
              f"({n} rows), no-op sync {sync_s:.2f} s ({len(rep.new)} new)")
        con.close()


if __name__ == "__main__":
    main()

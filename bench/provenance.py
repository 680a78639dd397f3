"""Provenance figures: finding a URL across releases, and a takedown against a rebuild.

Run: ``python bench/provenance.py [--docs 100000] [--releases 10] [--threads 2]``.

1. One release of ``--docs`` documents (id, ~1 KB text, url, source) is materialized from a
   catalog dataset; it is copied to ``--releases`` release directories (each with its own
   manifest and fingerprint index). Finding one URL across all of them reads only their
   indexes (``read_parquet([release_index(p) ...]) WHERE url_key = url_normalize(u)``; the
   indexes are sorted by url_key, so Parquet statistics skip all but one row group each);
   compared with scanning every url_key of one release's index. Target: within 2x.
2. A takedown of 100 documents (every URL on one registered domain) from one release is
   compared with re-materializing that release once (``force=True``). Target: within 1.5x.

Ratios are measured in one run on the same machine; absolute times depend on its load.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import best  # noqa: E402

import corpusql  # noqa: E402
from corpusql.materializer import materialize  # noqa: E402


def _data(con, path: Path, n: int) -> None:
    con.execute(f"""COPY (SELECT 'doc-' || i AS id,
        'Document ' || i || ': ' || array_to_string(list_transform(range(24),
            lambda j: md5(i::VARCHAR || '-' || j::VARCHAR)), ' ') AS text,
        CASE WHEN i % {max(1, n // 100)} = 7 THEN 'https://www.optout-site.org/page/' || i
             ELSE 'https://site' || (i % 5000) || '.example.com/p/' || i END AS url,
        CASE WHEN i % 3 = 0 THEN 'web' ELSE 'books' END AS source
        FROM range({n}) t(i)) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 50000)""")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--releases", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="corpusql-bench-prov-"))
    con = corpusql.connect(work / "lake.duckdb")
    con.execute(f"SET threads = {a.threads}")
    try:
        _data(con, work / "docs.parquet", a.docs)
        corpusql.catalog(con).add("docs", str(work / "docs.parquet"), licence="CC-BY-4.0",
                                  redistributable=True)
        query = "SELECT id, text, url, source FROM docs"
        t0 = time.perf_counter()
        materialize(con, query, work / "r0", order_by="id")
        first = time.perf_counter() - t0
        for i in range(1, a.releases):
            shutil.copytree(work / "r0", work / f"r{i}", copy_function=os.link)  # same bytes
        paths = [str(work / f"r{i}") for i in range(a.releases)]
        url = "HTTPS://site42.example.com/p/5042?utm_source=bench"
        look = ("SELECT count(*) FROM read_parquet([release_index(p) FOR p IN $paths]) "
                "WHERE url_key = url_normalize($u)")

        def find(ps):
            return con.execute(look, {"paths": ps, "u": url}).fetchall()

        def scan_one():  # every url_key of one index: what a search without the index
            return con.execute(  # statistics would read
                "SELECT max(length(url_key)) FROM read_parquet(release_index($p))",
                {"p": paths[0]}).fetchall()

        assert find(paths) == [(a.releases,)], find(paths)
        one = best(lambda: find(paths[:1]), a.repeat)
        many = best(lambda: find(paths), a.repeat)
        scan = best(scan_one, a.repeat)
        print(f"find one URL in {a.releases} release indexes {many * 1000:.1f} ms; scan one "
              f"release's index {scan * 1000:.1f} ms: {many / scan:.2f}x (target <= 2x); "
              f"find in 1 index {one * 1000:.1f} ms ({many / one:.2f}x)")

        def rebuild():
            materialize(con, query, work / "r0", order_by="id", force=True, overwrite=True)

        rebuild_s = best(rebuild, a.repeat)
        takes = []
        for i in range(1, 1 + min(a.repeat, a.releases - 1)):  # a fresh copy each time
            t0 = time.perf_counter()
            rep = corpusql.takedown(con, {"domain": "optout-site.org"}, "site opt-out",
                                    f"BENCH-{i}", [work / f"r{i}"])
            takes.append(time.perf_counter() - t0)
            assert rep.rows[0].found == 100, rep.rows
        take_s = min(takes)
        print(f"materialize {a.docs} docs (first write) {first:.2f} s; re-materialize "
              f"(force) {rebuild_s:.2f} s; takedown of {rep.rows[0].found} documents "
              f"{take_s:.2f} s: {take_s / rebuild_s:.2f}x (target <= 1.5x)")
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""onnx_score through SQL vs onnxruntime called directly on the same batches; lang_id docs/s.

    .venv/bin/python bench/onnx_scoring.py [--docs 20000] [--corpus ../shared/data/corpus-dev.parquet]

Both sides score the same texts with the bundled quality model (``quality.onnx``) in batches of
256: the direct side is one ``InferenceSession.run`` per batch from Python, with the texts
already in a list; the SQL side is ``SELECT sum(onnx_score(text)) FROM read_parquet(...)`` over
a Parquet file with 2,048-row row groups, so DuckDB can use its threads. Ratio = direct seconds /
SQL seconds (>= 1 means SQL is as fast). Best of ``--repeat`` runs. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _timing import best  # bench/ is the script's directory

import corpusql
from corpusql.udfs import langid
from corpusql.udfs import onnx_score as ox

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared/data/corpus-dev.parquet"))
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--max-chars", type=int, default=4000,
                    help="truncate documents to this many characters (both sides)")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    import onnxruntime as ort

    con = corpusql.connect()
    src = args.corpus if Path(args.corpus).exists() else str(ROOT / "extension/data/sample.parquet")
    table = con.sql(
        f"SELECT id::VARCHAR AS id, left(text, {int(args.max_chars)}) AS text "
        f"FROM read_parquet('{src}') WHERE text IS NOT NULL ORDER BY md5(id::VARCHAR) "
        f"LIMIT {int(args.docs)}").to_arrow_table()
    texts = table.column("text").to_pylist()
    chars = sum(len(t) for t in texts)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "docs.parquet"
        pq.write_table(table, path, row_group_size=2048)
        sql_in = f"read_parquet('{path}')"

        sess = ort.InferenceSession(ox.resolve("quality"), providers=["CPUExecutionProvider"])

        def direct():
            total = 0.0
            for lo in range(0, len(texts), 256):
                feed = np.array(texts[lo:lo + 256], dtype=object).reshape(-1, 1)
                total += float(sess.run(["probabilities"], {"text": feed})[0][:, 1].sum())
            return total

        def via_sql():
            return con.execute(f"SELECT sum(onnx_score(text)) FROM {sql_in}").fetchone()[0]

        via_sql()  # warm the session cache
        want, got = direct(), via_sql()
        assert abs(want - got) < 1e-6 * max(1.0, abs(want)), (want, got)
        t_direct = best(direct, args.repeat)
        t_sql = best(via_sql, args.repeat)
        rows.append(("onnxruntime direct, batches of 256", t_direct, len(texts) / t_direct, ""))
        rows.append(("`onnx_score(text)` through SQL", t_sql, len(texts) / t_sql,
                     f"{t_direct / t_sql:.2f}"))

        def lid_kernel():
            for lo in range(0, len(texts), 2048):
                langid.lang_id(pa.array(texts[lo:lo + 2048], pa.string()))

        def lid_sql():
            return con.execute(f"SELECT sum(lang_id(text).score) FROM {sql_in}").fetchone()[0]

        lid_sql()
        t_lk = best(lid_kernel, args.repeat)
        t_ls = best(lid_sql, args.repeat)
        rows.append(("`lang_id` kernel called directly, 2048-row batches", t_lk,
                     len(texts) / t_lk, ""))
        rows.append(("`lang_id(text)` through SQL", t_ls, len(texts) / t_ls,
                     f"{t_lk / t_ls:.2f}"))
    con.close()
    print(f"{len(texts)} documents, {chars} characters (each cut to {args.max_chars}), "
          f"from {Path(src).name}, best of {args.repeat}\n")
    print("| what | seconds | docs/s | ratio (direct / SQL) |")
    print("|---|---|---|---|")
    for name, sec, rate, ratio in rows:
        print(f"| {name} | {sec:.2f} | {rate:,.0f} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

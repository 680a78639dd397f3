"""Heuristic quality filters: corpusql through SQL vs datatrove 0.10.1, same documents, same run.

    .venv/bin/python bench/quality.py [--n 8000] [--write]

Needs the ``bench`` extra (datatrove, spaCy). Documents: the texts of
``../shared/data/quality-ref/decisions.parquet`` (corpus-dev, ~60 languages). For each filter:
datatrove's ``filter()`` over the documents (single process, as its pipeline runs one task),
then ours through SQL (``<set>_reasons(text)`` over an Arrow table of 2048-row batches, DuckDB's
default threads): "cold" with the word tables emptied first (every distinct chunk tokenized
again, as datatrove's spaCy does inside its memory zone), "warm" straight after (the steady
state of a long run). Each side is first warmed up on one short document (datatrove's spaCy
load; our numba kernels and rule tables, whose set-up time is printed), and the compiled rules
are loaded, or compiled once for the install, before any timing. Wall time gives the ratios;
process CPU seconds (all threads) are printed beside them, as the machine may be shared.
Agreement: pass/fail and reason, document by document, in this run.
``--write`` adds the run, dated, at the end of the ``## Quality filters`` section of
bench/RESULTS.md (earlier runs are kept).
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import corpusql
from corpusql.udfs.quality import _rules_jit, words

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "quality-ref" / "decisions.parquet"
FILTERS = [
    ("gopher_quality", "GopherQualityFilter"),
    ("gopher_repetition", "GopherRepetitionFilter"),
    ("c4_quality", "C4QualityFilter"),
    ("fineweb_quality", "FineWebQualityFilter"),
]


def run_datatrove(cls_name: str, texts: list[str]) -> tuple[float, list[str | None]]:
    from datatrove.data import Document
    from datatrove.pipeline import filters

    t0 = time.perf_counter()
    f = getattr(filters, cls_name)()
    f.filter(Document(text="warm up the tokenizer. " * 20, id="w"))
    print(f"{cls_name:18s} datatrove set-up and warm-up {time.perf_counter() - t0:.3f} s",
          flush=True)
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
    out = []
    t0, c0 = time.perf_counter(), time.process_time()
    for d in docs:
        r = f.filter(d)
        out.append(None if r is True else (r[1] if isinstance(r, tuple) else "rejected"))
    CPU[cls_name] = time.process_time() - c0
    return time.perf_counter() - t0, out


#: Process CPU seconds of the last run of each side (all threads), printed beside the wall time.
CPU: dict[str, float] = {}


def run_ours(con, name: str) -> tuple[float, list[str | None]]:
    t0, c0 = time.perf_counter(), time.process_time()
    rows = con.execute(f"SELECT {name}_reasons(text) FROM docs ORDER BY i").fetchall()
    CPU[name] = time.process_time() - c0
    return time.perf_counter() - t0, [r[0][0] if r[0] else None for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8000)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    table = pq.read_table(DATA, columns=["text"]).slice(0, args.n)
    texts = table.column("text").to_pylist()
    n_bytes = sum(len(t.encode()) for t in texts)
    docs = pa.Table.from_batches(
        pa.table({"i": pa.array(range(len(texts)), pa.int64()), "text": pa.array(texts)})
        .to_batches(max_chunksize=2048))
    con = corpusql.connect()
    con.register("docs", docs)
    cached = _rules_jit.is_cached()
    t0 = time.perf_counter()
    compiled = words.compiled_rules(force=True) is not None
    print(f"compiled rules: {'yes' if compiled else 'NO (Python rules)'}; "
          f"{'loaded from numba cache' if cached else 'compiled (once per install)'} and tables "
          f"built in {time.perf_counter() - t0:.2f} s, outside the timings", flush=True)
    results = []
    for name, cls_name in FILTERS:
        ref_s, ref = run_datatrove(cls_name, texts)
        ref_cpu = CPU[cls_name]
        # warmed up on one short document, as datatrove is (process set-up outside the timing)
        t0 = time.perf_counter()
        con.execute(f"SELECT {name}_reasons('warm up the tokenizer. ' || repeat('x ', 20))")
        print(f"{name:18s} warm-up on one document {time.perf_counter() - t0:.3f} s", flush=True)
        words._TABLES = words._Tables()  # cold: no chunk tokenized yet
        cold_s, ours = run_ours(con, name)
        cold_cpu = CPU[name]
        warm_s, _ = run_ours(con, name)
        warm_cpu = CPU[name]
        agree = sum(a == b for a, b in zip(ours, ref)) / len(texts)
        results.append((name, len(texts) / ref_s, len(texts) / cold_s, len(texts) / warm_s,
                        agree))
        print(f"{name:18s} datatrove {len(texts) / ref_s:8.0f} docs/s | ours cold "
              f"{len(texts) / cold_s:8.0f} docs/s ({ref_s / cold_s:5.1f}x) | warm "
              f"{len(texts) / warm_s:8.0f} docs/s ({ref_s / warm_s:5.1f}x) | "
              f"agreement {agree:.4f} | CPU s datatrove {ref_cpu:.2f} cold {cold_cpu:.2f} "
              f"({ref_cpu / cold_cpu:.1f}x) warm {warm_cpu:.2f} ({ref_cpu / warm_cpu:.1f}x) | "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
    con.close()
    if args.write:
        write(results, len(texts), n_bytes)


NOTES = (
    "Cold is the worst case: every distinct whitespace-separated chunk of the documents goes "
    "once through spaCy's English rules (compiled, once an earlier process of the install "
    "compiled them; the first line of the run says which), while datatrove runs spaCy's Cython "
    "tokenizer on every chunk of every document. Both sides are warmed up on one short document "
    "first, so process set-up (spaCy's load; numba's and the rule tables') is outside the "
    "timings. Warm is the steady state of a long run, where the chunk vocabulary is mostly known "
    "(tables bounded: reset past 2 million chunks)."
)


def write(results, n_docs: int, n_bytes: int) -> None:
    """Add this run, as a dated subsection, at the end of the ``## Quality filters`` section of
    bench/RESULTS.md (the section is created when absent); earlier runs are kept."""
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    load = os.getloadavg()[0]
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    intro = (
        f"{n_docs:,} documents of quality-ref/decisions.parquet ({n_bytes / 1e6:.1f} MB, ~60 "
        f"languages), load average {load:.1f} at the end. datatrove 0.10.1 `filter()` per "
        "document (single process) vs ours through SQL (`<set>_reasons(text)` over an Arrow "
        "table of 2048-row batches, DuckDB default threads), same documents, same run. Cold = "
        "the word tables emptied first; warm = the same query again. Agreement = same pass/fail "
        "and same reason, per document."
    )
    lines = [f"### {now}, `bench/quality.py --write`", "", *textwrap.wrap(intro, 99), "",
             ("| filter | datatrove docs/s | ours cold docs/s | ratio cold | ours warm docs/s "
              "| ratio warm | agreement |"),
             "|---|---|---|---|---|---|---|"]
    for name, ref, cold, warm, agree in results:
        lines.append(f"| {name} | {ref:,.0f} | {cold:,.0f} | {cold / ref:.1f}x | {warm:,.0f} | "
                     f"{warm / ref:.1f}x | {agree:.4f} |")
    lines += ["", *textwrap.wrap(NOTES, 99)]
    run = "\n".join(lines) + "\n"
    section = re.compile(r"## Quality filters.*?(?=\n## |\Z)", re.DOTALL).search(text)
    if section:
        text = text[:section.end()].rstrip("\n") + "\n\n" + run + text[section.end():]
    else:
        text = (text.rstrip("\n") + "\n\n## Quality filters (`bench/quality.py`)\n\n" + run)
    path.write_text(text)


if __name__ == "__main__":
    main()

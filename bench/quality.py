"""Heuristic quality filters: corpusql through SQL vs datatrove 0.10.1, same documents, same run.

    .venv/bin/python bench/quality.py [--n 8000] [--repeat 3] [--write]

Needs the ``bench`` extra (datatrove, spaCy). Documents: the texts of
``../shared/data/quality-ref/decisions.parquet`` (corpus-dev, ~60 languages). For each filter,
``--repeat`` rounds alternated (datatrove, ours cold, ours warm, datatrove, ...;
bench/_compare.py: best, median and spread of the rounds, least CPU, peak RSS): datatrove's
``filter()`` over the documents (single process, as its pipeline runs one task), and ours
through SQL (``<set>_reasons(text)`` over an Arrow table of 2048-row batches, DuckDB's default
threads): "cold" with the word tables emptied first (every distinct chunk tokenized
again, as datatrove's spaCy does inside its memory zone), "warm" straight after it (the steady
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
import re
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from _compare import alternate, load_average  # bench/ is the script's directory

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


def datatrove_side(cls_name: str, texts: list[str]):
    """datatrove's filter, set up and warmed up on one short document (outside the timings),
    and a callable that runs it over every document, returning pass (None) or the reason."""
    from datatrove.data import Document
    from datatrove.pipeline import filters

    t0 = time.perf_counter()
    f = getattr(filters, cls_name)()
    f.filter(Document(text="warm up the tokenizer. " * 20, id="w"))
    print(f"{cls_name:18s} datatrove set-up and warm-up {time.perf_counter() - t0:.3f} s",
          flush=True)
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]

    def run() -> list[str | None]:
        out = []
        for d in docs:
            r = f.filter(d)
            out.append(None if r is True else (r[1] if isinstance(r, tuple) else "rejected"))
        return out

    return run


def ours(con, name: str) -> list[str | None]:
    rows = con.execute(f"SELECT {name}_reasons(text) FROM docs ORDER BY i").fetchall()
    return [r[0][0] if r[0] else None for r in rows]


def ours_cold(con, name: str) -> list[str | None]:
    words._TABLES = words._Tables()  # cold: no chunk tokenized yet
    return ours(con, name)


def measure(con, name: str, ref_run, n: int, repeat: int):
    """``repeat`` rounds of datatrove, ours cold, ours warm; the three sides and the agreement."""
    outputs: dict[str, list[str | None]] = {}

    def keep(side: str, fn):
        return lambda: outputs.__setitem__(side, fn())

    sides = alternate({
        "datatrove": keep("datatrove", ref_run),
        "ours cold": keep("cold", lambda: ours_cold(con, name)),
        "ours warm": keep("warm", lambda: ours(con, name)),
    }, repeat)
    if outputs["warm"] != outputs["cold"]:
        raise SystemExit(f"{name}: the warm call's decisions differ from the cold call's")
    agree = sum(a == b for a, b in zip(outputs["cold"], outputs["datatrove"])) / n
    return sides["datatrove"], sides["ours cold"], sides["ours warm"], agree


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=8000)
    ap.add_argument("--repeat", type=int, default=3,
                    help="rounds per filter, each round datatrove, ours cold, ours warm")
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
          f"built in {time.perf_counter() - t0:.2f} s, outside the timings; "
          f"{load_average()}", flush=True)
    results = []
    for name, cls_name in FILTERS:
        ref_run = datatrove_side(cls_name, texts)
        # warmed up on one short document, as datatrove is (process set-up outside the timing)
        t0 = time.perf_counter()
        con.execute(f"SELECT {name}_reasons('warm up the tokenizer. ' || repeat('x ', 20))")
        print(f"{name:18s} warm-up on one document {time.perf_counter() - t0:.3f} s", flush=True)
        ref, cold, warm, agree = measure(con, name, ref_run, len(texts), args.repeat)
        results.append((name, ref, cold, warm, agree, len(texts)))
        print(f"{name}: agreement {agree:.4f} ({load_average()})")
        for side in (ref, cold, warm):
            print("  " + side.line(), flush=True)
        print(f"  cold ratio {ref.best / cold.best:.1f}x best, {ref.median / cold.median:.1f}x "
              f"median, {min(ref.cpu) / min(cold.cpu):.1f}x CPU; warm ratio "
              f"{ref.best / warm.best:.1f}x best", flush=True)
    con.close()
    if args.write:
        write(results, len(texts), n_bytes, args.repeat)


NOTES = (
    "Cold is the worst case: every distinct whitespace-separated chunk of the documents goes "
    "once through spaCy's English rules (compiled, once an earlier process of the install "
    "compiled them; the first line of the run says which), while datatrove runs spaCy's Cython "
    "tokenizer on every chunk of every document. Both sides are warmed up on one short document "
    "first, so process set-up (spaCy's load; numba's and the rule tables') is outside the "
    "timings. Warm is the steady state of a long run, where the chunk vocabulary is mostly known "
    "(tables bounded: reset past 2 million chunks)."
)


def write(results, n_docs: int, n_bytes: int, repeat: int) -> None:
    """Add this run, as a dated subsection, at the end of the ``## Quality filters`` section of
    bench/RESULTS.md (the section is created when absent); earlier runs are kept."""
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    intro = (
        f"{n_docs:,} documents of quality-ref/decisions.parquet ({n_bytes / 1e6:.1f} MB, ~60 "
        f"languages), {load_average()} at the end. datatrove 0.10.1 `filter()` per "
        "document (single process) vs ours through SQL (`<set>_reasons(text)` over an Arrow "
        "table of 2048-row batches, DuckDB default threads), same documents, same run; "
        f"{repeat} rounds per filter, alternated (datatrove, ours cold, ours warm, datatrove, "
        "...). Cold = the word tables emptied first; warm = the same query again. Ratios: "
        "datatrove's time over ours, best of the rounds (wall) and least process CPU (all "
        "threads). Peak RSS is the whole process during a side's calls. Agreement = same "
        "pass/fail and same reason, per document."
    )
    lines = [f"### {now}, `bench/quality.py --repeat {repeat} --write`", "",
             *textwrap.wrap(intro, 99), "",
             ("| filter | side | docs/s (best) | best s | median s | spread s | CPU s | "
              "peak RSS | ratio (wall) | ratio (CPU) | agreement |"),
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, ref, cold, warm, agree, n in results:
        for side in (ref, cold, warm):
            wall = ref.best / side.best
            ratio = "1.00" if side is ref else f"**{wall:.1f}x**" if side is cold else f"{wall:.1f}x"
            cpu = "1.00" if side is ref else f"{min(ref.cpu) / min(side.cpu):.1f}x"
            lines.append(
                f"| {name} | {side.name} | {n / side.best:,.0f} | {side.best:.2f} | "
                f"{side.median:.2f} | {side.spread:.2f} | {min(side.cpu):.2f} | "
                f"{side.peak_rss / 2**20:,.0f} MB | {ratio} | {cpu} | "
                f"{'' if side is ref else f'{agree:.4f}'} |")
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

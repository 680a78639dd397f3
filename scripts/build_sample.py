"""Rebuild the bundled sample corpus, ``extension/data/sample.parquet``.

Takes a fixed, seeded sample of redistributable documents from ``../shared/data/corpus-dev.parquet``
(only sources that are free documentation: man pages, the Debian handbook and reference, Python
and Perl documentation, GNU info manuals) and injects duplicates so every pipeline stage has work:
exact copies, copies that differ only in case/spacing/punctuation (exact after normalization),
near copies with a few percent of words edited, and a few empty or whitespace-only rows.

Columns: id, text, source, lang, url, and ``origin`` (``corpus``, ``exact``, ``format``,
``near`` or ``empty``) so tests can check each stage against what was injected.

    python scripts/build_sample.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

FREE_SOURCES = ("man", "handbook", "debref", "pydoc", "perlpod", "info")
# (source filter, language filter, how many): a multilingual mix weighted to English manuals.
STRATA = [
    ("man", "lang = 'en'", 1100),
    ("info", "true", 450),
    ("man", "lang <> 'en'", 650),
    ("handbook", "true", 450),
    ("pydoc", "true", 120),
    ("perlpod", "true", 60),
    ("debref", "true", 20),
]
SEED = 20261123
OUT = Path(__file__).resolve().parent.parent / "extension" / "data" / "sample.parquet"


def pick(con: duckdb.DuckDBPyConnection, corpus: Path) -> list[dict]:
    rows: list[dict] = []
    for source, lang_filter, n in STRATA:
        q = f"""
            SELECT id, text, source, lang, url FROM read_parquet('{corpus}')
            WHERE source = '{source}' AND {lang_filter} AND length(text) BETWEEN 300 AND 5000
            ORDER BY md5(id || '{SEED}') LIMIT {n}
        """
        cols = con.sql(q).to_arrow_table().to_pylist()
        rows.extend(cols)
    return rows


def format_copy(text: str, rng: random.Random) -> str:
    """Same words, different case, spacing and punctuation: exact after text_normalize."""
    words = text.split()
    out = []
    for w in words:
        w = w.upper() if rng.random() < 0.1 else w
        out.append(w + ("," if rng.random() < 0.02 else ""))
    return "  ".join(out) + "\n"


def near_copy(text: str, rng: random.Random, rate: float) -> str:
    """Replace, drop or duplicate about ``rate`` of the words."""
    words = text.split()
    out = []
    for w in words:
        r = rng.random()
        if r < rate / 3:
            continue
        if r < 2 * rate / 3:
            out.append(rng.choice(words))
            continue
        out.append(w)
        if r < rate:
            out.append(w)
    return " ".join(out)


def build(shared: Path) -> pa.Table:
    corpus = shared / "data" / "corpus-dev.parquet"
    con = duckdb.connect()
    base = pick(con, corpus)
    con.close()
    rng = random.Random(SEED)
    for row in base:
        row["origin"] = "corpus"
    injected: list[dict] = []
    for kind, n in (("exact", 400), ("format", 300), ("near", 700)):
        for i, src in enumerate(rng.sample(base, n)):
            if kind == "exact":
                text = src["text"]
            elif kind == "format":
                text = format_copy(src["text"], rng)
            else:
                text = near_copy(src["text"], rng, rate=rng.choice((0.02, 0.04, 0.08)))
            injected.append({**src, "id": f"{src['id']}#{kind}{i}", "text": text, "origin": kind})
    for i, text in enumerate(["", "   ", "\n\t\n", "", " "]):
        injected.append({"id": f"empty:{i}", "text": text, "source": "man", "lang": "en",
                         "url": None, "origin": "empty"})
    rows = base + injected
    rng.shuffle(rows)
    return pa.Table.from_pylist(rows, schema=pa.schema([
        ("id", pa.string()), ("text", pa.string()), ("source", pa.string()),
        ("lang", pa.string()), ("url", pa.string()), ("origin", pa.string()),
    ]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path,
                        default=Path(__file__).resolve().parent.parent.parent / "shared")
    args = parser.parse_args()
    table = build(args.shared)
    pq.write_table(table, OUT, compression="zstd", compression_level=19, row_group_size=1024)
    print(f"wrote {OUT}: {table.num_rows} rows, {OUT.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()

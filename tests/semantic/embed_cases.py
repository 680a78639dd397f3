"""Shared by the embedding tests: the sentences both models' golden files hold, cosine, and
``embed`` called through SQL on a list of texts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The stock market crashed on Monday.",
    "Install the package with apt-get install before running the daemon.",
    "Le chat dort sur le canapé.",
    "日本語の文章には空白がありません。",
    "emoji 👩‍👩‍👧 party 🎉",
    "The quick brown fox jumps over the lazy dog. " * 3,
]


def cos(a, b) -> np.ndarray:
    """Cosine similarity along the last axis, in float64."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a * b).sum(axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def sql_embed(con, texts, **kw) -> list:
    """``SELECT embed(t, k := v, ...)`` over ``texts`` in order (one vector or None each)."""
    con.register("sents", pa.table({"i": pa.array(range(len(texts))), "t": pa.array(texts)}))
    try:
        args = "".join(f", {k} := {v!r}" for k, v in kw.items())
        rows = con.execute(f"SELECT embed(t{args}) FROM sents ORDER BY i").fetchall()
    finally:
        con.unregister("sents")
    return [r[0] for r in rows]


#: A document whose first chunk is about cooking and whose later chunks are about astronomy.
COOKING = "Simmer the onions in butter, add the garlic and tomatoes, then season the sauce. "
STARS = "The telescope observed a distant galaxy whose light was redshifted by expansion. "


def assert_mean_chunks_reads_past_the_first_chunk(embed) -> None:
    """``strategy := 'mean_chunks'`` of the cooking-then-astronomy document is closer to an
    astronomy text than its first chunk alone; ``embed(texts, **kw)`` gives the vectors."""
    doc = COOKING * 20 + STARS * 20
    first = embed([doc], max_length=128)[0]
    chunks = embed([doc], max_length=128, strategy="mean_chunks")[0]
    tail = embed([STARS * 3], max_length=128)[0]
    assert cos(chunks, tail) > cos(first, tail) + 0.1

"""Word n-grams of normalized text, for benchmark decontamination by exact n-gram overlap."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from .text import text_normalize


def _ngram_lists(text: pa.Array, n: int) -> list[list[str] | None]:
    """Distinct word n-grams of each text, in order of first occurrence (None for NULL)."""
    out: list[list[str] | None] = []
    for value in text_normalize(text).to_pylist():
        if value is None:
            out.append(None)
            continue
        words = value.split(" ") if value else []
        grams = dict.fromkeys(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
        out.append(list(grams))
    return out


def _list_array(lists: list, values: pa.Array) -> pa.Array:
    lengths = np.array([0 if x is None else len(x) for x in lists], dtype=np.int64)
    offsets = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    mask = pa.array([x is None for x in lists]) if any(x is None for x in lists) else None
    return pa.LargeListArray.from_arrays(pa.array(offsets), values, mask=mask).cast(
        pa.list_(values.type)
    )


def word_ngram_set(text: pa.Array, *, n: int = 13) -> pa.Array:
    """The distinct word n-grams of the normalized text, in order of first occurrence.

    The text goes through ``text_normalize`` with its defaults (NFKC, lowercase, punctuation and
    symbols to spaces, whitespace collapsed); words are the space-separated pieces, and an n-gram
    is n consecutive words joined by one space. A text of fewer than n words has none (empty
    list). NULL gives NULL. The unit of the 13-gram overlap test of GPT-3 (Brown et al. 2020,
    appendix C) and later decontamination reports.
    """
    lists = _ngram_lists(text, n)
    values = pa.array([g for x in lists if x for g in x], pa.string())
    return _list_array(lists, values)


def word_ngram_hashes(text: pa.Array, *, n: int = 13) -> pa.Array:
    """64-bit hashes of the distinct word n-grams of the normalized text (see word_ngram_set).

    Each n-gram of ``word_ngram_set`` (same order) is hashed as the first 8 bytes, read
    little-endian as an unsigned integer, of unkeyed BLAKE2b-64 (RFC 7693) over its UTF-8 bytes.
    Two different n-grams share a hash with probability about 2^-64 per pair. NULL gives NULL.
    """
    lists = _ngram_lists(text, n)
    blake2b = hashlib.blake2b
    digests = b"".join(
        blake2b(g.encode("utf-8"), digest_size=8).digest() for x in lists if x for g in x
    )
    values = pa.array(np.frombuffer(digests, dtype="<u8"), pa.uint64())
    return _list_array(lists, values)

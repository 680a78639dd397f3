"""The hash of a normalized line or paragraph: the key of line- and paragraph-level dedup.

Normalization is ``corpusql.udfs.text.text_normalize`` with its defaults: Unicode NFKC, full
lowercasing, every punctuation or symbol code point (categories P*, S*) replaced by a space,
runs of whitespace collapsed to one space and the ends trimmed. Digits are kept, so lines that
differ only in a number (a date, a version) are different lines.

The hash is corpusql's own, never an engine's ``hash()``: BLAKE2b with an 8-byte digest (RFC
7693, ``digest_size=8``, no key) over the UTF-8 bytes of the normalized line, read as an unsigned
little-endian 64-bit integer (equal to ``int.from_bytes(hashlib.blake2b(b, digest_size=8)
.digest(), 'little')``). It does not change with the DuckDB version or across engines.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .blake2b_jit import blake2b_first_words
from .text import text_normalize


def line_hash(text: pa.Array) -> pa.Array:
    """64-bit hash of a normalized line or paragraph; NULL when it normalizes to nothing.

    The line is normalized (NFKC, lowercase, punctuation and symbols to space, whitespace
    collapsed and trimmed; digits kept) and hashed with BLAKE2b-64 over its UTF-8 bytes, read
    little-endian as UBIGINT. Blank lines, lines of punctuation only and NULL give NULL (they
    never count as repeated). Stable across DuckDB versions (never DuckDB's hash()).
    """
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    norm = text_normalize(text)
    if isinstance(norm, pa.ChunkedArray):
        norm = norm.combine_chunks()
    norm = norm.cast(pa.large_string())
    bufs = norm.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[norm.offset: norm.offset + len(norm) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    valid = np.asarray(norm.is_valid()) if norm.null_count else np.ones(len(norm), dtype=bool)
    valid &= np.diff(offsets) > 0
    words = blake2b_first_words(data, offsets, valid, np.zeros(0, np.uint8), 8)
    return pa.array(words, pa.uint64(), mask=~valid)

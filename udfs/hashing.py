"""Stable hashes over UTF-8 bytes: fingerprints and membership decisions.

These never use an engine's built-in ``hash()``: its values differ between engines and are not
promised stable across versions, and a split or a fingerprint must not move on upgrade.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from .blake2b_jit import blake2b_first_words


def blake2b_digest(text: pa.Array, *, size: int, salt: bytes = b"") -> list[bytes | None]:
    """BLAKE2b digests of ``size`` bytes of each string's UTF-8 bytes (NULL stays None)."""
    out: list[bytes | None] = []
    key = salt[:64]
    for value in text.to_pylist():
        if value is None:
            out.append(None)
        else:
            out.append(hashlib.blake2b(value.encode("utf-8"), digest_size=size, key=key).digest())
    return out


def fingerprint128(text: pa.Array) -> pa.Array:
    """128-bit BLAKE2b (RFC 7693, digest_size=16, no key) of the UTF-8 bytes, as 32 hex digits."""
    return pa.array([d.hex() if d is not None else None for d in blake2b_digest(text, size=16)],
                    type=pa.string())


def unit_interval(key: pa.Array, *, seed: int) -> np.ndarray:
    """Map each key to [0, 1): first 8 bytes of keyed BLAKE2b, little-endian, divided by 2^64.

    BLAKE2b-64 (RFC 7693, digest_size=8) over the UTF-8 bytes of the key text, keyed by the seed
    written in decimal ASCII (``str(seed)``, at most 64 bytes). NULL keys map to NaN. Computed
    for the whole batch in one compiled loop (corpusql.udfs.blake2b_jit) that releases the GIL.
    """
    if isinstance(key, pa.ChunkedArray):
        key = key.combine_chunks()
    if not pa.types.is_large_string(key.type):
        key = key.cast(pa.large_string())
    bufs = key.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[key.offset: key.offset + len(key) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    valid = np.asarray(key.is_valid()) if key.null_count else np.ones(len(key), dtype=bool)
    salt = np.frombuffer(str(seed).encode()[:64], dtype=np.uint8).copy()
    words = blake2b_first_words(data, offsets, valid, salt, 8)
    return np.where(valid, words / 2.0**64, np.nan)


def text_fingerprint(text: pa.Array, *, normalize: bool = True) -> pa.Array:
    """Stable 128-bit fingerprint of a text, as 32 lowercase hex digits.

    BLAKE2b with a 16-byte digest (RFC 7693, no key) over the UTF-8 bytes of the text, after
    ``text_normalize`` with its defaults when ``normalize`` is true (so copies that differ only in
    case, punctuation, compatibility forms or spacing share a fingerprint). NULL gives NULL.
    Computed in one compiled pass per batch (corpusql.udfs.fingerprint_jit), equal to that
    definition on every input.
    """
    from .fingerprint_jit import fingerprint

    return fingerprint(text, normalize=normalize)

"""Stable hashes over UTF-8 bytes: fingerprints and membership decisions.

These never use an engine's built-in ``hash()``: its values differ between engines and are not
promised stable across versions, and a split or a fingerprint must not move on upgrade.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa


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

    The BLAKE2b key is the seed written in decimal ASCII (``str(seed)``); keys are the UTF-8
    bytes of the key text. NULL keys map to NaN.
    """
    digests = blake2b_digest(key, size=8, salt=str(seed).encode())
    u = np.full(len(digests), np.nan)
    for i, d in enumerate(digests):
        if d is not None:
            u[i] = int.from_bytes(d, "little") / 2.0**64
    return u


def text_fingerprint(text: pa.Array, *, normalize: bool = True) -> pa.Array:
    """Stable 128-bit fingerprint of a text, as 32 lowercase hex digits.

    BLAKE2b with a 16-byte digest (RFC 7693, no key) over the UTF-8 bytes of the text, after
    ``text_normalize`` with its defaults when ``normalize`` is true (so copies that differ only in
    case, punctuation, compatibility forms or spacing share a fingerprint). NULL gives NULL.
    """
    from .text import text_normalize

    if normalize:
        text = text_normalize(text)
    return fingerprint128(text)

"""Per-row random numbers for sampling and mixing, fixed by a key and a seed."""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

_NULL_DIGEST = bytes(8)


def hash_unit(key: pa.Array, *, seed: int = 0) -> pa.Array:
    """A number in [0, 1) fixed by the key and the seed: the key's keyed-BLAKE2b position.

    u = the first 8 bytes, read little-endian, of BLAKE2b-64 (RFC 7693) over the key's UTF-8 bytes
    keyed by the seed in decimal ASCII, divided by 2^64: the same u that ``split_assign`` compares
    with its fractions. Uniform on [0, 1), independent between seeds, and identical across runs,
    machines, thread counts and engine versions (never the engine's ``hash()`` or ``random()``).
    Keys are compared as text (cast other types to VARCHAR first). NULL key gives NULL.
    """
    salt = str(seed).encode()[:64]
    blake2b = hashlib.blake2b
    values = key.to_pylist()
    digests = b"".join([
        _NULL_DIGEST if v is None else blake2b(v.encode("utf-8"), digest_size=8, key=salt).digest()
        for v in values
    ])
    u = np.frombuffer(digests, dtype="<u8") / 2.0**64
    mask = np.asarray(key.is_null()) if key.null_count else None
    return pa.array(u, pa.float64(), mask=mask)

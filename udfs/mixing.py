"""Per-row random numbers for sampling and mixing, fixed by a key and a seed."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .hashing import unit_interval


def hash_unit(key: pa.Array, *, seed: int = 0) -> pa.Array:
    """A number in [0, 1) fixed by the key and the seed: the key's keyed-BLAKE2b position.

    u = the first 8 bytes, read little-endian, of BLAKE2b-64 (RFC 7693) over the key's UTF-8 bytes
    keyed by the seed in decimal ASCII, divided by 2^64: the same u that ``split_assign`` compares
    with its fractions. Uniform on [0, 1), independent between seeds, and identical across runs,
    machines, thread counts and engine versions (never the engine's ``hash()`` or ``random()``).
    Keys are compared as text (cast other types to VARCHAR first). NULL key gives NULL.
    """
    u = unit_interval(key, seed=seed)
    valid = ~np.isnan(u)
    return pa.array(np.where(valid, u, 0.0), pa.float64(), mask=None if valid.all() else ~valid)

"""Deterministic train/validation/test assignment from a key's hash."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from .hashing import unit_interval

SPLITS = ("train", "val", "test")


def check_fractions(*, train: float, val: float, test: float, **_: object) -> None:
    """Fractions must be in [0, 1] and sum to 1 (within 1e-9)."""
    for name, value in (("train", train), ("val", val), ("test", test)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"split_assign: {name} = {value!r} must be between 0 and 1")
    total = train + val + test
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise ValueError(
            f"split_assign: train + val + test = {total!r} must sum to 1 "
            f"(got train={train!r}, val={val!r}, test={test!r})"
        )


def split_assign(
    key: pa.Array, *, seed: int = 0, train: float = 0.98, val: float = 0.01, test: float = 0.01
) -> pa.Array:
    """'train', 'val' or 'test' for each key, fixed by the key's hash and the seed.

    u = the first 8 bytes, read little-endian, of BLAKE2b-64 over the key's UTF-8 bytes keyed by
    the seed in decimal ASCII, divided by 2^64 (uniform on [0, 1)). The split is 'train' if
    u < train, 'val' if u < train + val, else 'test', so proportions are exact in expectation and
    a key keeps its split across runs, machines, thread counts and engine versions. Keys are
    compared as text (cast other types to VARCHAR first). NULL key gives NULL.
    """
    check_fractions(train=train, val=val, test=test)
    u = unit_interval(key, seed=seed)
    idx = np.where(u < train, 0, np.where(u < train + val, 1, 2))
    labels = pa.array(SPLITS, pa.string())
    mask = np.isnan(u)
    return pa.DictionaryArray.from_arrays(pa.array(idx, pa.int8(), mask=mask), labels).cast(
        pa.string()
    )

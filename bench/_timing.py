"""Timing helper shared by the bench/ scripts (run as `python bench/NAME.py`)."""

from __future__ import annotations

import time
from collections.abc import Callable


def warm_up_kernels(con) -> float:
    """Build corpusql's Unicode tables and load its compiled near-dup kernels (numba's cache) on
    ``con``, once per process and outside the timed sections. Returns the wall time it took."""
    t0 = time.perf_counter()
    con.execute("SELECT minhash_signature('warm up'), "
                "set_jaccard(shingle_set('a'), shingle_set('b'))").fetchall()
    return time.perf_counter() - t0


def best(fn: Callable[[], object], repeat: int) -> float:
    """The smallest wall time, in seconds, of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)

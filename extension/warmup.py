"""Compile corpusql's numba kernels in a background thread while other work runs.

The hot kernels (BLAKE2b, MinHash shingling, set intersections) are compiled by numba on first
use and cached on disk (``cache=True``): in ``__pycache__`` beside the sources when that
directory is writable, else in the user's cache directory (``~/.cache/numba``), or wherever
``NUMBA_CACHE_DIR`` points. The first process after an install pays the compilation (about 15 s
on a quiet 2-core machine); later processes load the cached code in well under a second.

:func:`start` overlaps that first compilation with the caller's own work: a daemon thread calls
each numba-backed kernel once on a one-row input of the types DuckDB passes. LLVM's optimizer,
where most of the compile time goes, runs without the GIL, and numba's compiler lock makes a
kernel called meanwhile wait for its compilation instead of compiling it twice. With a warm
cache the thread only loads the cached code. ``CORPUSQL_WARMUP=0`` turns it off. Failures in the thread are ignored: the kernel is
then compiled at its first real call, as without warm-up.
"""

from __future__ import annotations

import os
import threading

#: Modules of the kernels that numba compiles.
JIT_MODULES = ("corpusql.udfs.hashing", "corpusql.udfs.minhash", "corpusql.udfs.shingles",
               "corpusql.udfs.sets", "corpusql.udfs.split", "corpusql.udfs.mixing")
_thread: threading.Thread | None = None
_lock = threading.Lock()


def _inputs(f):
    import pyarrow as pa

    text = "one two three four five six seven eight nine ten eleven twelve thirteen"
    columns = []
    for p in f.params:
        if not p.column:
            continue
        if p.sql_type == "VARCHAR":
            columns.append(pa.array([text], pa.string()))
        elif p.sql_type in ("UBIGINT[]", "UINTEGER[]"):
            columns.append(pa.array([[1, 2, 3]], pa.list_(pa.uint64() if "BIG" in p.sql_type
                                                          else pa.uint32())))
        else:
            return None
    return columns


def warm() -> list[str]:
    """Call every numba-backed kernel once; returns the names it called."""
    from .binder import call_kernel
    from .functions import REGISTRY

    done = []
    for f in REGISTRY:
        if f.kernel.__module__ not in JIT_MODULES:
            continue
        columns = _inputs(f)
        if columns is None:
            continue
        constants = {p.name: p.default for p in f.params if not p.column}
        try:
            call_kernel(f, columns, constants)
        except Exception:  # noqa: BLE001 - best effort: compiled at first real use instead
            continue
        done.append(f.name)
    return done


def start() -> threading.Thread | None:
    """Start :func:`warm` in a daemon thread (once per process) and return the thread; None
    when ``CORPUSQL_WARMUP=0`` turns warm-up off."""
    global _thread
    if os.environ.get("CORPUSQL_WARMUP", "1") == "0":
        return None
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=warm, name="corpusql-warmup", daemon=True)
            _thread.start()
        return _thread

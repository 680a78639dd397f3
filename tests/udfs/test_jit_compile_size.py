"""What the demo's first run compiles: one version per compiled kernel, no numba sort machinery.

numba compiles a kernel once per distinct argument types (a read-only Arrow buffer and a
writable numpy array are different types; so are the literal constants a helper is called with)
and caches each version on disk; every version is paid for by the first run after an install
(issue 16 item 6). The check runs in a fresh interpreter with an empty numba cache, so every
kernel is compiled there and what earlier tests compiled does not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from corpusql.udfs import minhash_jit, sets_jit

SCRIPT = r"""
import json
import numpy as np
import pyarrow as pa
from corpusql.udfs import blake2b_jit, minhash_jit, sets_jit
from corpusql.udfs.hashing import unit_interval
from corpusql.udfs.line_hash import line_hash
from corpusql.udfs.minhash import jaccard
from corpusql.udfs.sets import set_jaccard
from corpusql.udfs.shingles import shingle_set

texts = pa.array(["the quick brown fox jumps over the lazy dog " * 5, "", "x" * 300, None])
# a small job: hashlib and numpy paths, nothing compiled
unit_interval(texts, seed=3)
line_hash(texts)
sets = shingle_set(texts)
set_jaccard(sets, sets)
jaccard(texts, texts)
small_job = sum(len(f.signatures) for f in (
    blake2b_jit.compiled_first_words, sets_jit._shared_counts, minhash_jit.distinct_runs_compiled))
# the compiled paths, with the argument types a large job passes
arr = texts.cast(pa.large_string())
bufs = arr.buffers()
offsets = np.frombuffer(bufs[1], dtype=np.int64)[:len(arr) + 1]
data = np.frombuffer(bufs[2], dtype=np.uint8)
valid = np.asarray(arr.is_valid())
for key in (b"3", b""):            # keyed (a key block, then the data) and unkeyed
    blake2b_jit.compiled_first_words(data, offsets, valid, np.frombuffer(key, np.uint8), 8)
flat = pa.compute.list_flatten(sets).to_numpy()            # read-only, as Arrow hands it over
lengths = pa.compute.list_value_length(sets).fill_null(0).to_numpy().astype(np.int64)
runs, run_lengths = minhash_jit.distinct_runs_compiled(flat, lengths)  # writable result
sets_jit.shared_counts_compiled(flat, sets_jit.offsets(lengths), flat, sets_jit.offsets(lengths))
sets_jit.shared_counts_compiled(runs, sets_jit.offsets(run_lengths), runs,
                                sets_jit.offsets(run_lengths))
out = {name: len(getattr(mod, name).signatures) for mod, name in [
    (blake2b_jit, "_compress"), (blake2b_jit, "_g"), (blake2b_jit, "_round"),
    (blake2b_jit, "compiled_first_words"),
    (sets_jit, "_shared_counts"), (minhash_jit, "distinct_runs_compiled")]}
out["small_job"] = small_job
print(json.dumps(out))
"""


def _versions(cache_dir) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> dict:
    return _versions(tmp_path_factory.mktemp("numba"))


def test_each_kernel_compiles_once(versions):
    assert versions["_compress"] == 1, versions  # was 4: one per literal and counter type
    assert versions["_g"] == 1, versions
    assert versions["_round"] == 1, versions
    assert versions["compiled_first_words"] == 1, versions
    assert versions["_shared_counts"] == 1, versions  # was 2: read-only and writable inputs
    assert versions["distinct_runs_compiled"] == 1, versions


def test_small_job_compiles_nothing(versions):
    """A small job (the demo) hashes with hashlib (fewer than COMPILE_AFTER_ROWS rows) and sorts
    shingle runs with numpy (fewer than COMPILE_AFTER_VALUES values): no BLAKE2b, run or merge
    kernel is compiled."""
    assert versions["small_job"] == 0


def test_numpy_and_compiled_paths_agree():
    """Random runs with repeats, empty runs and no runs: the same values, lengths and counts."""
    rng = np.random.default_rng(7)
    for _ in range(300):
        n = int(rng.integers(0, 25))
        la, lb = rng.integers(0, 12, n), rng.integers(0, 12, n)
        va = rng.integers(0, 15, la.sum()).astype(np.uint64)
        vb = rng.integers(0, 15, lb.sum()).astype(np.uint64)
        oa, ob = sets_jit.offsets(la), sets_jit.offsets(lb)
        np.testing.assert_array_equal(sets_jit.shared_counts_numpy(va, oa, vb, ob),
                                      sets_jit.shared_counts_compiled(va, oa, vb, ob))
        got_v, got_l = minhash_jit.distinct_runs_numpy(va, la)
        want_v, want_l = minhash_jit.distinct_runs_compiled(va, la.astype(np.int64))
        assert got_v.dtype == want_v.dtype and got_l.dtype == want_l.dtype
        np.testing.assert_array_equal(got_v, want_v)
        np.testing.assert_array_equal(got_l, want_l)

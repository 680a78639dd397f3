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

import pytest

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
unit_interval(texts, seed=3)       # a small job: hashlib, nothing compiled
line_hash(texts)
small_job = len(blake2b_jit.compiled_first_words.signatures)
arr = texts.cast(pa.large_string())
bufs = arr.buffers()
offsets = np.frombuffer(bufs[1], dtype=np.int64)[:len(arr) + 1]
data = np.frombuffer(bufs[2], dtype=np.uint8)
valid = np.asarray(arr.is_valid())
for key in (b"3", b""):            # keyed (a key block, then the data) and unkeyed
    blake2b_jit.compiled_first_words(data, offsets, valid, np.frombuffer(key, np.uint8), 8)
sets = shingle_set(texts)
set_jaccard(sets, sets)            # read-only Arrow buffers
jaccard(texts, texts)              # writable numpy arrays from distinct_runs
out = {name: len(getattr(mod, name).signatures) for mod, name in [
    (blake2b_jit, "_compress"), (blake2b_jit, "_g"), (blake2b_jit, "compiled_first_words"),
    (sets_jit, "_shared_counts"), (minhash_jit, "distinct_runs")]}
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
    assert versions["compiled_first_words"] == 1, versions
    assert versions["_shared_counts"] == 1, versions  # was 2: read-only and writable inputs
    assert versions["distinct_runs"] == 1, versions


def test_small_job_compiles_no_blake2b(versions):
    """A job that hashes fewer than COMPILE_AFTER_ROWS rows (the demo) uses hashlib."""
    assert versions["small_job"] == 0

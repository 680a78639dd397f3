"""The compiled BLAKE2b equals hashlib's on the same bytes, keys and digest sizes."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import pyarrow as pa
import pytest

from corpusql.udfs import blake2b_jit
from corpusql.udfs.hashing import unit_interval

# lengths around the 128-byte block size, where padding and the final flag are easy to get wrong
LENGTHS = [0, 1, 5, 64, 127, 128, 129, 200, 255, 256, 257, 1000]


def _strings(n: int) -> list[str | None]:
    rng = random.Random(5)
    out: list[str | None] = [
        "".join(rng.choice("abcé東😀 ") for _ in range(rng.choice(LENGTHS))) for _ in range(n)]
    return out + [None, ""]


@pytest.mark.parametrize("path", ["compiled_first_words", "hashlib_first_words",
                                  "blake2b_first_words"])
@pytest.mark.parametrize("key", [b"", b"0", b"12345", b"-7", b"k" * 64])
@pytest.mark.parametrize("digest_size", [8, 16, 64])
def test_first_word_equals_hashlib(path, key, digest_size):
    blake2b_first_words = getattr(blake2b_jit, path)
    values = _strings(600)
    arr = pa.array(values, pa.large_string())
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64)[: len(arr) + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8)
    valid = np.asarray(arr.is_valid())
    got = blake2b_first_words(data, offsets, valid, np.frombuffer(key, np.uint8).copy(),
                              digest_size)
    want = [0 if v is None else int.from_bytes(
        hashlib.blake2b(v.encode(), digest_size=digest_size, key=key).digest()[:8], "little")
        for v in values]
    assert [int(x) for x in got] == want


def test_unit_interval_on_sliced_and_chunked_input():
    values = _strings(50)
    arr = pa.array(values)
    want = [np.nan if v is None else int.from_bytes(
        hashlib.blake2b(v.encode(), digest_size=8, key=b"3").digest(), "little") / 2**64
        for v in values]
    np.testing.assert_array_equal(unit_interval(arr, seed=3), want)
    np.testing.assert_array_equal(unit_interval(arr.slice(7, 20), seed=3), want[7:27])
    chunked = pa.chunked_array([arr.slice(0, 10), arr.slice(10)])
    np.testing.assert_array_equal(unit_interval(chunked, seed=3), want)

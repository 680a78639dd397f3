"""The compiled n-gram passes (grouping repeated n-grams, the scan for duplicated ones) give what
the Python ones give, and Gopher repetition the same signals whichever of the two runs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from test_words_identity import _sample_texts

from corpusql.udfs.quality import _scan_jit, repetition


@pytest.mark.parametrize("seed, n_keys, n", [(0, 3, 2), (1, 10, 5), (2, 50, 3), (3, 1, 10),
                                             (4, 1000, 4)])
def test_compiled_scan_finds_the_python_hits(seed, n_keys, n):
    rng = np.random.default_rng(seed)
    pos = np.unique(rng.integers(0, 20_000, 8_000)).astype(np.int64)
    keys = rng.integers(0, n_keys, len(pos)).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    want = repetition._scan(pos, keys, n)
    got = _scan_jit.scan_hits(pos, keys, n).tolist()
    assert got == want
    assert want  # few distinct keys: there are duplicates to find


@pytest.mark.parametrize("seed, n_keys", [(0, 3), (1, 100), (2, 5000), (3, 1)])
def test_compiled_grouping_finds_the_python_repeats(monkeypatch, seed, n_keys):
    rng = np.random.default_rng(seed)
    pos = np.unique(rng.integers(0, 30_000, 10_000)).astype(np.int64)
    keys = rng.integers(0, n_keys, len(pos)).astype(np.uint64) * np.uint64(0xD6E8FEB86659FD93)
    monkeypatch.setattr(_scan_jit, "use_compiled", lambda n: False)
    want = repetition._Repeats(pos, keys)
    monkeypatch.setattr(_scan_jit, "use_compiled", lambda n: True)
    got = repetition._Repeats(pos, keys)
    assert got.pos.tolist() == want.pos.tolist()
    assert got.keys.tolist() == want.keys.tolist()
    # one group per repeated key, in any order: (first position, count) pairs
    assert sorted(zip(got.group_first.tolist(), got.group_count.tolist())) == sorted(
        zip(want.group_first.tolist(), want.group_count.tolist()))
    assert len(want.pos) or n_keys > len(pos)


def test_empty_input():
    assert _scan_jit.scan_hits(np.zeros(0, np.int64), np.zeros(0, np.uint64), 5).tolist() == []
    mask, first, count = _scan_jit.repeated(np.zeros(0, np.int64), np.zeros(0, np.uint64))
    assert (len(mask), len(first), len(count)) == (0, 0, 0)


def test_repetition_signals_do_not_depend_on_the_scan(monkeypatch):
    texts = pa.concat_arrays([_sample_texts(), pa.array(["a b c d e " * 30, "x " * 100])])
    monkeypatch.setattr(_scan_jit, "use_compiled", lambda n: False)
    want = repetition.gopher_repetition(texts).to_pylist()
    monkeypatch.setattr(_scan_jit, "use_compiled", lambda n: True)
    assert repetition.gopher_repetition(texts).to_pylist() == want
    assert any(r["duplicated_5_n_grams"] for r in want)


def test_a_demo_sized_job_does_not_compile(monkeypatch):
    """The demo's first run must not wait for a compile: it sends the sample through Gopher
    repetition twice (signals and reasons)."""
    monkeypatch.setattr(_scan_jit, "_seen", 0)
    monkeypatch.setattr(_scan_jit, "cached_on_disk", lambda dispatcher, unknown: False)

    def compiled(*args):
        raise AssertionError("a compiled n-gram pass ran")

    monkeypatch.setattr(_scan_jit, "scan_hits", compiled)
    monkeypatch.setattr(_scan_jit, "repeated", compiled)
    texts = _sample_texts()
    for _ in range(2):
        for start in range(0, len(texts), 2048):
            repetition.gopher_repetition(texts.slice(start, 2048))

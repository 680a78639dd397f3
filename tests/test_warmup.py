"""Warm-up of the numba kernels (corpusql.warmup): which kernels it compiles, and its knob."""

from __future__ import annotations

from corpusql import warmup


def test_warm_calls_every_numba_backed_kernel_the_demo_uses():
    done = warmup.warm()
    for name in ("minhash_signature", "jaccard", "shingle_set", "set_jaccard", "split_assign",
                 "hash_unit"):
        assert name in done, done


def test_start_runs_once_per_process_and_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("CORPUSQL_WARMUP", "0")
    assert warmup.start() is None
    monkeypatch.delenv("CORPUSQL_WARMUP")
    first = warmup.start()
    assert first is not None and warmup.start() is first
    first.join()

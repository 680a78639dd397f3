"""split_assign: documented hash, exact proportions in expectation, stability, bad input."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "split_assign.tsv"


def reference(key: str, seed: int, train: float, val: float) -> str:
    """The documented definition, written independently of the kernel."""
    d = hashlib.blake2b(key.encode("utf-8"), digest_size=8, key=str(seed).encode()).digest()
    u = int.from_bytes(d, "little") / 2**64
    return "train" if u < train else "val" if u < train + val else "test"


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_matches_documented_definition(con, seed):
    keys = [f"doc-{i}" for i in range(2000)] + ["", "日本", "🎉"]
    got = con.execute(
        "SELECT split_assign(k, seed := ?, train := 0.6, val := 0.3, test := 0.1) "
        "FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS t(k, i) ORDER BY i", [seed, keys]
    ).fetchall()
    assert [g[0] for g in got] == [reference(k, seed, 0.6, 0.3) for k in keys]


def test_proportions_within_sampling_error(con):
    n = 200_000
    rows = dict(con.execute(
        "SELECT split, count(*) FROM (SELECT split_assign(range::VARCHAR, seed := 7, "
        "train := 0.8, val := 0.15, test := 0.05) AS split FROM range(?)) GROUP BY split",
        [n]).fetchall())
    for split, p in (("train", 0.8), ("val", 0.15), ("test", 0.05)):
        sigma = math.sqrt(n * p * (1 - p))
        assert abs(rows[split] - n * p) < 5 * sigma, (split, rows[split])


def test_golden_assignments_do_not_move(con, update_golden):
    """A split must not move on upgrade: these assignments are pinned in a golden file."""
    rows = con.execute(
        "SELECT k, split_assign(k), split_assign(k, seed := 42, train := 0.5, val := 0.25, "
        "test := 0.25) FROM (SELECT 'key-' || range AS k FROM range(64)) ORDER BY k"
    ).fetchall()
    text = "".join("\t".join(r) + "\n" for r in rows)
    if update_golden:
        GOLDEN.write_text(text)
    assert GOLDEN.read_text() == text


@pytest.mark.parametrize("args, message", [
    ("train := 0.5", "must sum to 1"),
    ("train := -0.1, val := 0.6, test := 0.5", "train = -0.1 is out of range"),
    ("train := 0.9, val := 0.2, test := -0.1", "test = -0.1 is out of range"),
])
def test_bad_fractions_fail_clearly(con, args, message):
    with pytest.raises(Exception, match=message):
        con.execute(f"SELECT split_assign('k', {args})").fetchall()


def test_null_key_gives_null_and_numbers_work_as_text(con):
    assert con.execute("SELECT split_assign(NULL)").fetchone() == (None,)
    assert con.execute("SELECT split_assign(17) = split_assign('17')").fetchone() == (True,)

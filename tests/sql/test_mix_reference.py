"""mix gives the rows of its definition, computed here the plain way: every copy sorted.

The macro sorts only the copies near each group's cut (slots of 1/1024 of mix_u per epoch are
taken whole before it). This reference follows the header's words instead: targets from the
weights added one after another in group order, then each weighted group's
copies (epoch 0, then 1, ... up to what the target needs) in the order of (epoch, mix_u, key),
taken while the running total stays within the target, then first-fit over the next 1024 copies,
ranked in that order. Groups from one document to several thousand (several copies per slot,
slots with one or none), zero-token documents, tiny and upsampling budgets, several seeds.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from corpusql.udfs.mixing import hash_unit

WEIGHTS = {"big": 0.5, "mid": 0.3, "one": 0.1, "few": 0.1, "zero": 0.0}


def _docs() -> pa.Table:
    rng = np.random.default_rng(5)
    ids, groups, counts = [], [], []
    for g, n in {"big": 6000, "mid": 700, "one": 1, "few": 9, "zero": 50, "unlisted": 30}.items():
        lengths = rng.lognormal(math.log(200.0), 1.2, n).astype(np.int64)
        lengths[rng.random(n) < 0.05] = 0  # some documents have no tokens
        ids += [f"{g}/{i}" for i in range(n)]
        groups += [g] * n
        counts += lengths.tolist()
    return pa.table({"id": ids, "source": groups, "n_tokens": pa.array(counts, pa.int64())})


def mix_reference(docs: pa.Table, weights: dict[str, float], budget: float, seed: int,
                  max_epochs: int) -> list[tuple]:
    """(mix_group, id, epoch, mix_rank) in output order, by sorting every copy."""
    rows = docs.to_pylist()
    total_weight = 0.0
    for group in sorted(weights):  # added one after another in group order
        total_weight += weights[group]
    out = []
    for group in sorted(weights):
        target = budget * weights[group] / total_weight
        members = [r for r in rows if r["source"] == group]
        available = sum(r["n_tokens"] for r in members)
        if not target > 0:
            continue
        epochs = 1 if available <= 0 else min(max_epochs, max(1, math.ceil(target / available)))
        copies = []
        for e in range(epochs):
            keys = [r["id"] if e == 0 else f"{r['id']}#{e}" for r in members]
            units = hash_unit(pa.array(keys), seed=seed).to_pylist()
            copies += [(e, u, r["id"], r["n_tokens"]) for u, r in zip(units, members)]
        copies.sort()
        taken, running, i = [], 0, 0
        while i < len(copies) and running + copies[i][3] <= target:
            running += copies[i][3]
            taken.append(copies[i])
            i += 1
        gap = target - running
        for c in copies[i:i + 1024]:
            if gap > 0 and c[3] <= gap:
                taken.append(c)
                gap -= c[3]
        out += [(group, c[2], c[0], rank) for rank, c in enumerate(taken, start=1)]
    return out


@pytest.fixture(scope="module")
def refcon(mcon):
    mcon.register("ref_docs", _docs())
    mcon.register("ref_w", pa.table({"group_key": list(WEIGHTS),
                                     "weight": pa.array(list(WEIGHTS.values()), pa.float64())}))
    return mcon


@pytest.mark.parametrize("seed", [0, 11])
@pytest.mark.parametrize(("budget_share", "max_epochs"), [
    (0.0004, 4),  # smaller than most documents: first-fit decides nearly everything
    (0.05, 4),
    (0.5, 4),
    (1.0, 2),
    (4.0, 4),  # upsampling: the small groups need several epochs
    (40.0, 3),  # more than max_epochs can give: every copy, a shortfall
])
def test_mix_gives_the_rows_of_its_definition(refcon, seed, budget_share, max_epochs):
    docs = _docs()
    budget = budget_share * sum(docs.column("n_tokens").to_pylist())
    got = refcon.execute(
        "SELECT mix_group, id, epoch, mix_rank FROM mix('ref_docs', 'ref_w', ?, seed := ?, "
        "max_epochs := ?)", [budget, seed, max_epochs]).fetchall()
    expected = mix_reference(docs, WEIGHTS, budget, seed, max_epochs)
    assert len(expected) > 10
    assert got == expected

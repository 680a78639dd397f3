"""mix, split_stratified and split_grouped give exactly the recorded rows, in the recorded order.

The digests in tests/golden/mix_split.json were taken from the macros before their speed work
(issue 17 item 5): a change that moves one document between splits, changes a mix's selection
or its order, or changes a payload column fails here. Regenerate (only for an intended change
of definition, reviewed as a diff) with ``CORPUSQL_REGEN_GOLDEN=1``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "mix_split.json"


def _docs(n_per_group: dict[str | None, int], seed: int = 1) -> pa.Table:
    """Documents with log-normal token counts, a text payload, a language, a site and a few
    NULL ids, groups and sites (the cases the macros treat apart)."""
    rng = np.random.default_rng(seed)
    ids, groups, counts, texts, langs, sites, nums = [], [], [], [], [], [], []
    k = 0
    for g, n in n_per_group.items():
        lengths = rng.lognormal(math.log(300.0) - 0.5, 1.0, n).astype(np.int64) + 1
        for i in range(n):
            ids.append(None if k % 997 == 5 else f"{g}-{i}")
            groups.append(g)
            counts.append(int(lengths[i]))
            texts.append(f"text of {g} {i} " + "é日🙂"[k % 3] * (k % 7))
            langs.append(None if k % 501 == 3 else ["en", "fr", "ja", "sw"][min(k % 10, 3)])
            sites.append(None if k % 307 == 2 else f"https://site{k % 211}.example/")
            nums.append((k * 7919) % 100_003)
            k += 1
    return pa.table({"id": ids, "source": groups, "n_tokens": pa.array(counts, pa.int64()),
                     "text": texts, "lang": langs, "site": sites,
                     "num": pa.array(nums, pa.int64())})


def _weights(rows: list[tuple]) -> pa.Table:
    return pa.table({"group_key": [r[0] for r in rows],
                     "weight": pa.array([r[1] for r in rows], pa.float64())})


CALLS = {
    "mix_default": "mix('docs_ok', 'w', 1000000)",
    "mix_upsampled": "mix('docs_ok', 'w', 9000000, seed := 3)",
    "mix_two_epochs": "mix('docs_ok', 'w', 9000000, seed := 3, max_epochs := 2)",
    "mix_no_id": "mix('docs_ok', 'w', 700000, seed := 5, id_col := NULL)",
    "mix_by_lang": "mix('docs_ok', 'wl', 500000, seed := 2, \"by\" := 'lang')",
    "mix_num_id": "mix('docs_ok', 'w', 800000, seed := 4, id_col := 'num')",
    "mix_zero_weight": "mix('docs_ok', 'wz', 600000, seed := 1)",
    "stratified_default": "split_stratified('docs', 'id', 'lang')",
    "stratified_seeded": "split_stratified('docs', 'id', 'source', seed := 9, train := 0.7, "
                         "val := 0.2, test := 0.1)",
    "stratified_num_id": "split_stratified('docs', 'num', 'lang', seed := 2, train := 0.5, "
                         "val := 0.25, test := 0.25)",
    "grouped_default": "split_grouped('docs', 'id', 'site')",
    "grouped_seeded": "split_grouped('docs', 'id', 'source', seed := 4, train := 0.6, "
                      "val := 0.3, test := 0.1)",
    "grouped_num": "split_grouped('docs', 'num', 'site', seed := 1, train := 0.5, val := 0.25, "
                   "test := 0.25)",
}


@pytest.fixture(scope="module")
def gcon(mcon):
    docs = _docs({"web": 6000, "code": 3000, "books": 1500, "tiny": 40, None: 25})
    mcon.register("docs", docs)
    # mix refuses NULL token counts and wants unique ids: the mix inputs have neither problem
    mcon.register("docs_ok", docs.filter(pa.compute.is_valid(docs["id"])))
    mcon.register("w", _weights([("web", 0.5), ("code", 0.3), ("books", 0.2)]))
    mcon.register("wl", _weights([("en", 2.0), ("fr", 1.0), ("ja", 1.0)]))
    mcon.register("wz", _weights([("web", 0.0), ("code", 0.6), ("books", 0.4), ("tiny", 0.0)]))
    return mcon


def _digest(con, call: str) -> dict:
    rel = con.execute(f"SELECT * FROM {call}")
    names = [d[0] for d in rel.description]
    rows = rel.fetchall()
    h = hashlib.sha256(repr(names).encode())
    for row in rows:
        h.update(repr(row).encode())
    return {"rows": len(rows), "sha256": h.hexdigest()}


def test_outputs_equal_the_recorded_ones(gcon):
    got = {name: _digest(gcon, call) for name, call in CALLS.items()}
    if os.environ.get("CORPUSQL_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert all(v["rows"] > 0 for v in got.values()), got
    assert got == expected

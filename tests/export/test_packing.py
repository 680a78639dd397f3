"""Packing into seq_len sequences (split and no_split) and the parquet export format."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from export_helpers import TEXTS

from corpusql.export_tokens import export_tokens
from corpusql.udfs.token_packing import pack
from corpusql.udfs.tokens import load_tokenizer


def _docs_back(packed, n_docs):
    """Each document's tokens, rebuilt from (doc_ids, positions) of every sequence."""
    out = [dict() for _ in range(n_docs)]
    for ids, doc, pos in zip(packed.input_ids.ravel(), packed.doc_ids.ravel(),
                             packed.positions.ravel()):
        if doc >= 0:
            out[doc][int(pos)] = int(ids)
    return [[d[k] for k in sorted(d)] for d in out]


@pytest.mark.parametrize("mode", ["split", "no_split"])
def test_pack_keeps_every_token_with_its_document_and_position(mode):
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 40, size=200)
    tokens = rng.integers(1, 60000, size=int(lengths.sum())).astype(np.uint16)
    p = pack(tokens, lengths, 16, mode=mode, pad_id=0)
    assert p.input_ids.shape[1] == 16 and p.input_ids.dtype == np.uint16
    starts = np.cumsum(lengths) - lengths
    want = [tokens[s:s + n].tolist() for s, n in zip(starts, lengths)]
    assert _docs_back(p, lengths.size) == want
    assert p.tokens == lengths.sum() == (p.doc_ids >= 0).sum()
    assert p.efficiency == pytest.approx(lengths.sum() / p.input_ids.size)
    if mode == "no_split":  # a document of <= 16 tokens is never cut
        for d in np.flatnonzero((lengths > 0) & (lengths <= 16)):
            rows = np.unique(np.nonzero(p.doc_ids == d)[0])
            assert rows.size == 1
    else:  # only the last sequence is padded
        assert (p.doc_ids[:-1] >= 0).all()


def test_first_fit_fills_the_first_sequence_with_room():
    tokens = np.arange(1, 12, dtype=np.uint16)
    p = pack(tokens, np.array([3, 4, 2, 2]), 5, mode="no_split", pad_id=0)
    # 3 -> seq 0; 4 -> seq 1; 2 -> seq 0 (room 2); 2 -> seq 2
    assert p.input_ids.tolist() == [[1, 2, 3, 8, 9], [4, 5, 6, 7, 0], [10, 11, 0, 0, 0]]
    assert p.doc_ids.tolist() == [[0, 0, 0, 2, 2], [1, 1, 1, 1, -1], [3, 3, -1, -1, -1]]
    assert p.positions.tolist() == [[0, 1, 2, 0, 1], [0, 1, 2, 3, 0], [0, 1, 0, 0, 0]]
    assert p.efficiency == pytest.approx(11 / 15)


def test_long_document_is_cut_into_pieces_not_dropped():
    p = pack(np.arange(1, 12, dtype=np.uint16), np.array([11]), 4, mode="no_split")
    assert p.input_ids.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 0]]
    assert p.positions.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 0]]


@pytest.mark.parametrize("mode", ["split", "no_split"])
def test_parquet_export_rows_are_packed_sequences(docs, tmp_path, mode):
    out = tmp_path / "pq"
    r = export_tokens(docs, "SELECT * FROM docs", out, format="parquet", seq_len=64, pack=mode,
                      shuffle_seed=None, order_by="id")
    table = pq.read_table(out / "shard_00000.parquet")
    assert table.column_names == ["input_ids", "doc_ids", "positions"]
    assert table.schema.field("input_ids").type.value_type == "uint16"
    rows = table.to_pydict()
    assert {len(x) for x in rows["input_ids"]} == {64}
    tok = load_tokenizer("default")
    eos = tok.token_to_id("<|endoftext|>")
    want = [tok.encode(t, add_special_tokens=False).ids + [eos] for t in TEXTS if t is not None]
    got: list[dict] = [dict() for _ in want]
    for ids, dids, pos in zip(rows["input_ids"], rows["doc_ids"], rows["positions"]):
        for i, d, k in zip(ids, dids, pos):
            if d >= 0:
                got[d][k] = i
    assert [[g[k] for k in sorted(g)] for g in got] == want
    stored = len(rows["input_ids"]) * 64
    assert r.manifest["packing_efficiency"] == pytest.approx(r.tokens / stored)
    assert r.manifest["pack"] == mode and r.manifest["seq_len"] == 64

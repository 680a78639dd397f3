"""Megatron .bin/.idx: golden header bytes, and megatron-core's own IndexedDataset reads them."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from export_helpers import TEXTS, wide_tokenizer

from corpusql.export_tokens import export_tokens
from corpusql.udfs.token_formats import megatron_index_bytes, read_megatron_index
from corpusql.udfs.tokens import load_tokenizer


def test_golden_index_bytes():
    got = megatron_index_bytes(np.array([3, 1, 2]), np.dtype("<u2"))
    want = (b"MMIDIDX\x00\x00"
            + (1).to_bytes(8, "little")            # version
            + bytes([8])                           # dtype code 8: uint16
            + (3).to_bytes(8, "little")            # sequences
            + (4).to_bytes(8, "little")            # document indices (documents + 1)
            + b"".join(n.to_bytes(4, "little") for n in (3, 1, 2))      # lengths, int32
            + b"".join(n.to_bytes(8, "little") for n in (0, 6, 8))      # byte pointers
            + b"".join(n.to_bytes(8, "little") for n in (0, 1, 2, 3)))  # document indices
    assert got == want
    assert megatron_index_bytes(np.array([5]), np.dtype("<i4"))[17] == 4  # int32 code
    assert megatron_index_bytes(np.array([], dtype=np.int64), np.dtype("<u2")) == (
        b"MMIDIDX\x00\x00" + struct.pack("<QBQQ", 1, 8, 0, 1) + (0).to_bytes(8, "little"))


def _expected(tokenizer: str) -> list[list[int]]:
    tok = load_tokenizer(tokenizer)
    return [tok.encode(t, add_special_tokens=False).ids + [tok.token_to_id("<|endoftext|>")]
            for t in TEXTS if t is not None]


@pytest.mark.parametrize("wide", [False, True], ids=["uint16", "int32"])
def test_megatron_core_reads_our_shards(docs, tmp_path, wide):
    pytest.importorskip("torch", reason="megatron-core needs torch (interop extra)")
    indexed = pytest.importorskip(
        "megatron.core.datasets.indexed_dataset",
        reason="megatron-core is in the interop extra (pip install -e '.[interop]')")
    tokenizer = wide_tokenizer(tmp_path / "wide.json") if wide else "default"
    out = tmp_path / "mega"
    r = export_tokens(docs, "SELECT id, text FROM docs", out, tokenizer=tokenizer,
                      format="megatron", shuffle_seed=None, order_by="id", shard_tokens=400)
    assert r.manifest["dtype"] == ("int32" if wide else "uint16")
    seen = []
    for shard in r.manifest["shards"]:
        ds = indexed.IndexedDataset(str(out / shard["name"]))
        assert len(ds) == shard["documents"]
        seen += [ds[i].tolist() for i in range(len(ds))]
        dtype, lengths, _ = read_megatron_index(out / f"{shard['name']}.idx")
        assert lengths.sum() == shard["tokens"]
        assert ds.index.dtype == dtype.type
    assert len(r.manifest["shards"]) > 1
    assert seen == _expected(tokenizer)


def test_shuffled_megatron_is_a_permutation_of_documents(docs, tmp_path):
    out = tmp_path / "mega"
    r = export_tokens(docs, "SELECT id, text FROM docs", out, format="megatron",
                      shuffle_seed=3, order_by="id")
    dtype, lengths, pointers = read_megatron_index(out / "shard_00000.idx")
    data = np.fromfile(out / "shard_00000.bin", dtype=dtype)
    got = [data[p // 2:p // 2 + n].tolist() for p, n in zip(pointers, lengths)]
    want = _expected("default")
    assert got != want
    order = np.random.default_rng(3).permutation(len(want))
    assert got == [want[i] for i in order]
    assert r.documents == len(want)

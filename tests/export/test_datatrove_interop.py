"""Our datatrove-format shards are byte-identical to datatrove's own tokenizer output."""

from __future__ import annotations

import numpy as np
import pytest
from export_helpers import TEXTS, wide_tokenizer

from corpusql.export_tokens import export_tokens
from corpusql.udfs.tokens import default_tokenizer_path

datatrove = pytest.importorskip(
    "datatrove", reason="datatrove==0.10.1 is in the interop extra (pip install -e '.[interop]')")


def _datatrove_tokenize(tokenizer: str, out) -> None:
    from datatrove.data import Document
    from datatrove.pipeline.tokens.tokenizer import DocumentTokenizer

    step = DocumentTokenizer(str(out), tokenizer_name_or_path=tokenizer,
                             eos_token="<|endoftext|>", shuffle_documents=False)
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(TEXTS) if t is not None]
    step.run(iter(docs))


@pytest.mark.parametrize("wide", [False, True], ids=["uint16", "uint32"])
def test_byte_identical_to_datatrove(docs, tmp_path, wide):
    tokenizer = wide_tokenizer(tmp_path / "wide.json") if wide else default_tokenizer_path()
    ours = export_tokens(docs, "SELECT id, text FROM docs", tmp_path / "ours",
                         tokenizer=tokenizer, shuffle_seed=None, order_by="id")
    _datatrove_tokenize(tokenizer, tmp_path / "theirs")
    assert ours.manifest["dtype"] == ("uint32" if wide else "uint16")
    assert ours.manifest["null_texts"] == 2
    assert [s["name"] for s in ours.manifest["shards"]] == ["shard_00000"]
    for suffix in ("", ".index", ".metadata"):
        mine = (tmp_path / "ours" / f"shard_00000.ds{suffix}").read_bytes()
        theirs = (tmp_path / "theirs" / f"00000_unshuffled.ds{suffix}").read_bytes()
        assert mine == theirs, suffix


def test_datatrove_reader_reads_our_shards(docs, tmp_path):
    pytest.importorskip("torch", reason="datatrove's reader needs torch (interop extra)")
    from datatrove.utils.dataset import DatatroveFolderDataset

    out = tmp_path / "ours"
    r = export_tokens(docs, "SELECT id, text FROM docs", out, shuffle_seed=7, shard_tokens=300,
                      order_by="id")
    assert len(r.manifest["shards"]) > 1
    stream = np.concatenate([np.fromfile(out / f"{s['name']}.ds", dtype="<u2")
                             for s in r.manifest["shards"]])
    seq_len = 32
    ds = DatatroveFolderDataset(str(out), seq_len=seq_len, token_size=2, shuffle=False)
    got = [ds[i]["input_ids"].numpy() for i in range(len(ds))]
    assert len(got) > 0
    # the reader cuts each file into windows of seq_len + 1 tokens, back to back
    starts, pos = [], 0
    for s in r.manifest["shards"]:
        for w in range(s["tokens"] // (seq_len + 1)):
            starts.append(pos + w * (seq_len + 1))
        pos += s["tokens"]
    assert len(got) == len(starts)
    for window, start in zip(got, starts):
        assert window.tolist() == stream[start:start + seq_len + 1].tolist()

"""corpusql.loader.TokenShards: rank split without overlap, O(1) resume, verify refuses changes."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest
from export_helpers import wide_tokenizer

from corpusql.export_tokens import export_tokens
from corpusql.loader import ShardError, TokenShards


@pytest.fixture
def unique(con, tmp_path):
    """A datatrove export (uint16) whose token ids are all distinct but EOS (id 1); 3+ shards."""
    tok = wide_tokenizer(tmp_path / "wide.json", n_words=20_000)
    rng = np.random.default_rng(5)
    lengths = rng.integers(3, 40, size=300)
    words = np.arange(100, 100 + lengths.sum())
    texts = [" ".join(f"w{w}" for w in chunk) for chunk in np.split(words, np.cumsum(lengths)[:-1])]
    con.register("u", pa.table({"id": range(len(texts)), "text": texts}))
    out = tmp_path / "uniq"
    export_tokens(con, "SELECT * FROM u", out, tokenizer=tok, shard_tokens=2000, order_by="id")
    return out


def _key(sample: np.ndarray) -> tuple:
    return tuple(sample.tolist())


@pytest.mark.parametrize("seed", [None, 4])
def test_ranks_split_without_overlap(unique, seed):
    seq = 32
    whole = TokenShards(unique, seq, seed=seed)
    assert len(whole.manifest["shards"]) >= 4
    everything = [_key(s) for s in whole]
    assert len(everything) == whole.samples == len(set(everything))
    parts = [[_key(s) for s in TokenShards(unique, seq, rank=r, world_size=3, seed=seed)]
             for r in range(3)]
    assert {len(p) for p in parts} == {whole.samples // 3}
    union = set().union(*map(set, parts))
    assert len(union) == sum(map(len, parts))  # no overlap
    assert union <= set(everything)
    # every sample is seq consecutive ids of one shard's token stream
    streams = [np.fromfile(unique / f"{s['name']}.ds", dtype=whole.dtype)
               for s in whole.manifest["shards"]]
    windows = {_key(st[i * seq:(i + 1) * seq]) for st in streams for i in range(len(st) // seq)}
    assert set(everything) == windows


def test_samples_are_views_of_the_mapped_files(unique):
    sample = next(iter(TokenShards(unique, 16, verify=False)))
    assert not sample.flags.owndata and not sample.flags.writeable
    assert sample.dtype == np.dtype("<u2") and sample.shape == (16,)


def test_resume_continues_exactly(unique):
    run = TokenShards(unique, 24, rank=1, world_size=2, seed=9)
    straight = [_key(s) for s in itertools.chain(run, run)]  # two epochs
    first = TokenShards(unique, 24, rank=1, world_size=2, seed=9)
    it = iter(first)
    got = [_key(next(it)) for _ in range(len(first) - 3)]
    state = first.state_dict()
    assert state == {"epoch": 0, "index": len(first) - 3}
    again = TokenShards(unique, 24, rank=1, world_size=2, seed=9, verify=False)
    again.load_state_dict(state)
    got += [_key(s) for s in itertools.chain(again, again)]
    assert got == straight
    assert again.state_dict() == {"epoch": 2, "index": 0}
    epoch2 = [_key(s) for s in TokenShards(unique, 24, rank=1, world_size=2, seed=9)]
    assert epoch2 == straight[:len(first)]
    assert straight[:len(first)] != straight[len(first):]  # each epoch has its own order


def test_flipped_byte_is_refused_with_the_file_name(unique):
    victim = unique / "shard_00002.ds"
    data = bytearray(victim.read_bytes())
    data[100] ^= 0x40
    victim.write_bytes(bytes(data))
    with pytest.raises(ShardError, match=r"shard_00002\.ds: sha256 differs from the manifest"):
        TokenShards(unique, 16)
    assert len(list(TokenShards(unique, 16, verify=False))) > 0
    victim.write_bytes(bytes(data[:-4]))
    with pytest.raises(ShardError, match=r"shard_00002\.ds: size"):
        TokenShards(unique, 16, verify=False)


def test_bad_arguments(unique, tmp_path):
    with pytest.raises(ShardError, match="rank = 2 must be in 0 .. world_size - 1 = 1"):
        TokenShards(unique, 16, rank=2, world_size=2)
    with pytest.raises(ShardError, match="batch_size = 0"):
        TokenShards(unique, 16, batch_size=0)
    with pytest.raises(ShardError, match="missing"):
        TokenShards(tmp_path / "nothing", 16)
    loader = TokenShards(unique, 16)
    with pytest.raises(ShardError, match="another seq_len or world_size"):
        loader.load_state_dict({"epoch": 0, "index": len(loader) + 1})


def test_batches_are_blocks_of_consecutive_samples(unique):
    singles = {_key(s) for s in TokenShards(unique, 8, seed=None)}
    loader = TokenShards(unique, 8, seed=2, batch_size=4, rank=0, world_size=2)
    batches = list(loader)
    assert batches and all(b.shape == (4, 8) and not b.flags.owndata for b in batches)
    rows = [_key(r) for b in batches for r in b]
    assert set(rows) <= singles and len(rows) == len(set(rows))
    assert len(batches) == len(loader) == loader.samples // 2


def test_megatron_export_gives_the_same_samples(docs, tmp_path):
    a = export_tokens(docs, "SELECT * FROM docs", tmp_path / "dt", shard_tokens=300)
    b = export_tokens(docs, "SELECT * FROM docs", tmp_path / "mg", format="megatron",
                      shard_tokens=300)
    assert [s["tokens"] for s in a.manifest["shards"]] == [s["tokens"] for s in
                                                           b.manifest["shards"]]
    got_a = [_key(s) for s in TokenShards(tmp_path / "dt", 16, seed=3)]
    got_b = [_key(s) for s in TokenShards(tmp_path / "mg", 16, seed=3)]
    assert got_a == got_b and len(got_a) > 10
    parquet = export_tokens(docs, "SELECT * FROM docs", tmp_path / "pq", format="parquet")
    with pytest.raises(ShardError, match="format 'parquet'.*any Parquet reader"):
        TokenShards(parquet.out_dir, 16)

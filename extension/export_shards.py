"""The two passes of ``export_tokens``: encode into a spill file, then write shuffled shards.

Memory per document: its token count (8 bytes) while encoding; the permutation and the start of
each document in the spill file (8 bytes each) while writing. Token ids themselves stay on disk
(the spill file is memory-mapped and read one block of documents at a time).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from .files import sha256_file
from .udfs import token_chunks

BATCH_ROWS = 8192
BLOCK_DOCS = 16384  # documents gathered per write


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class EncodeStats:
    lengths: np.ndarray  # tokens per document (EOS included), query order
    nulls: int
    by_group: dict[str, list[int]] = field(default_factory=dict)  # docs, tokens, max epoch

    def groups(self) -> dict[str, dict[str, int]]:
        return {k: {"documents": v[0], "tokens": v[1], "epochs": v[2] + 1}
                for k, v in sorted(self.by_group.items())}


def _select(con, plan: dict[str, Any]) -> str:
    query, text, by = plan["query"], plan["text_col"], plan["by"]
    cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM ({query}\n)").fetchall()]
    order = ", ".join(f"q.{_quote(c)}" for c in cols) if plan["order_by"].upper() == "ALL" \
        else plan["order_by"]
    picked = [f"q.{_quote(text)}"]
    if by is not None:
        picked.append(f"CAST(q.{_quote(by)} AS VARCHAR)")
        picked.append("q.epoch" if "epoch" in cols else "0")
    return f"SELECT {', '.join(picked)} FROM ({query}\n) AS q ORDER BY {order}"


def encode_to_spill(con, tok, plan: dict[str, Any], ids_dtype: np.dtype,
                    spill: Path) -> EncodeStats:
    """Encode every non-NULL text in order, appending the EOS id; write the ids to ``spill``."""
    eos_id = plan["eos_id"]
    parts: list[np.ndarray] = []
    nulls = 0
    by_group: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    limit = np.iinfo(ids_dtype).max
    (budget,), = con.execute(  # the connection's corpusql memory budget, if it has one
        "SELECT TRY_CAST(getvariable('corpusql_memory_budget') AS BIGINT)").fetchall()
    reader = con.sql(_select(con, plan)).to_arrow_reader(BATCH_ROWS)
    try:
        with open(spill, "wb") as out:
            for batch in reader:
                texts = batch.column(0)
                valid = np.asarray(texts.is_valid())
                nulls += int((~valid).sum())
                values = texts.filter(pa.array(valid)).to_pylist() if texts.null_count \
                    else texts.to_pylist()
                encoded = _encode(tok, values, budget)
                lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64,
                                      count=len(encoded))
                ids = np.fromiter(chain.from_iterable(encoded), dtype=np.int64,
                                  count=int(lengths.sum()))
                if ids.size and int(ids.max()) > limit:
                    raise ValueError(f"export_tokens: token id {int(ids.max())} does not fit "
                                     f"{ids_dtype.name}; pass dtype := 'uint32'")
                if eos_id is not None:
                    ends = np.cumsum(lengths + 1) - 1
                    keep = np.ones(ids.size + lengths.size, dtype=bool)
                    keep[ends] = False
                    full = np.empty(keep.size, dtype=ids_dtype)
                    full[keep] = ids
                    full[ends] = eos_id
                    lengths += 1
                else:
                    full = ids.astype(ids_dtype)
                out.write(full.tobytes())
                parts.append(lengths)
                if plan["by"] is not None:
                    _count(by_group, batch, valid, lengths)
    finally:
        reader.close()  # an unfinished result would block the connection
    all_lengths = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    return EncodeStats(all_lengths, nulls, dict(by_group))


def _encode(tok, values: list[str], budget: int | None) -> list[list[int]]:
    """Token ids of ``values``, exactly as ``token_count`` counts them; a text repeated in the
    batch (a mix's epochs) is encoded once. Texts longer than token_count's chunk size are
    encoded in its bounded chunks, under the memory ``budget`` (udfs/token_chunks.py)."""
    first: dict[str, int] = {}
    where = [first.setdefault(v, len(first)) for v in values]
    unique = list(first)
    ids: list = [None] * len(unique)
    short = [i for i, v in enumerate(unique) if len(v) <= token_chunks.CHUNK_CHARS]
    for i, e in zip(short, tok.encode_batch([unique[i] for i in short],
                                            add_special_tokens=False)):
        ids[i] = e.ids
    for i, v in enumerate(unique):
        if ids[i] is None:
            ids[i] = [t for e in token_chunks.encode(tok, v, memory_budget=budget,
                                                     function="export_tokens") for t in e.ids]
    return [ids[i] for i in where]


def _count(by_group, batch, valid: np.ndarray, lengths: np.ndarray) -> None:
    keys = batch.column(1).filter(pa.array(valid)).to_pylist()
    epochs = batch.column(2).filter(pa.array(valid)).to_pylist()
    for key, n, epoch in zip(keys, lengths.tolist(), epochs):
        entry = by_group[str(key)]
        entry[0] += 1
        entry[1] += n
        entry[2] = max(entry[2], int(epoch or 0))


def _file_entry(path: Path) -> dict[str, Any]:
    return {"path": path.name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def write_shards(staging: Path, spill: Path, stats: EncodeStats, plan: dict[str, Any],
                 ids_dtype: np.dtype) -> tuple[list[dict], list[dict]]:
    """Write the shards in the export's global order; (file entries, shard entries)."""
    lengths = stats.lengths
    n = lengths.size
    seed = plan["shuffle_seed"]
    order = np.random.default_rng(seed).permutation(n) if seed is not None else np.arange(n)
    starts = np.cumsum(lengths) - lengths  # in the spill file
    ordered = lengths[order]
    begin = np.cumsum(ordered) - ordered  # in the export
    cut = begin // plan["shard_tokens"]
    edges = np.flatnonzero(np.diff(cut)) + 1 if n else np.zeros(0, dtype=np.int64)
    bounds = [0, *edges.tolist(), n]  # an empty export still has one (empty) shard
    mm = np.memmap(spill, dtype=ids_dtype, mode="r") if int(lengths.sum()) else None
    files: list[dict] = []
    shards: list[dict] = []
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        docs = order[a:b]
        name = f"shard_{i:05d}"
        entry = {"name": name, "documents": int(b - a), "tokens": int(ordered[a:b].sum()),
                 "first_document": int(a)}
        written = _WRITERS[plan["format"]](staging, name, mm, starts[docs], lengths[docs],
                                           plan, ids_dtype, entry)
        entry["files"] = [p.name for p in written]
        files.extend(_file_entry(p) for p in written)
        shards.append(entry)
    del mm
    return files, shards


def _blocks(mm, starts: np.ndarray, lengths: np.ndarray):
    """Token ids of the documents, concatenated one block of documents at a time."""
    for k in range(0, starts.size, BLOCK_DOCS):
        s, n = starts[k:k + BLOCK_DOCS].tolist(), lengths[k:k + BLOCK_DOCS].tolist()
        yield np.concatenate([mm[a:a + m] for a, m in zip(s, n)])


def _stream(path: Path, mm, starts, lengths) -> None:
    with open(path, "wb") as f:
        for block in _blocks(mm, starts, lengths):
            f.write(block.tobytes())
        f.flush()
        os.fsync(f.fileno())


def _datatrove(staging, name, mm, starts, lengths, plan, ids_dtype, entry) -> list[Path]:
    from .udfs.token_formats import write_datatrove_index, write_datatrove_metadata

    ds = staging / f"{name}.ds"
    _stream(ds, mm, starts, lengths)
    write_datatrove_index(f"{ds}.index", np.cumsum(lengths))
    write_datatrove_metadata(f"{ds}.metadata", plan["tokenizer"]["path"], ids_dtype.itemsize,
                             int(lengths.sum()))
    return [ds, Path(f"{ds}.index"), Path(f"{ds}.metadata")]


def _megatron(staging, name, mm, starts, lengths, plan, ids_dtype, entry) -> list[Path]:
    from .udfs.token_formats import _fsync_write, megatron_index_bytes

    bin_path, idx_path = staging / f"{name}.bin", staging / f"{name}.idx"
    _stream(bin_path, mm, starts, lengths)
    _fsync_write(idx_path, megatron_index_bytes(lengths, ids_dtype))
    return [bin_path, idx_path]


def _parquet(staging, name, mm, starts, lengths, plan, ids_dtype, entry) -> list[Path]:
    import pyarrow.parquet as pq

    from .udfs.token_packing import pack

    tokens = np.concatenate(list(_blocks(mm, starts, lengths))) if lengths.size \
        else np.zeros(0, dtype=ids_dtype)
    pad = plan["eos_id"] if plan["eos_id"] is not None else 0
    packed = pack(tokens, lengths, plan["seq_len"], mode=plan["pack"], pad_id=pad,
                  first_doc=entry["first_document"])
    n_seq, seq_len = packed.input_ids.shape
    offsets = pa.array(np.arange(n_seq + 1, dtype=np.int32) * seq_len, pa.int32())
    value_type = pa.uint16() if ids_dtype.itemsize == 2 else pa.uint32()

    def column(values: np.ndarray, typ) -> pa.Array:
        return pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1), typ))

    table = pa.table({
        "input_ids": column(packed.input_ids, value_type),
        "doc_ids": column(packed.doc_ids, pa.int64()),
        "positions": column(packed.positions, pa.int32()),
    })
    path = staging / f"{name}.parquet"
    pq.write_table(table, path, compression="zstd")
    entry["sequences"] = int(n_seq)
    entry["packing_efficiency"] = packed.efficiency
    return [path]


_WRITERS = {"datatrove": _datatrove, "megatron": _megatron, "parquet": _parquet}

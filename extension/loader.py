"""``corpusql.loader.TokenShards``: training samples straight from a token export, no PyTorch.

A sample is ``seq_len`` consecutive token ids of one shard (pass ``seq_len + 1`` to get inputs
and shifted labels from one window). Shard ``i`` holding ``t_i`` tokens gives ``t_i // seq_len``
samples, back to back from its first token; its last ``t_i % seq_len`` tokens are not read
(``dropped_tokens``). The samples of all shards are numbered ``0 .. n-1`` in shard order.
With ``batch_size=B`` the unit is a block of ``B`` consecutive samples of one shard, yielded as
one ``(B, seq_len)`` view (still no copy; a shard gives ``t_i // (B * seq_len)`` blocks), and
everything below counts blocks: the export already shuffled documents globally, so blocks
only coarsen the sample order, and they spare the consumer one numpy call per sample.

Order and ranks: epoch ``e`` visits the samples in the order ``g -> (a * g + b) mod n``, with
``a`` (coprime to ``n``) and ``b`` drawn from ``numpy.random.default_rng([seed, e])``
(``seed=None``: in order). Rank ``r`` of ``world_size`` takes positions ``r, r + world_size,
...`` of that order, so ranks never overlap and every rank gets ``n // world_size`` samples per
epoch (the last ``n % world_size`` positions are left out so that ranks step together).

Samples are read-only numpy views of the memory-mapped shard files (no copy). ``state_dict()``
is ``{"epoch", "index"}`` (samples this rank has yielded in the epoch); ``load_state_dict``
resumes there in O(1): nothing is re-read or re-scanned. With ``verify=True`` each shard file
this rank reads is checked against the manifest's sha256 first; a mismatch raises naming the
file. Sizes are always checked.
"""

from __future__ import annotations

import bisect
import json
import math
import mmap
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MaterializeError

MANIFEST = "_manifest.json"
_DATA_SUFFIX = {"datatrove": ".ds", "megatron": ".bin"}


class ShardError(MaterializeError, ValueError):
    """A token export cannot be read: missing, changed, or not a token export."""


def _map(path: Path, dtype: np.dtype) -> np.ndarray:
    size = path.stat().st_size
    if size == 0:
        return np.zeros(0, dtype=dtype)
    with open(path, "rb") as f:
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    return np.frombuffer(buf, dtype=dtype)


class TokenShards:
    """Iterate ``seq_len``-token numpy arrays from the token export at ``path``."""

    def __init__(self, path: str | os.PathLike, seq_len: int, *, rank: int = 0,
                 world_size: int = 1, seed: int | None = 0, verify: bool = True,
                 batch_size: int = 1) -> None:
        self.path = Path(path)
        if seq_len < 1:
            raise ShardError(f"seq_len = {seq_len} must be at least 1")
        if batch_size < 1:
            raise ShardError(f"batch_size = {batch_size} must be at least 1")
        if not 0 <= rank < world_size:
            raise ShardError(f"rank = {rank} must be in 0 .. world_size - 1 = {world_size - 1}")
        self.seq_len, self.rank, self.world_size, self.seed = seq_len, rank, world_size, seed
        self.batch_size = batch_size
        unit = seq_len * batch_size  # tokens per yielded array
        try:
            self.manifest: dict[str, Any] = json.loads(
                (self.path / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ShardError(f"{self.path / MANIFEST}: missing (not a corpusql token export; "
                             "write one with corpusql.export_tokens)") from None
        fmt = self.manifest.get("format")
        if self.manifest.get("kind") != "token_export" or fmt not in _DATA_SUFFIX:
            raise ShardError(f"{self.path}: TokenShards reads datatrove and megatron token "
                             f"exports; this manifest is kind {self.manifest.get('kind')!r}, "
                             f"format {fmt!r} (read parquet exports with any Parquet reader)")
        self.dtype = np.dtype(self.manifest["dtype"]).newbyteorder("<")
        self.files = {f["path"]: f for f in self.manifest["files"]}
        shards = self.manifest["shards"]
        self._names = [s["name"] + _DATA_SUFFIX[fmt] for s in shards]
        counts = [s["tokens"] // unit for s in shards]
        self.dropped_tokens = sum(s["tokens"] % unit for s in shards)
        self._first = [0]
        for c in counts:
            self._first.append(self._first[-1] + c)
        self.samples = self._first[-1]  # arrays in all shards for all ranks, per epoch
        self._data: dict[int, np.ndarray] = {}
        self.epoch, self.index = 0, 0
        wanted = self._shards_of_rank() if verify else range(len(shards))
        for i in range(len(shards)):
            self._check(self._names[i], sha=verify and i in wanted)

    def __len__(self) -> int:
        """Arrays this rank yields per epoch."""
        return self.samples // self.world_size

    def _check(self, name: str, *, sha: bool) -> None:
        from .files import sha256_file

        entry = self.files.get(name)
        path = self.path / name
        if entry is None:
            raise ShardError(f"{path}: not listed in {self.path / MANIFEST}")
        if not path.exists():
            raise ShardError(f"{path}: missing (listed in {self.path / MANIFEST})")
        if path.stat().st_size != entry["bytes"]:
            raise ShardError(f"{path}: size {path.stat().st_size} != manifest {entry['bytes']}")
        if sha and sha256_file(path) != entry["sha256"]:
            raise ShardError(f"{path}: sha256 differs from the manifest; the shard changed "
                             "after export (re-export it, or pass verify=False to skip checks)")

    def _shards_of_rank(self) -> set[int]:
        """Shards this rank may read (all of them when the order is shuffled)."""
        if self.seed is not None or self.world_size == 1:
            return set(range(len(self._names)))
        return {self._shard(g) for g in range(self.rank, len(self) * self.world_size,
                                              self.world_size)}

    def _order(self, epoch: int) -> tuple[int, int]:
        n = self.samples
        if self.seed is None or n <= 1:
            return 1, 0
        rng = np.random.default_rng([self.seed, epoch])
        while True:
            a = int(rng.integers(1, n))
            if math.gcd(a, n) == 1:
                return a, int(rng.integers(0, n))

    def _shard(self, g: int) -> int:
        return bisect.bisect_right(self._first, g) - 1

    def _tokens(self, shard: int) -> np.ndarray:
        data = self._data.get(shard)
        if data is None:
            data = self._data[shard] = _map(self.path / self._names[shard], self.dtype)
        return data

    def sample(self, position: int, epoch: int | None = None) -> np.ndarray:
        """The sample at ``position`` of this rank's order in ``epoch`` (default: current)."""
        a, b = self._order(self.epoch if epoch is None else epoch)
        g = (a * (self.rank + position * self.world_size) + b) % self.samples
        s = self._shard(g)
        unit = self.seq_len * self.batch_size
        start = (g - self._first[s]) * unit
        return self._shape(self._tokens(s)[start:start + unit])

    def _shape(self, view: np.ndarray) -> np.ndarray:
        return view if self.batch_size == 1 else view.reshape(self.batch_size, self.seq_len)

    def __iter__(self) -> Iterator[np.ndarray]:
        """Samples of the rest of the current epoch; the next ``iter`` starts the next one."""
        n, w, unit = self.samples, self.world_size, self.seq_len * self.batch_size
        a, b = self._order(self.epoch)
        first, names = self._first, len(self._names)
        tokens = [self._tokens(s) for s in range(names)] if names else []
        end = len(self)
        while self.index < end:
            g = (a * (self.rank + self.index * w) + b) % n
            s = bisect.bisect_right(first, g) - 1
            start = (g - first[s]) * unit
            self.index += 1
            view = tokens[s][start:start + unit]
            yield view if unit == self.seq_len else view.reshape(self.batch_size, self.seq_len)
        self.epoch, self.index = self.epoch + 1, 0

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "index": self.index}

    def load_state_dict(self, state: dict[str, int]) -> None:
        epoch, index = int(state["epoch"]), int(state["index"])
        if not 0 <= index <= len(self):
            raise ShardError(f"state index {index} is outside this rank's epoch of "
                             f"{len(self)} samples (was it saved with another seq_len or "
                             "world_size?)")
        self.epoch, self.index = epoch, index

"""Static (bag-of-tokens) sentence embeddings: a token table, mean pooling, L2 normalization.

A static model is a matrix ``table[vocab, dim]`` with one vector per token id plus the tokenizer
that gives those ids. A text's vector is the mean of the rows of its token ids, L2-normalized
(``wordllama``'s ``embed(texts, norm=True)``, which is average pooling over the attention mask).
No network, no attention: the cost is tokenizing plus one gather-and-sum per token, so it runs
hundreds of times faster than a transformer, at the price of ignoring word order.

The built-in 'wordllama' is WordLlama's ``l2_supercat`` table cut to 256 dimensions (Lee Miller,
MIT; token embeddings distilled from Llama 2 70B's input layer) and its Llama 2 tokenizer, read
from the files the PyPI package ``wordllama`` 0.4.0.post1 ships (``weights/l2_supercat_256.
safetensors``, float16, and ``tokenizers/l2_supercat_tokenizer_config.json``), each verified
against its pinned sha256 before use. wordllama's own code is never imported: the safetensors
file is read here with numpy.
"""

from __future__ import annotations

import json
import struct
import threading
from typing import Any

import numpy as np

from .embed_static_jit import mean_rows

#: safetensors dtype names -> numpy little-endian dtypes (the ones a token table may use).
_DTYPES = {"F16": "<f2", "F32": "<f4", "BF16": None, "F64": "<f8"}


class StaticModelError(ValueError):
    """A static model file cannot be read as a token table."""


def read_safetensors(path: str, key: str) -> np.ndarray:
    """The tensor ``key`` of a safetensors file as a float32 array.

    Format: an 8-byte little-endian header length n, n bytes of JSON mapping each tensor name to
    its dtype, shape and [begin, end) byte offsets into the data that follows the header.
    """
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise StaticModelError(f"{path!r} is not a safetensors file (shorter than 8 bytes)")
        (n,) = struct.unpack("<Q", head)
        try:
            header = json.loads(f.read(n))
        except (ValueError, UnicodeDecodeError):
            raise StaticModelError(f"{path!r} is not a safetensors file (its header is not "
                                   "JSON)") from None
        if key not in header:
            names = sorted(k for k in header if k != "__metadata__")
            raise StaticModelError(f"{path!r} has no tensor {key!r}; it has {names}")
        meta = header[key]
        dtype = _DTYPES.get(meta.get("dtype"))
        if dtype is None:
            raise StaticModelError(f"{path!r}: tensor {key!r} has dtype {meta.get('dtype')!r}; "
                                   f"readable: {sorted(k for k, v in _DTYPES.items() if v)}")
        begin, end = meta["data_offsets"]
        f.seek(8 + n + begin)
        raw = f.read(end - begin)
    shape = tuple(meta["shape"])
    if len(shape) != 2 or len(raw) != int(np.prod(shape)) * np.dtype(dtype).itemsize:
        raise StaticModelError(f"{path!r}: tensor {key!r} of shape {shape} is not a whole "
                               "[vocab, dim] matrix")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(np.float32)


def pool(table: np.ndarray, seqs: list[list[int]]) -> np.ndarray:
    """Mean-pooled, L2-normalized vectors [len(seqs), dim] (float32); NaN rows for empty ones.
    (The mean's 1/n factor cancels in the normalization, so the sum is normalized directly.)"""
    lens = np.fromiter((len(s) for s in seqs), np.int64, len(seqs))
    offsets = np.zeros(len(seqs) + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    ids = np.fromiter((i for s in seqs for i in s), np.int64, int(offsets[-1]))
    if len(ids) and (ids.min() < 0 or ids.max() >= table.shape[0]):
        raise StaticModelError(f"token id {int(ids.max())} is outside the model's table of "
                               f"{table.shape[0]} rows: the tokenizer does not belong to it")
    out = np.full((len(seqs), table.shape[1]), np.nan, dtype=np.float32)
    mean_rows(table, ids, offsets, out)
    return out


class StaticModel:
    """A verified static model: its token table, tokenizer and output dimension."""

    static = True
    inputs: dict[str, Any] = {}

    def __init__(self, spec, weights_key: str) -> None:
        """``spec``: an embed_models.ModelSpec whose files were verified by the caller."""
        from tokenizers import Tokenizer

        self.table = read_safetensors(spec.onnx_path, weights_key)
        self.spec = spec
        self.dim = self.table.shape[1]
        self.tokenizer = Tokenizer.from_file(spec.tokenizer_path)
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.cache: dict[bytes, Any] = {}  # see corpusql.udfs.embed.CACHE_ROWS
        self.lock = threading.Lock()

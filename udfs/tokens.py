"""Token counts and token ids from a Hugging Face ``tokenizers`` file.

``tokenizer`` is either ``'default'`` (corpusql's own byte-level BPE, 8192 entries, trained by
``scripts/train_tokenizer.py`` on free documentation and shipped as
``corpusql/data/tokenizer.json``)
or the path of any ``tokenizer.json`` written by ``tokenizers`` (``Tokenizer.save``, or the file of
a Hugging Face model repository). Each file is loaded once per process and shared by all threads.
Documents are encoded in batches with ``Tokenizer.encode_batch``, which runs on the library's Rust
thread pool without holding the GIL.
"""

from __future__ import annotations

import os
import threading
from importlib import resources
from itertools import chain

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import paths, token_chunks

DEFAULT = "default"

_LOCK = threading.Lock()
_CACHE: dict[str, object] = {}


def default_tokenizer_path() -> str:
    """Filesystem path of the bundled default ``tokenizer.json``."""
    return str(resources.files("corpusql").joinpath("data", "tokenizer.json"))


def load_tokenizer(tokenizer: str = DEFAULT, *, function: str = "tokenizer"):
    """The ``tokenizers.Tokenizer`` for ``tokenizer`` ('default' or a path), loaded once.

    The cache is keyed by the file's real path; loading happens under a lock, so concurrent first
    calls from several threads load the file once. Truncation and padding stored in the file are
    switched off on the loaded copy: a count covers the whole text. Errors name the path and say
    what is wrong with it.
    """
    path = default_tokenizer_path() if tokenizer == DEFAULT else os.path.expanduser(tokenizer)
    key = os.path.realpath(path)
    paths.check(path, function, "tokenizer")  # a role connection's allowed paths
    tok = _CACHE.get(key)
    if tok is not None:
        return tok
    with _LOCK:
        tok = _CACHE.get(key)
        if tok is None:
            tok = _load(path, function)
            _CACHE[key] = tok
    return tok


def _load(path: str, function: str):
    from tokenizers import Tokenizer

    if not os.path.exists(path):
        raise ValueError(f"{function}: tokenizer file {path!r} does not exist")
    if os.path.isdir(path):
        raise ValueError(
            f"{function}: tokenizer {path!r} is a directory; pass the path of its tokenizer.json"
        )
    try:
        tok = Tokenizer.from_file(path)
    except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(
            f"{function}: {path!r} is not a Hugging Face tokenizers JSON file ({first})"
        ) from None
    tok.no_truncation()
    tok.no_padding()
    return tok


def _encode(text: pa.Array, tokenizer: str, function: str):
    """(validity mask, encodings of the non-NULL rows) for a string array."""
    tok = load_tokenizer(tokenizer, function=function)
    valid = text.is_valid()
    values = pc.filter(text, valid).to_pylist() if text.null_count else text.to_pylist()
    return np.asarray(valid), tok.encode_batch(values, add_special_tokens=False)


def token_count(text: pa.Array, *, tokenizer: str = DEFAULT,
                max_memory_bytes: int | None = None) -> pa.Array:
    """Number of tokens of the text under ``tokenizer`` ('default' or a tokenizer.json path).

    Defined as ``len(Tokenizer.encode(text, add_special_tokens=False).ids)`` of Hugging Face
    ``tokenizers``: no BOS/EOS or other special tokens are added, and truncation and padding in
    the file are ignored. The default tokenizer is corpusql's byte-level BPE (8192 entries, see
    scripts/train_tokenizer.py). Empty text has 0 tokens; NULL text has 0 tokens.

    A text longer than 65,536 characters is counted in chunks, cut where the count provably
    does not change (rules per pre-tokenizer in docs/tokens-mix-split.md), so memory stays
    bounded and the count exact. A text, or a stretch of one, with no safe cut is encoded whole
    only if it fits the memory budget (kernel argument ``max_memory_bytes``; default half of
    the memory the process can still get); otherwise the query fails naming that knob.
    """
    tok = load_tokenizer(tokenizer, function="token_count")
    valid = np.asarray(text.is_valid())
    values = pc.filter(text, valid).to_pylist() if text.null_count else text.to_pylist()
    found = np.zeros(len(values), dtype=np.int64)
    short, size = [], 0
    for i, value in enumerate(values):
        if len(value) > token_chunks.CHUNK_CHARS:
            found[i] = token_chunks.count(tok, value, max_memory_bytes=max_memory_bytes,
                                          tokenizer=tokenizer)
            continue
        short.append(i)
        size += len(value)
        if size >= token_chunks.GROUP_CHARS:
            _count_short(tok, values, short, found)
            short, size = [], 0
    _count_short(tok, values, short, found)
    counts = np.zeros(len(text), dtype=np.int32)
    counts[valid] = found
    return pa.array(counts, pa.int32())


def _count_short(tok, values: list[str], rows: list[int], out: np.ndarray) -> None:
    """Counts of ``values[rows]`` in one ``encode_batch_fast`` call, written to ``out[rows]``."""
    if rows:
        encodings = tok.encode_batch_fast([values[i] for i in rows], add_special_tokens=False)
        out[rows] = [len(e.ids) for e in encodings]


def tokenize(text: pa.Array, *, tokenizer: str = DEFAULT) -> pa.Array:
    """Token ids of the text under ``tokenizer`` ('default' or a tokenizer.json path).

    Defined as ``Tokenizer.encode(text, add_special_tokens=False).ids`` of Hugging Face
    ``tokenizers`` (no special tokens added; truncation and padding in the file are ignored).
    Empty text gives an empty list; NULL text gives NULL.
    """
    valid, encodings = _encode(text, tokenizer, "tokenize")
    lengths = np.zeros(len(text), dtype=np.int32)
    lengths[valid] = [len(e.ids) for e in encodings]
    offsets = np.zeros(len(text) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    values = np.fromiter(chain.from_iterable(e.ids for e in encodings), dtype=np.int32,
                         count=int(offsets[-1]))
    mask = None if valid.all() else pa.array(~valid)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(values, pa.int32()),
                                    mask=mask)

"""Token counts and token ids from a Hugging Face ``tokenizers`` file.

``tokenizer`` is either ``'default'`` (corpusql's own byte-level BPE, 8192 entries, trained by
``scripts/train_tokenizer.py`` on free documentation and shipped as
``corpusql/udfs/data/tokenizer.json``)
or the path of any ``tokenizer.json`` written by ``tokenizers`` (``Tokenizer.save``, or the file of
a Hugging Face model repository). Each file is loaded once per process and shared by all threads.
Documents are encoded in batches with ``Tokenizer.encode_batch``, which runs on the library's Rust
thread pool without holding the GIL.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import paths, token_chunks

DEFAULT = "default"

_LOCK = threading.Lock()
_CACHE: dict[str, object] = {}


def default_tokenizer_path() -> str:
    """Filesystem path of the bundled default ``tokenizer.json``."""
    return paths.bundled_file("tokenizer.json")


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


def _per_text(text: pa.Array, tokenizer: str, function: str, budget: int | None, take):
    """(validity mask, ``take(encoding)`` of each non-NULL row, in order) for a string array.

    Rows up to ``token_chunks.CHUNK_CHARS`` characters are encoded together, about
    ``token_chunks.GROUP_CHARS`` characters per ``encode_batch_fast`` call; a longer row is
    encoded in chunks (token_chunks.encode) and ``take`` is applied to each of its chunks.
    """
    tok = load_tokenizer(tokenizer, function=function)
    valid = np.asarray(text.is_valid())
    values = pc.filter(text, valid).to_pylist() if text.null_count else text.to_pylist()
    out: list = [None] * len(values)
    short: list[int] = []
    size = 0

    def flush() -> None:
        encodings = tok.encode_batch_fast([values[i] for i in short], add_special_tokens=False)
        for i, e in zip(short, encodings, strict=True):
            out[i] = take(e)

    for i, value in enumerate(values):
        if len(value) > token_chunks.CHUNK_CHARS:
            out[i] = [take(e) for e in token_chunks.encode(
                tok, value, memory_budget=budget, function=function, tokenizer=tokenizer)]
            continue
        short.append(i)
        size += len(value)
        if size >= token_chunks.GROUP_CHARS:
            flush()
            short, size = [], 0
    if short:
        flush()
    return valid, out


def token_count(text: pa.Array, *, tokenizer: str = DEFAULT,
                memory_budget: int | None = None) -> pa.Array:
    """Number of tokens of the text under ``tokenizer`` ('default' or a tokenizer.json path).

    Defined as ``len(Tokenizer.encode(text, add_special_tokens=False).ids)`` of Hugging Face
    ``tokenizers``: no BOS/EOS or other special tokens are added, and truncation and padding in
    the file are ignored. The default tokenizer is corpusql's byte-level BPE (8192 entries, see
    scripts/train_tokenizer.py). Empty text has 0 tokens; NULL text has 0 tokens.

    A text longer than 65,536 characters is counted in chunks, cut where the count provably
    does not change (rules per pre-tokenizer in docs/tokens-mix-split.md), so memory stays
    bounded and the count exact. A text, or a stretch of one, with no safe cut is encoded whole
    only if it fits the memory budget (kernel argument ``memory_budget``; default half of
    the memory the process can still get); otherwise the query fails naming that knob.
    """
    valid, found = _per_text(text, tokenizer, "token_count", memory_budget,
                             lambda e: len(e.ids))
    counts = np.zeros(len(text), dtype=np.int32)
    counts[valid] = [n if isinstance(n, int) else sum(n) for n in found]
    return pa.array(counts, pa.int32())


def tokenize(text: pa.Array, *, tokenizer: str = DEFAULT,
             memory_budget: int | None = None) -> pa.Array:
    """Token ids of the text under ``tokenizer`` ('default' or a tokenizer.json path).

    Defined as ``Tokenizer.encode(text, add_special_tokens=False).ids`` of Hugging Face
    ``tokenizers`` (no special tokens added; truncation and padding in the file are ignored).
    Empty text gives an empty list; NULL text gives NULL. Long texts are encoded in chunks and
    guarded by the memory budget exactly as in ``token_count``; the ids are those of the
    whole text.
    """
    valid, found = _per_text(text, tokenizer, "tokenize", memory_budget,
                             lambda e: np.asarray(e.ids, dtype=np.int32))
    rows = [ids if isinstance(ids, np.ndarray) else
            (np.concatenate(ids) if ids else np.zeros(0, np.int32)) for ids in found]
    lengths = np.zeros(len(text), dtype=np.int32)
    lengths[valid] = [len(ids) for ids in rows]
    offsets = np.zeros(len(text) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    values = np.concatenate(rows) if rows else np.zeros(0, np.int32)
    mask = None if valid.all() else pa.array(~valid)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()),
                                    pa.array(values, pa.int32()), mask=mask)

"""Token-id shard files that training code reads directly: datatrove and Megatron layouts.

Pure numpy writers and readers (no torch, no duckdb); the layouts are those of the reference
readers, pinned by tests against the installed libraries:

- datatrove (``DocumentTokenizer`` / ``DatatroveFolderDataset``, 0.10.1): ``NAME.ds`` holds the
  token ids of every document back to back, little-endian, 2 bytes each (uint16) when the
  tokenizer's vocabulary has at most 65,536 entries, else 4 (uint32); ``NAME.ds.index`` holds
  one little-endian uint64 per document, the token offset where it ends (cumulative);
  ``NAME.ds.metadata`` is three text lines without a final newline: ``<tokenizer>|<bytes per
  token>``, the token count, and the count with an SI prefix and unit ``T`` at three
  significant digits (``"1.23 kT"``).
- Megatron-LM (``megatron.core.datasets.indexed_dataset``): ``NAME.bin`` holds the token ids;
  ``NAME.idx`` is the 9 bytes ``MMIDIDX\\0\\0``, uint64 version 1, a uint8 dtype code (8 =
  uint16, 4 = int32; Megatron has no uint32 code), uint64 sequence count, uint64 document-index
  count (documents + 1), then int32 sequence lengths, int64 byte pointers of each sequence in
  the .bin, and int64 document indices ``0, 1, ..., n`` (one sequence per document). All
  little-endian.
"""

from __future__ import annotations

import os
import struct

import numpy as np

UINT16_VOCAB = 1 << 16  # ids 0..65535
MEGATRON_HEADER = b"MMIDIDX\x00\x00"
MEGATRON_VERSION = 1
MEGATRON_CODES = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}
_SI = "kMGTPEZY"


def token_dtype(vocab_size: int, dtype: str = "auto") -> np.dtype:
    """The stored id type: uint16 when ``vocab_size`` <= 65,536 (or as asked), else uint32.

    Raises ValueError naming the knob when ``dtype='uint16'`` cannot hold the vocabulary.
    """
    if dtype == "auto":
        return np.dtype("<u2") if vocab_size <= UINT16_VOCAB else np.dtype("<u4")
    if dtype not in ("uint16", "uint32"):
        raise ValueError(f"dtype {dtype!r} is not one of 'auto', 'uint16', 'uint32'")
    if dtype == "uint16" and vocab_size > UINT16_VOCAB:
        raise ValueError(
            f"the tokenizer has {vocab_size:,} ids, more than uint16 holds (65,536); pass "
            "dtype := 'uint32' (or 'auto')")
    return np.dtype("<u2") if dtype == "uint16" else np.dtype("<u4")


def si_tokens(count: int) -> str:
    """``count`` at three significant digits with an SI prefix and unit T: 1.00 T, 12.3 kT."""
    digits = len(str(count)) - 1 if count else 0  # decimal exponent
    mantissa = count / 10 ** (digits // 3 * 3)
    decimals = 2 - digits % 3
    if round(mantissa, decimals) >= 10 ** (digits % 3 + 1):  # 999.9k rounds up to 1.00 M
        digits += 1
        mantissa /= 1000 if digits % 3 == 0 else 1
        decimals = 2 - digits % 3
    prefix = _SI[digits // 3 - 1] if digits >= 3 else ""
    return f"{mantissa:.{decimals}f} {prefix}T"


def _fsync_write(path: str | os.PathLike, data) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def datatrove_files(name: str) -> list[str]:
    """File names of one datatrove shard called ``name`` (ending in .ds)."""
    return [name, f"{name}.index", f"{name}.metadata"]


def write_datatrove_index(path: str | os.PathLike, doc_ends: np.ndarray) -> None:
    _fsync_write(path, np.asarray(doc_ends, dtype="<u8").tobytes())


def write_datatrove_metadata(path: str | os.PathLike, tokenizer_name: str, token_size: int,
                             tokens: int) -> None:
    text = f"{tokenizer_name}|{token_size}\n{tokens}\n{si_tokens(tokens)}"
    _fsync_write(path, text.encode("utf-8"))


def megatron_index_bytes(lengths: np.ndarray, dtype: np.dtype) -> bytes:
    """The whole ``.idx`` file for documents of ``lengths`` tokens, one sequence each."""
    dtype = np.dtype(dtype)
    if dtype.newbyteorder("=") == np.dtype(np.uint32):
        raise ValueError("Megatron's indexed dataset has no uint32 dtype code; store int32")
    code = MEGATRON_CODES[dtype.newbyteorder("=")]
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.size and int(lengths.max()) > np.iinfo(np.int32).max:
        raise ValueError("a document has more tokens than Megatron's int32 sequence length holds")
    pointers = np.zeros(lengths.size, dtype="<i8")
    if lengths.size > 1:
        np.cumsum(lengths[:-1] * dtype.itemsize, out=pointers[1:])
    n = lengths.size
    return b"".join([
        MEGATRON_HEADER,
        struct.pack("<QBQQ", MEGATRON_VERSION, code, n, n + 1),
        lengths.astype("<i4").tobytes(),
        pointers.tobytes(),
        np.arange(n + 1, dtype="<i8").tobytes(),
    ])


def read_megatron_index(path: str | os.PathLike) -> tuple[np.dtype, np.ndarray, np.ndarray]:
    """(token dtype, sequence lengths, byte pointers) of a Megatron ``.idx`` file."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    head = bytes(raw[:34])
    if head[:9] != MEGATRON_HEADER:
        raise ValueError(f"{path}: not a Megatron .idx file (header {head[:9]!r})")
    version, code, n, n_docs = struct.unpack("<QBQQ", head[9:34])
    by_code = {c: d for d, c in MEGATRON_CODES.items()}
    if version != MEGATRON_VERSION or code not in by_code:
        raise ValueError(f"{path}: unsupported Megatron .idx version {version} or dtype {code}")
    lengths = np.frombuffer(raw, dtype="<i4", count=n, offset=34)
    pointers = np.frombuffer(raw, dtype="<i8", count=n, offset=34 + 4 * n)
    return by_code[code].newbyteorder("<"), lengths, pointers


def read_datatrove(path: str | os.PathLike, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(token ids, document ends) of a datatrove ``.ds`` shard, memory-mapped (no copy)."""
    return _map(path, dtype), _map(f"{path}.index", np.dtype("<u8"))


def _map(path: str | os.PathLike, dtype: np.dtype) -> np.ndarray:
    if os.path.getsize(path) == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r")

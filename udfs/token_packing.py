"""Packing documents' token ids into fixed-length training sequences, boundaries kept.

Two rules, both deterministic in the order the documents are given:

- ``split``: the documents are laid end to end and cut every ``seq_len`` tokens, so a document
  may continue in the next sequence; only the last sequence is padded.
- ``no_split``: greedy first fit: each document goes into the first sequence (in creation
  order) with room for all of it, else into a new one. A document longer than ``seq_len`` is
  first cut into ``seq_len``-token pieces (its pieces then count as documents; nothing is
  dropped). Sequences are padded to ``seq_len``.

The result gives, per sequence, the token ids, the document index of every token (``-1`` for
padding) and its position inside its document (``0`` for padding), so attention can be masked
per document. Packing efficiency is the non-pad share of all stored tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PACK_MODES = ("split", "no_split")


@dataclass
class Packed:
    """Sequences as 2-D arrays of shape (n_sequences, seq_len)."""

    input_ids: np.ndarray
    doc_ids: np.ndarray  # int64, -1 on padding
    positions: np.ndarray  # int32, 0 on padding
    tokens: int  # real (non-pad) tokens

    @property
    def efficiency(self) -> float:
        """Non-pad share of the stored tokens (1.0 when nothing is stored)."""
        return self.tokens / self.input_ids.size if self.input_ids.size else 1.0


def _first_fit(lengths: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(sequence, offset inside it) of each piece, placing pieces by first fit.

    A segment tree over the sequences' free room finds the first one with enough room in
    O(log n) per piece.
    """
    n = lengths.size
    size = 1
    while size < max(n, 1):
        size *= 2
    free = np.zeros(2 * size, dtype=np.int64)  # leaves size..2*size-1: room left per sequence
    opened = 0
    seq = np.empty(n, dtype=np.int64)
    offset = np.empty(n, dtype=np.int64)
    for i, need in enumerate(lengths.tolist()):
        if free[1] >= need:
            node = 1
            while node < size:
                node = 2 * node if free[2 * node] >= need else 2 * node + 1
            s = node - size
        else:
            s = opened
            opened += 1
            node = size + s
            free[node] = seq_len
        seq[i] = s
        offset[i] = seq_len - free[node]
        free[node] -= need
        node //= 2
        while node:
            free[node] = max(free[2 * node], free[2 * node + 1])
            node //= 2
    return seq, offset


def pack(tokens: np.ndarray, lengths: np.ndarray, seq_len: int, *, mode: str = "split",
         pad_id: int = 0, first_doc: int = 0) -> Packed:
    """Pack documents (``tokens`` back to back, ``lengths`` each) into ``seq_len`` sequences.

    Document indices count from ``first_doc``.
    """
    if mode not in PACK_MODES:
        raise ValueError(f"pack {mode!r} is not one of {PACK_MODES}")
    if seq_len < 1:
        raise ValueError(f"seq_len = {seq_len} must be at least 1")
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    starts = np.zeros(lengths.size, dtype=np.int64)
    if lengths.size > 1:
        np.cumsum(lengths[:-1], out=starts[1:])
    doc = np.arange(lengths.size, dtype=np.int64)
    if mode == "split":
        n_seq = -(-total // seq_len)
        dest = starts
        piece_doc, piece_src, piece_pos, piece_len = doc, starts, np.zeros_like(starts), lengths
    else:
        pieces = np.maximum(1, -(-lengths // seq_len))  # pieces per document
        piece_doc = np.repeat(doc, pieces)
        first = np.cumsum(pieces) - pieces
        k = np.arange(piece_doc.size, dtype=np.int64) - np.repeat(first, pieces)
        piece_pos = k * seq_len
        piece_len = np.minimum(seq_len, lengths[piece_doc] - piece_pos)
        piece_src = starts[piece_doc] + piece_pos
        real = piece_len > 0  # empty documents hold no tokens and open no sequence
        seq = np.zeros(piece_len.size, dtype=np.int64)
        off = np.zeros(piece_len.size, dtype=np.int64)
        seq[real], off[real] = _first_fit(piece_len[real], seq_len)
        n_seq = int(seq.max()) + 1 if real.any() else 0
        dest = seq * seq_len + off
    flat_ids = np.full(n_seq * seq_len, pad_id, dtype=tokens.dtype)
    flat_doc = np.full(n_seq * seq_len, -1, dtype=np.int64)
    flat_pos = np.zeros(n_seq * seq_len, dtype=np.int32)
    if total:
        within = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(piece_len) - piece_len,
                                                               piece_len)
        to = np.repeat(dest, piece_len) + within
        flat_ids[to] = tokens[np.repeat(piece_src, piece_len) + within]
        flat_doc[to] = np.repeat(piece_doc + first_doc, piece_len)
        flat_pos[to] = np.repeat(piece_pos, piece_len) + within
    shape = (n_seq, seq_len)
    return Packed(flat_ids.reshape(shape), flat_doc.reshape(shape), flat_pos.reshape(shape), total)

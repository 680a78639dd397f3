"""Exact substring dedup: spans of at least ``min_tokens`` tokens that occur twice in a corpus.

Tokens (:func:`tokenize`). The text is read as given (no normalization). A token is one of:
a maximal run of word characters (Unicode letters, digits, combining marks and ``_``) outside
the CJK scripts; one CJK character (Han ideographs, Hiragana, Katakana, CJK compatibility
ideographs: these scripts write no spaces, so each character is a token); one other character
that is not white space (punctuation, symbols, emoji: one token per code point). White space
separates tokens and is never part of one, so two spans match when their token sequences are
equal whatever the white space between the tokens.

Spans (:func:`substring_spans`). A token of a document is *covered* when it lies in a window of
``min_tokens`` consecutive tokens of that document whose token sequence also occurs at another
position of the corpus: in another document, or elsewhere in the same document (overlapping
occurrences count: ``a a a a`` repeats ``a a a`` at the next token). A span is a maximal run of
covered tokens; it is reported as (document, start, end) with ``start`` the character offset of
its first token and ``end`` the offset just after its last token: 0-based Unicode code point
offsets into the original text, end exclusive (Python ``text[start:end]``; in SQL
``substring(text, start + 1, end - start)``). Every occurrence is reported, the first included:
dropping them all (``remove_substring_spans``) is what Lee et al. (2021, "Deduplicating Training Data
Makes Language Models Better") do; keep one copy by filtering the spans yourself.

Method. Each token becomes an id (a dictionary built in document order, id 0 separating
documents), the ids of all documents form one uint32 array, its suffix array is built with
libdivsufsort (``pydivsufsort``) and its LCP array with Kasai's algorithm. A suffix whose LCP
with a neighbour in suffix order is at least ``min_tokens`` starts a repeated window (when the
window stays inside its document); the windows' union gives the covered tokens.

Chunks. One array holds at most ``max_tokens`` tokens. A larger corpus is cut, at document
boundaries, into chunks of at most ``max_tokens // 2`` tokens, and the array of every pair of
chunks is built in turn (a repeat inside one chunk is found in any pair holding it), so repeats
between two chunks are found too: n (n - 1) / 2 arrays for n chunks, each within the memory
bound.

Memory. Before building anything the input's size is compared with the budget (about 3 bytes per
text byte: the engine's copy and the Python strings); after tokenizing, the arrays' estimate
(:data:`BYTES_PER_TOKEN` per token of the largest array, plus the dictionary) is. Either over
``memory_budget`` fails with the estimate and the knobs (the connection's budget,
``max_tokens``) before the memory is taken.
"""

from __future__ import annotations

import re
import sys
from array import array
from collections import defaultdict
from itertools import count

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import ResourceError

_CJK = ("\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
        "\U00020000-\U0002fa1f")
#: One token: a CJK character, a run of word characters (letters, digits, marks, ``_``) outside
#: CJK, or any other non-space character.
TOKEN_RE = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])[\w\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff"
                      rf"\u20d0-\u20ff\ufe20-\ufe2f\u0900-\u0dff])+|[^\s\w]|_")
#: Default minimum span length, in tokens.
MIN_TOKENS = 50
#: Default capacity of one suffix array, in tokens (about 2.4 GB of arrays at its peak).
MAX_TOKENS = 100_000_000
#: Peak bytes per token of one array: ids, suffix array and LCP (int32) and the working copies
#: libdivsufsort and Kasai's algorithm take, measured (bench/substring.py).
BYTES_PER_TOKEN = 28
#: Bytes per text byte held before tokenizing: the engine's list, the Arrow copy, the strings.
BYTES_PER_INPUT_BYTE = 3
_FIELDS = pa.struct([("doc", pa.int32()), ("span_start", pa.int64()), ("span_end", pa.int64())])


def tokenize(text: str) -> list[tuple[int, int]]:
    """(start, end) code point offsets of each token of ``text`` (see the module docstring)."""
    return [m.span() for m in TOKEN_RE.finditer(text)]


def _offsets(text: str, wanted: set) -> dict[int, tuple[int, int]]:
    """(start, end) of the tokens of ``text`` whose index is in ``wanted``."""
    return {i: m.span() for i, m in enumerate(TOKEN_RE.finditer(text)) if i in wanted}


class MemoryBudgetError(ResourceError):
    """The estimate of a buffering step exceeds the connection's memory budget."""


def _refuse(what: str, need: int, budget: int) -> None:
    raise MemoryBudgetError(
        f"exact_substring_spans: {what} needs an estimated {need / 2**20:,.0f} MiB, more than "
        f"the memory budget of {budget / 2**20:,.0f} MiB; raise the budget "
        "(corpusql.connect(memory_budget=...) or corpusql.set_memory_budget), or lower "
        f"max_tokens (the tokens of one suffix array; {BYTES_PER_TOKEN} bytes each) to cut the "
        "corpus into chunks, or run it on part of the corpus")


def _ids(texts, budget: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of every document in one array (0 after each document) and document starts.

    ``texts`` is a sequence of str or None (a Python list, or a pyarrow string array read one
    document at a time so the whole corpus is never held as Python strings).
    """
    vocab: defaultdict[str, int] = defaultdict(count(1).__next__)  # ids in order of first use
    ids = array("I")  # 4 bytes a token, never a Python object per token
    starts = []
    for text in _iter_texts(texts):
        starts.append(len(ids))
        if text:
            ids.extend(map(vocab.__getitem__, TOKEN_RE.findall(text)))
        ids.append(0)
    starts.append(len(ids))
    vocab_bytes = sys.getsizeof(vocab) + sum(sys.getsizeof(k) for k in vocab)
    del vocab
    if budget is not None and vocab_bytes > budget:
        _refuse("the token dictionary", vocab_bytes, budget)
    return np.frombuffer(ids, dtype=np.uint32), np.array(starts, np.int64)


def _iter_texts(texts):
    if isinstance(texts, (pa.Array, pa.ChunkedArray)):
        for i in range(len(texts)):
            yield texts[i].as_py()
    else:
        yield from texts


def _text(texts, d: int) -> str:
    return texts[d].as_py() if isinstance(texts, (pa.Array, pa.ChunkedArray)) else texts[d]


def suffix_array(tok: np.ndarray) -> np.ndarray:
    """The suffix array of a uint32 token array, by libdivsufsort over a byte encoding.

    Each id is written as ``w`` big-endian bytes, ``w`` the fewest that hold the largest id, so
    the byte order of two suffixes that start at token boundaries is their token order; the
    byte suffix array is sorted once and its entries at multiples of ``w`` (read in blocks, so
    no temporary array of the byte suffix array's size) divided by ``w`` are the token suffix
    array. Peak: ``w`` + 4 ``w`` + 4 bytes per token (``w`` = 3 up to 16.7 million distinct
    tokens) instead of the 32 measured for pydivsufsort's own uint32 path.
    """
    from pydivsufsort import divsufsort

    n = len(tok)
    top = int(tok.max()) if n else 0
    width = 1 if top < 1 << 8 else 2 if top < 1 << 16 else 3 if top < 1 << 24 else 4
    enc = np.empty((n, width), dtype=np.uint8)
    for b in range(width):
        enc[:, b] = tok >> np.uint32(8 * (width - 1 - b))  # the low byte of the shifted id
    sa_bytes = divsufsort(enc.reshape(-1))
    del enc
    if width == 1:
        return sa_bytes
    out = np.empty(n, dtype=sa_bytes.dtype)
    at, block = 0, 1 << 22
    for lo in range(0, len(sa_bytes), block):
        part = sa_bytes[lo:lo + block]
        keep = part[part % width == 0] // width
        out[at:at + len(keep)] = keep
        at += len(keep)
    return out


def _covered(tok: np.ndarray, doc_starts: np.ndarray, min_tokens: int) -> np.ndarray:
    """Bool per position of ``tok``: inside a ``min_tokens`` window that occurs twice.

    ``doc_starts`` holds each document's first position and, last, ``len(tok)``; each document
    ends with its separator (id 0), and a window must end before it.
    """
    from pydivsufsort import kasai

    n, k = len(tok), min_tokens
    if n < k + 1:
        return np.zeros(n, dtype=bool)
    sa = suffix_array(tok)
    lcp = kasai(tok, sa)  # lcp[i]: common prefix of suffixes sa[i] and sa[i + 1]
    rep = lcp >= k
    del lcp
    rep[1:] |= rep[:-1]  # a neighbour on either side in suffix order
    marked = np.zeros(n, dtype=bool)
    marked[sa[rep]] = True  # windows [p, p + k) that occur twice (maybe across a separator)
    del sa, rep
    for end in (doc_starts[1:] - 1).tolist():  # keep the windows that end before the separator
        marked[max(0, end - k + 1):end + 1] = False
    seen = np.cumsum(marked, dtype=np.int32)  # marked starts up to each position
    covered = seen > 0
    covered[k:] = seen[k:] > seen[:-k]  # a marked start in (j - k, j]
    return covered


def _chunks(doc_starts: np.ndarray, cap: int) -> list[tuple[int, int]]:
    """Contiguous document ranges [d0, d1) of at most ``cap`` tokens (separators included)."""
    out, d0 = [], 0
    n = len(doc_starts) - 1
    for d in range(n):
        size = doc_starts[d + 1] - doc_starts[d]
        if size > cap:
            raise ValueError(f"exact_substring_spans: document #{d + 1} (in id order) has "
                             f"{size - 1} tokens, more than max_tokens // 2 = {cap}; raise "
                             "max_tokens")
        if doc_starts[d + 1] - doc_starts[d0] > cap:
            out.append((d0, d))
            d0 = d
    out.append((d0, n))
    return out


def covered_tokens(tok: np.ndarray, doc_starts: np.ndarray, min_tokens: int,
                   max_tokens: int) -> np.ndarray:
    """Bool per position of ``tok`` (all documents): covered, one array or chunk pairs."""
    n = len(tok)
    if n <= max_tokens:
        return _covered(tok, doc_starts, min_tokens)
    chunks = _chunks(doc_starts, max_tokens // 2)
    out = np.zeros(n, dtype=bool)
    pairs = [(a, b) for i, a in enumerate(chunks) for b in chunks[i + 1:]] or [(chunks[0],)]
    for ranges in pairs:  # every pair of chunks: within-chunk repeats are found in each pair
        pieces = [(int(doc_starts[d0]), int(doc_starts[d1])) for d0, d1 in ranges]
        sub = np.concatenate([tok[p0:p1] for p0, p1 in pieces])
        lengths = np.concatenate([np.diff(doc_starts[d0:d1 + 1]) for d0, d1 in ranges])
        sub_starts = np.concatenate([[0], np.cumsum(lengths)])
        cov = _covered(sub, sub_starts, min_tokens)
        at = 0
        for p0, p1 in pieces:
            out[p0:p1] |= cov[at:at + p1 - p0]
            at += p1 - p0
    return out


def spans_of(texts: list, min_tokens: int = MIN_TOKENS, max_tokens: int = MAX_TOKENS,
             memory_budget: int | None = None) -> list[tuple[int, int, int]]:
    """(document index, start, end) of every span (module docstring), sorted."""
    if min_tokens < 1:
        raise ValueError(f"exact_substring_spans: min_tokens := {min_tokens} must be at least 1")
    if max_tokens < 2 * (min_tokens + 1):
        raise ValueError(f"exact_substring_spans: max_tokens := {max_tokens} must be at least "
                         f"2 * (min_tokens + 1) = {2 * (min_tokens + 1)}")
    size = (pc.sum(pc.binary_length(texts)).as_py() or 0
            if isinstance(texts, (pa.Array, pa.ChunkedArray)) else
            sum(len(t) for t in texts if t))
    if memory_budget is not None and size * BYTES_PER_INPUT_BYTE > memory_budget:
        _refuse(f"a corpus of about {size:,} bytes of text", size * BYTES_PER_INPUT_BYTE, memory_budget)
    tok, doc_starts = _ids(texts, memory_budget)
    one = min(len(tok), max_tokens)
    need = one * BYTES_PER_TOKEN + len(tok) * 6  # + the ids and the coverage of the corpus
    if memory_budget is not None and need > memory_budget:
        _refuse(f"a corpus of {len(tok):,} tokens ({size:,} bytes of text)", need, memory_budget)
    cov = covered_tokens(tok, doc_starts, min_tokens, max_tokens)
    del tok
    edges = np.diff(np.concatenate([[0], cov.astype(np.int8), [0]]))
    run_starts, run_ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    docs = np.searchsorted(doc_starts, run_starts, side="right") - 1
    out = []
    bounds = np.flatnonzero(np.diff(docs)) + 1  # runs come in position order: grouped by doc
    for lo, hi in zip([0, *bounds.tolist()], [*bounds.tolist(), len(docs)]):
        if lo == hi:  # no span at all
            continue
        d = int(docs[lo])
        base = int(doc_starts[d])
        firsts = (run_starts[lo:hi] - base).tolist()
        lasts = (run_ends[lo:hi] - 1 - base).tolist()
        offs = _offsets(_text(texts, d), set(firsts) | set(lasts))
        out.extend((d, offs[f][0], offs[t][1]) for f, t in zip(firsts, lasts))
    return out


def substring_spans(texts: pa.Array, *, min_tokens: int = MIN_TOKENS,
                    max_tokens: int = MAX_TOKENS, memory_budget: int | None = None) -> pa.Array:
    """Spans of at least min_tokens tokens that occur elsewhere in the corpus (a list of texts).

    Each row is one whole corpus: a list of texts. Gives a list of (doc, span_start, span_end):
    doc is the 0-based position of the text in the list, span_start and span_end 0-based code
    point offsets (end exclusive) of a maximal run of tokens each inside a window of min_tokens
    tokens whose token sequence also occurs at another position of the corpus (another text or
    the same one). Tokens: runs of word characters, one CJK character, one other non-space
    character (corpusql.udfs.substring). Suffix array (libdivsufsort) + LCP over token ids; more
    than max_tokens tokens are cut into chunks whose every pair is compared. A corpus whose
    estimate exceeds the memory budget fails first, naming the knobs. NULL texts have no tokens.
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    out = []
    for row in range(len(texts)):
        if not texts[row].is_valid:
            out.append(None)
            continue
        spans = spans_of(texts[row].values, min_tokens=min_tokens, max_tokens=max_tokens,
                         memory_budget=memory_budget)
        out.append([{"doc": d, "span_start": s, "span_end": e} for d, s, e in spans])
    return pa.array(out, pa.list_(_FIELDS))


def remove_substring_spans(text: pa.Array, spans: pa.Array) -> pa.Array:
    """The text without the characters of the given spans: a list of [start, end] pairs.

    start and end are 0-based code point offsets, end exclusive (exact_substring_spans' start
    and end); overlapping spans are merged; the rest of the text is kept as it is, nothing
    inserted. NULL or empty spans give the text unchanged; NULL text gives NULL. A span outside
    the text or with end < start is an error naming it.
    """
    out = []
    for value, pairs in zip(text.to_pylist(), spans.to_pylist()):
        if value is None or not pairs:
            out.append(value)
            continue
        cuts = sorted(tuple(p) for p in pairs if p is not None)
        keep, at = [], 0
        for pair in cuts:
            if len(pair) != 2 or None in pair or not 0 <= pair[0] <= pair[1] <= len(value):
                raise ValueError(f"remove_substring_spans: span {list(pair)} is not [start, end] with "
                                 f"0 <= start <= end <= {len(value)} (the text's length)")
            s, e = pair
            if s > at:
                keep.append(value[at:s])
            at = max(at, e)
        keep.append(value[at:])
        out.append("".join(keep))
    return pa.array(out, pa.string())

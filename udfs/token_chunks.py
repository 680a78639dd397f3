"""Exact token counts and ids of long texts, encoded in bounded chunks.

Definitions. A *cut* at character position ``p`` splits a text ``t`` into ``t[:p]`` and
``t[p:]``. A cut is *safe* for a tokenizer when the token count of ``t`` equals the sum of the
counts of the two parts (``add_special_tokens=False`` throughout). ``tokenizers`` encodes a text
in stages: added tokens (``<|endoftext|>``, ``[CLS]`` ...) are matched first, the normalizer
rewrites the rest, the pre-tokenizer splits it into pieces and the model encodes each piece on
its own (BPE merges, WordPiece and Unigram never cross a piece boundary). A cut is therefore safe
where (1) no added token occurs within a few characters of it or of the whitespace runs next
to the token, (2) the normalizer maps characters without looking across the cut, and (3) the
pre-tokenizer puts a piece boundary there in the whole text and in each part. The rules for (3),
chosen from the tokenizer.json:

- ``ByteLevel`` (GPT-2's regex, no prefix space; normalizer none, NFC, NFD or Lowercase): before
  the last whitespace character of a run, that is before an ASCII whitespace character followed
  by a non-whitespace one (the regex gives ``\\s+(?!\\S)`` the run minus its last character and
  the next piece starts with it); and between an ASCII or CJK letter and an ASCII or CJK
  punctuation mark or digit (the regex's letter, number and punctuation classes never share a
  piece). With ``add_prefix_space`` only before a space followed by non-whitespace, so the
  second part starts with the space the pre-tokenizer would otherwise prepend.
- ``Whitespace``, ``WhitespaceSplit``, ``BertPreTokenizer``: before a space, tab, CR or LF
  (whitespace is a separator, dropped from every piece).
- ``Metaspace`` with ``split``: before a space (it becomes the marker that starts the next
  piece, so no marker is prepended to the second part).
- ``Split`` on the regex of GPT-2, cl100k_base (GPT-4, Llama 3) or Qwen2, isolated: before a
  single space between a non-whitespace character and a letter (every alternative of these
  regexes that can hold that space starts with it, and none looks past it).
- ``Sequence``: the rule of its first pre-tokenizer; the later ones work piece by piece, and
  none of them may prepend a space or marker (ByteLevel with ``add_prefix_space``, Metaspace
  with ``prepend_scheme`` 'first').

For these, normalizers that map each character independently are allowed (NFC, NFD, NFKC, NFKD,
Lowercase, StripAccents, BertNormalizer, Nmt, Sequence of them). Anything else (no
pre-tokenizer, ``Split`` on another regex, ``ByteLevel`` without its regex, ``Precompiled`` or
``Replace`` normalizers, BPE dropout) has no plan, and the text is encoded whole. Chunks end at
the last safe cut at or before ``CHUNK_CHARS`` characters (or the first one after, when there is
none); a chunk longer than that, up to a whole text without a safe cut, is encoded only when its
estimated memory (``BYTES_PER_BYTE`` per UTF-8 byte) fits in the memory budget.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

from . import memory

CHUNK_CHARS = 1 << 16       # target chunk length in characters
GROUP_CHARS = 1 << 18       # characters encoded per encode_batch call (bounds memory in flight)
BYTES_PER_BYTE = 250        # peak memory of one encode per UTF-8 byte of input (measured
                            # 93 for CJK, 182 for English, 202 for emoji; plus a margin)

_ASCII_WS = "\t\n\x0b\x0c\r "
_LETTER = "A-Za-z\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff\uac00-\ud7a3"
_PUNCT_OR_DIGIT = "!-/0-9:-@\\[-`{-~\u3001\u3002\u300c-\u300f\uff01\uff08\uff09\uff0c\uff0e\uff1a\uff1b\uff1f"
_BYTE_LEVEL = re.compile(f"(?=[{_ASCII_WS}]\\S)|(?<=[{_LETTER}])(?=[{_PUNCT_OR_DIGIT}])")
_BYTE_LEVEL_PREFIX = re.compile(r"(?= \S)")
_BEFORE_WS = re.compile("(?=[\t\n\r ])")
_BEFORE_SPACE = re.compile("(?= )")
_BEFORE_SPACE_LETTER = re.compile(f"(?<=\\S)(?= [{_LETTER}])")
# Split regexes of well-known byte-level BPEs (followed by ByteLevel without its own regex)
_KNOWN_SPLITS = {
    # GPT-2
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
    # cl100k_base (GPT-4, Llama 3)
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+",
    # Qwen2
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+",
}

_PER_CHAR = {"NFC", "NFD", "NFKC", "NFKD", "Lowercase", "StripAccents", "BertNormalizer", "Nmt"}
_NO_SPACE_INTRODUCED = {"NFC", "NFD", "Lowercase"}
_PIECEWISE = {"ByteLevel", "Metaspace", "Whitespace", "WhitespaceSplit", "BertPreTokenizer",
              "Digits", "Punctuation", "Split", "UnicodeScripts", "CharDelimiterSplit"}


@dataclass(frozen=True)
class Plan:
    """How to cut texts for one tokenizer: candidate cuts and the added tokens to stay clear of."""

    cuts: re.Pattern
    added: re.Pattern | None   # any added token's content, case-insensitive
    reach: int                 # characters to keep between a cut and an added token
    normalize: object | None   # the normalizer, when added tokens match normalized text
    name: str                  # the pre-tokenizer, for messages


def _normalizer_types(spec) -> list[str] | None:
    if spec is None:
        return []
    if spec.get("type") == "Sequence":
        out: list[str] = []
        for sub in spec.get("normalizers", []):
            types = _normalizer_types(sub)
            if types is None:
                return None
            out += types
        return out
    return [spec.get("type")]


def _rule(pre: dict, normalizers: list[str]) -> re.Pattern | None:
    kind = pre.get("type")
    if kind == "Sequence":
        parts = pre.get("pretokenizers", [])
        if not parts or any(p.get("type") not in _PIECEWISE for p in parts[1:]):
            return None
        if any(p.get("type") == "ByteLevel" and p.get("add_prefix_space")
               or p.get("type") == "Metaspace" and p.get("prepend_scheme") == "first"
               for p in parts[1:]):
            return None   # a later stage would treat the second part's first piece differently
        return _rule(parts[0], normalizers)
    if kind == "ByteLevel":
        if not pre.get("use_regex", True) or not set(normalizers) <= _NO_SPACE_INTRODUCED:
            return None
        return _BYTE_LEVEL_PREFIX if pre.get("add_prefix_space") else _BYTE_LEVEL
    if kind == "Split":
        known = (pre.get("pattern", {}).get("Regex") in _KNOWN_SPLITS
                 and pre.get("behavior") == "Isolated" and not pre.get("invert"))
        return _BEFORE_SPACE_LETTER if known and set(normalizers) <= _NO_SPACE_INTRODUCED else None
    if not set(normalizers) <= _PER_CHAR:
        return None
    if kind in ("Whitespace", "WhitespaceSplit", "BertPreTokenizer"):
        return _BEFORE_WS
    if kind == "Metaspace" and pre.get("split", True):
        return _BEFORE_SPACE
    return None


def _state(component) -> dict | None:
    return None if component is None else json.loads(component.__getstate__())


def plan_for(tok) -> Plan | None:
    """The cut plan for a loaded ``tokenizers.Tokenizer``, or None when it must encode whole."""
    if getattr(tok.model, "dropout", None):
        return None
    pre = _state(tok.pre_tokenizer)
    normalizers = _normalizer_types(_state(tok.normalizer))
    if pre is None or normalizers is None:
        return None
    cuts = _rule(pre, normalizers)
    if cuts is None:
        return None
    added = [t for t in tok.get_added_tokens_decoder().values() if t.content]
    pattern = None
    if added:
        alternatives = sorted({re.escape(t.content) for t in added}, key=len, reverse=True)
        pattern = re.compile("|".join(alternatives), re.IGNORECASE)
    normalized = any(t.normalized for t in added) and tok.normalizer is not None
    reach = 2 * max((len(t.content) for t in added), default=0) + 8
    return Plan(cuts, pattern, reach, tok.normalizer if normalized else None, pre["type"])


_WS_RUN = re.compile(r"\s*")
_RUN_CAP = 4096   # longest whitespace run walked for a normalized added token's window


def _left_run(text: str, i: int, cap: int | None = None) -> int:
    """Start of the whitespace run ending at ``i`` (``i`` itself when there is none)."""
    lo = i
    while lo > 0 and text[lo - 1].isspace() and (cap is None or i - lo < cap):
        lo -= 1
    return lo


def _zones(text: str, plan: Plan) -> list[tuple[int, int]]:
    """Merged, sorted [lo, hi] ranges in which no cut is made: around added tokens.

    A range covers an occurrence of an added token's content (case-insensitive), the whitespace
    runs on both sides (lstrip/rstrip swallow them) and ``plan.reach`` characters beyond, which
    also covers overlapping occurrences of other added tokens and single_word's neighbours.
    """
    if plan.added is None:
        return []
    zones = sorted((max(0, _left_run(text, m.start()) - plan.reach),
                    _WS_RUN.match(text, m.end()).end() + plan.reach)
                   for m in plan.added.finditer(text))
    merged: list[tuple[int, int]] = []
    for lo, hi in zones:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _allowed(text: str, p: int, plan: Plan, zones: list[tuple[int, int]]) -> bool:
    """Whether the candidate cut at ``p`` is clear of added tokens (raw and normalized)."""
    i = bisect.bisect_right(zones, (p, len(text) + 1)) - 1
    if i >= 0 and zones[i][0] <= p <= zones[i][1]:
        return False
    if plan.normalize is None:
        return True
    lo, hi = _left_run(text, p, _RUN_CAP), _WS_RUN.match(text, p, p + _RUN_CAP).end()
    if p - lo >= _RUN_CAP or hi - p >= _RUN_CAP:
        return False
    window = text[max(0, lo - plan.reach):hi + plan.reach]
    return not plan.added.search(plan.normalize.normalize_str(window))


def _last_cut(text: str, plan: Plan, zones, start: int, target: int) -> int | None:
    """The last safe cut in (start, target], looking back in growing windows."""
    span = 256
    while True:
        lo = max(start + 1, target - span)
        found = [m.start() for m in plan.cuts.finditer(text, lo, min(len(text), target + 2))]
        for p in reversed(found):
            if lo <= p <= target and _allowed(text, p, plan, zones):
                return p
        if lo == start + 1:
            return None
        span *= 16


def _next_cut(text: str, plan: Plan, zones, after: int) -> int | None:
    """The first safe cut after ``after``, or None."""
    for m in plan.cuts.finditer(text, after + 1):
        if _allowed(text, m.start(), plan, zones):
            return m.start()
    return None


def bounds(text: str, plan: Plan | None, *, chunk_chars: int = 0) -> Iterator[tuple[int, int]]:
    """(start, end) of consecutive chunks covering ``text``, each ending at a safe cut.

    Each chunk ends at the last safe cut within ``chunk_chars`` characters of its start, or at
    the first one after when there is none; without a plan the text is one chunk.
    """
    chunk_chars = chunk_chars or CHUNK_CHARS
    start, n = 0, len(text)
    zones = _zones(text, plan) if plan is not None and n > chunk_chars else []
    while plan is not None and n - start > chunk_chars:
        target = start + chunk_chars
        p = (_last_cut(text, plan, zones, start, target)
             or _next_cut(text, plan, zones, target))
        if p is None:
            break
        yield start, p
        start = p
    yield start, n


def _gb(n: float) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"


def check_fits(piece: str, text_chars: int, plan: Plan | None, budget: int | None,
               function: str, tokenizer: str) -> None:
    """Raise when encoding ``piece`` at once would exceed the memory budget (bytes)."""
    need = len(piece.encode("utf-8", "surrogatepass")) * BYTES_PER_BYTE
    room = memory.default_memory_budget()  # never more than the process can still get
    budget = room if budget is None else min(budget, room)
    if need <= budget:
        return
    n_chars = len(piece)
    why = (f"corpusql knows no safe cuts for tokenizer {tokenizer!r} (its pre-tokenizer or "
           f"normalizer is not one of those listed in docs/tokens-mix-split.md)"
           if plan is None else
           f"it has a stretch of {n_chars:,} characters with no safe place to cut "
           f"for tokenizer {tokenizer!r} (pre-tokenizer {plan.name}, e.g. no whitespace)")
    raise ValueError(
        f"{function}: a text of {text_chars:,} characters cannot be counted in bounded chunks: "
        f"{why}; encoding {n_chars:,} characters at once needs about {_gb(need)}, over the "
        f"memory budget of {_gb(budget)}. Raise the budget (corpusql."
        f"connect(memory_budget=...), corpusql.set_memory_budget(con, ...), or the kernel "
        f"argument memory_budget), or split the text before counting.")


def encode(tok, text: str, *, chunk_chars: int = 0, group_chars: int = 0,
           memory_budget: int | None = None, function: str = "token_count",
           tokenizer: str = "") -> Iterator:
    """Encodings (no special tokens) of the chunks of ``text``, in order; exact.

    Their ids, concatenated, are the ids of the whole text. Chunks are encoded ``group_chars``
    characters per ``encode_batch_fast`` call, so at most that much text is being encoded at
    once, besides a chunk longer than it (checked against the memory budget first).
    """
    group_chars = group_chars or GROUP_CHARS
    chunk_chars = chunk_chars or CHUNK_CHARS
    plan = plan_for(tok)
    group: list[str] = []
    size = 0
    for start, end in bounds(text, plan, chunk_chars=chunk_chars):
        piece = text[start:end]
        if end - start > chunk_chars:
            check_fits(piece, len(text), plan, memory_budget, function, tokenizer)
        group.append(piece)
        size += end - start
        if size >= group_chars:
            yield from tok.encode_batch_fast(group, add_special_tokens=False)
            group, size = [], 0
    if group:
        yield from tok.encode_batch_fast(group, add_special_tokens=False)


def count(tok, text: str, **options) -> int:
    """Token count of ``text`` (no special tokens), chunk by chunk; options as for encode."""
    return sum(len(e.ids) for e in encode(tok, text, **options))

"""A kept document beside a removed duplicate, with the words that differ highlighted.

Words are runs of non-space characters; the two word sequences are aligned with difflib's
SequenceMatcher (longest matching blocks, no junk heuristic). Equal runs longer than twice
``context`` words are shortened to their ends, so the differences stay in view. Only the first
``max_words`` words of each text are compared.
"""

from __future__ import annotations

import difflib
import re
from html import escape

MAX_WORDS = 1500
CONTEXT = 12
_WORD = re.compile(r"\S+")


def _equal(words: list[str], first: bool, last: bool, context: int) -> str:
    if len(words) <= 2 * context or (first and last):
        return escape(" ".join(words))
    head = [] if first else words[:context]
    tail = [] if last else words[-context:]
    skipped = len(words) - len(head) - len(tail)
    gap = f'<span class="gap">[{skipped:,} equal words]</span>'
    return " ".join(p for p in (escape(" ".join(head)), gap, escape(" ".join(tail))) if p)


def side_by_side(kept: tuple[str, str], removed: tuple[str, str], *,
                 max_words: int = MAX_WORDS, context: int = CONTEXT) -> str:
    """HTML of two columns: ``kept`` and ``removed`` as (id, text); differing words are marked
    (``<mark class="del">`` in the kept text, ``<mark class="ins">`` in the removed one)."""
    a = _WORD.findall(kept[1] or "")[:max_words]
    b = _WORD.findall(removed[1] or "")[:max_words]
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    left: list[str] = []
    right: list[str] = []
    n_diff = 0
    for k, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            first, last = k == 0, k == len(ops) - 1
            left.append(_equal(a[i1:i2], first, last, context))
            right.append(_equal(b[j1:j2], first, last, context))
            continue
        n_diff += max(i2 - i1, j2 - j1)
        if i2 > i1:
            left.append(f'<mark class="del">{escape(" ".join(a[i1:i2]))}</mark>')
        if j2 > j1:
            right.append(f'<mark class="ins">{escape(" ".join(b[j1:j2]))}</mark>')
    longest = max(len(_WORD.findall(kept[1] or "")), len(_WORD.findall(removed[1] or "")))
    cut = f" (first {max_words:,} words compared)" if longest > max_words else ""
    if n_diff:
        note = f"{n_diff:,} words differ{cut}"
    elif kept[1] != removed[1]:
        note = f"the same words{cut} (the texts differ only in spacing)"
    else:
        note = "identical texts"
    return (f'<p class="diffnote">{escape(note)}</p><div class="pair">'
            f'<div class="doc"><div class="dochead">kept: {escape(str(kept[0]))}</div>'
            f'{" ".join(left)}</div>'
            f'<div class="doc"><div class="dochead">removed: {escape(str(removed[0]))}</div>'
            f'{" ".join(right)}</div></div>')

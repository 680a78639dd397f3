"""text_fingerprint's compiled path equals the reference expression on every input tried.

The reference is the implementation it replaced, kept here as the slow definition:
BLAKE2b-128 (hashlib, one call per row) of ``text_normalize(text)`` (pyarrow's NFKC, lower,
RE2 punctuation and whitespace), or of the raw text with ``normalize=False``.
"""

from __future__ import annotations

import hashlib
import random

import pyarrow as pa
import pytest

from corpusql.udfs import fingerprint_jit
from corpusql.udfs.fingerprint_jit import fingerprint
from corpusql.udfs.hashing import text_fingerprint
from corpusql.udfs.text import text_normalize


@pytest.fixture(autouse=True)
def compiled_path(monkeypatch):
    """Every call takes the compiled kernel (small inputs would take the reference path)."""
    monkeypatch.setattr(fingerprint_jit, "COMPILE_AFTER", 0)


def test_small_jobs_start_on_the_reference_path(monkeypatch):
    monkeypatch.setattr(fingerprint_jit, "COMPILE_AFTER", 100)
    monkeypatch.setattr(fingerprint_jit, "_seen", 0)
    monkeypatch.setattr(fingerprint_jit, "normalized_digests", None)  # must not be called
    values = pa.array(["Hello,  WORLD!", None, "日本語"])
    assert fingerprint(values).to_pylist() == reference(values)
    monkeypatch.setattr(fingerprint_jit, "normalized_digests", _fail)
    with pytest.raises(AssertionError, match="compiled"):
        fingerprint(pa.array(["x" * 200]))  # past COMPILE_AFTER: the compiled kernel


def _fail(*args):
    raise AssertionError("compiled kernel called")


def reference(text: pa.Array, normalize: bool = True) -> list[str | None]:
    if normalize:
        text = text_normalize(text)
    return [None if v is None else hashlib.blake2b(v.encode(), digest_size=16).hexdigest()
            for v in text.to_pylist()]


def check(values: list[str | None], modes: tuple[bool, ...] = (True, False)) -> None:
    arr = pa.array(values, pa.string())
    for normalize in modes:
        got = text_fingerprint(arr, normalize=normalize).to_pylist()
        want = reference(arr, normalize)
        bad = [(v, g, w) for v, g, w in zip(values, got, want) if g != w]
        assert not bad, f"normalize={normalize}: {len(bad)} rows differ, first: {bad[0]!r}"


BMP = [c for c in range(0x10000) if not 0xD800 <= c < 0xE000]


def test_every_bmp_code_point_alone_and_in_context():
    chars = [chr(c) for c in BMP]
    check(chars)
    # after a base letter and before a combining accent, a Hangul vowel jamo and a space
    check(["A" + ch + "\u0301" + "\u1100" + ch + "\u1161 x" + ch + "\u3131\u314f" + ch
           for ch in chars], modes=(True,))


SAMPLES = [
    "Hello,  WORLD!", "Héllo — Wörld…", "ＦＵＬＬ　ｗｉｄｔｈ ２０２４", "日本語、テキスト。",
    "e\u0301t\u00e9", "ΟΔΟΣ Σ ς", "İstanbul ǅ ﬁ ﬀ ½ ² ㎏ ㍿", "\u3131\u314f \u1100\u1161\u11a8 가\u11a8",
    "\u0b47\u0b3e \u0dd9\u0dcf", "emoji 🎉 here 👩‍👩‍👧", "\v\x1c a \x85 b \u2028", "\t\n\r\f ",
    "", " ", "...", "a\u0000b", "x" * 5000 + "\u00e9" * 3000, "Привет, мир!", "مرحبا بالعالم",
    "नमस्ते दुनिया", "\ufdfa", "\u1e9b\u0323", "Å Å Å", "\uff21\uff22\u3000\uff23",
]


def test_samples_and_nulls():
    check(SAMPLES + [None, None] + SAMPLES[::-1])
    check([None])
    check([])


@pytest.mark.parametrize("seed", range(4))
def test_random_mixed_script_text(seed):
    rng = random.Random(seed)
    pools = [
        [chr(c) for c in range(0x80)],
        [chr(c) for c in range(0x80, 0x250)],
        [chr(c) for c in range(0x300, 0x370)],          # combining marks
        [chr(c) for c in range(0x370, 0x530)],          # Greek, Cyrillic
        [chr(c) for c in range(0x900, 0x980)],          # Devanagari
        [chr(c) for c in range(0x1100, 0x1200)],        # conjoining jamo
        [chr(c) for c in range(0x2000, 0x2070)],        # spaces, punctuation
        [chr(c) for c in range(0x3000, 0x3100)],        # CJK punctuation, kana
        [chr(c) for c in range(0x3130, 0x3190)],        # compatibility jamo
        [chr(c) for c in range(0x4E00, 0x4F00)],        # Han
        [chr(c) for c in range(0xAC00, 0xAD00)],        # Hangul syllables
        [chr(c) for c in range(0xFB00, 0xFB50)],        # ligatures
        [chr(c) for c in range(0xFF00, 0xFFF0)],        # fullwidth forms
        ["\U0001F389", "\U0001D400", "\U00020000", "\U0001F1EB\U0001F1F7"],
        [" ", "  ", "\t", ",", ".", "!", "-", "_"],
    ]
    values = []
    for _ in range(3000):
        chosen = rng.sample(pools, rng.randint(1, 4))
        values.append("".join(rng.choice(rng.choice(chosen)) for _ in range(rng.randint(0, 60))))
    values += [None] * 50
    rng.shuffle(values)
    check(values)


def test_chunked_sliced_and_large_string_inputs():
    values = SAMPLES * 3 + [None]
    want = reference(pa.array(values, pa.string()))
    chunked = pa.chunked_array([pa.array(values[:10], pa.string()),
                                pa.array(values[10:], pa.string())])
    assert fingerprint(chunked).to_pylist() == want
    assert fingerprint(pa.array(values, pa.large_string())).to_pylist() == want
    sliced = pa.array(["pad"] + values + ["pad"], pa.string()).slice(1, len(values))
    assert fingerprint(sliced).to_pylist() == want
    assert fingerprint(pa.chunked_array([], pa.string())).to_pylist() == []


def test_ascii_fast_path_beside_the_general_one():
    """Every string of up to 4 characters over ASCII letters, spaces, controls that trim strips
    and punctuation, mixed with non-ASCII starters (which take the general path): leading,
    trailing and repeated separators fold the same way on both paths."""
    import itertools

    alphabet = ["a", "Q", " ", "\t", "\x1c", "\x00", ".", "_", "é", "\u3000", "Ａ", "\u2028"]
    values = ["".join(p) for n in range(5) for p in itertools.product(alphabet, repeat=n)]
    check(values, modes=(True,))

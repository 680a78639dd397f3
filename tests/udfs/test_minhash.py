"""MinHash kernels: parity with datasketch 2.0, LSH parameters, S-curve, Jaccard, edge cases."""

from __future__ import annotations

import unicodedata

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash
from datasketch.lsh import _optimal_param

from corpusql.udfs import graph as G
from corpusql.udfs import minhash as M
from corpusql.udfs import shingles as S

TEXTS = [
    "Hello, World! The quick brown fox jumps over 123 lazy dogs.",
    None,
    "",
    "  ..  !!",
    "short text",
    "今日は良い天気ですね。東京に行きます。明日も晴れるでしょう",
    "Café naïve résumé déjà vu, and more words here: ok?",
    "a b c d e f g",
    "x1.5y  \t\n z__  ",
    "٣٤5 a\u00a0b € «z» 😀 e\u0301",
    "word " * 40,
]


def _reference_shingles(norm: str | None, n: int, unit: str) -> list[int] | None:
    """Shingle hashes the slow, obvious way: split the normalized text, hash each shingle."""
    if not norm:
        return None
    units = norm.split(" ") if unit == "word" else list(norm)
    sep = " " if unit == "word" else ""
    if len(units) < n:
        return [S.shingle_hash(norm.encode())]
    return [S.shingle_hash(sep.join(units[i:i + n]).encode()) for i in range(len(units) - n + 1)]


def test_normalize_follows_datatrove_steps():
    got = S.minhash_normalize(pa.array(TEXTS)).to_pylist()
    assert got[0] == "hello world the quick brown fox jumps over 0 lazy dogs"
    assert got[1] is None
    assert got[2] == got[3] == ""
    assert got[5].startswith("今日は良い天気ですね 東京")  # kana voicing marks survive
    assert got[6] == "cafe naive resume deja vu and more words here ok"
    assert got[8] == "x0 0y z"
    assert got[9] == "0 a b z e"


def _reference_normalize(text: str | None) -> str | None:
    """minhash_normalize's definition, one code point at a time with Python's unicodedata."""
    if text is None:
        return None
    text = pc.utf8_lower(pa.array([text]))[0].as_py()  # Arrow's case mapping, as the kernel
    text = unicodedata.normalize("NFD", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Mn" or c in "\u3099\u309a")
    text = unicodedata.normalize("NFC", text)
    out, prev = [], "space"  # a space at the start is dropped
    for c in text:
        cat = unicodedata.category(c)
        if cat == "Nd":
            if prev != "digit":
                out.append("0")
            prev = "digit"
        elif cat[0] in "PSZ" or cat == "Cc" or (c.isascii() and not c.isalnum()):
            if prev != "space":
                out.append(" ")
            prev = "space"
        else:
            out.append(c)
            prev = "other"
    return "".join(out).rstrip(" ")


def _every_code_point_in_context() -> list[str]:
    texts = []
    for start in range(0, 0x30000, 0x400):
        chars = [chr(cp) for cp in range(start, start + 0x400) if not 0xD800 <= cp <= 0xDFFF]
        texts.append(" ".join(f"a{c}b x{c}{c}y 1{c}2 {c}" for c in chars))
    return texts


def test_normalize_matches_the_definition_on_every_code_point():
    texts = _every_code_point_in_context()
    got = S.minhash_normalize(pa.array(texts)).to_pylist()
    for text, g in zip(texts, got):
        want = _reference_normalize(text)
        if g != want:
            first = next(i for i, (x, y) in enumerate(zip(g, want)) if x != y)
            pytest.fail(f"block at U+{ord(text[1]):04X}: ...{g[first - 20:first + 20]!r} != "
                        f"...{want[first - 20:first + 20]!r}")


def test_normalize_matches_the_definition_on_the_sample():
    from corpusql.demo import sample_path

    texts = pq.read_table(sample_path(), columns=["text"])["text"].to_pylist()
    got = S.minhash_normalize(pa.array(texts)).to_pylist()
    assert got == [_reference_normalize(t) for t in texts]


@pytest.mark.parametrize("unit", ["word", "char"])
@pytest.mark.parametrize("ngram", [1, 3, 5])
def test_vectorized_shingles_match_reference(unit, ngram):
    norm = S.minhash_normalize(pa.array(TEXTS)).to_pylist()
    got = S.shingle_hashes(pa.array(TEXTS), ngram=ngram, unit=unit).to_pylist()
    assert got == [_reference_shingles(t, ngram, unit) for t in norm]


@pytest.mark.parametrize("scheme", ["affine32", "legacy"])
@pytest.mark.parametrize("num_perm,seed", [(128, 1), (64, 7), (16, 0)])
def test_signature_parity_with_datasketch(scheme, num_perm, seed):
    arr = pa.array(TEXTS)
    hashes = S.shingle_hashes(arr).to_pylist()
    sigs = M.minhash_signature(arr, num_perm=num_perm, seed=seed, scheme=scheme).to_pylist()
    for hs, sig in zip(hashes, sigs):
        if hs is None:
            assert sig is None
            continue
        ref = MinHash(num_perm=num_perm, seed=seed, hashfunc=lambda v: v, scheme=scheme)
        ref.update_batch(hs)
        assert sig == [int(v) for v in ref.hashvalues]


def test_permutations_match_datasketch():
    for scheme in ("affine32", "legacy"):
        a, b = M.permutations(32, 5, scheme)
        ref = MinHash(num_perm=32, seed=5, scheme=scheme).permutations
        assert [int(v) for v in a] == [int(v) for v in ref[0]]
        assert [int(v) for v in b] == [int(v) for v in ref[1]]


@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_params_match_datasketch(threshold, num_perm):
    b, r, fp, fn = M.optimal_params(threshold, num_perm)
    assert (b, r) == _optimal_param(threshold, num_perm, 0.5, 0.5)
    assert 0 <= fp <= threshold and 0 <= fn <= 1 - threshold


@pytest.mark.parametrize("fn_weight", [0.2, 0.9])
def test_weighted_params_match_datasketch(fn_weight):
    for threshold in (0.5, 0.8):
        b, r, _, _ = M.optimal_params(threshold, 128, 1 - fn_weight, fn_weight)
        assert (b, r) == _optimal_param(threshold, 128, 1 - fn_weight, fn_weight)
    out = M.minhash_params(pa.array([0.8]), fn_weight=0.9).to_pylist()[0]
    assert (out["bands"], out["rows"]) == _optimal_param(0.8, 128, 0.1, 0.9)


def test_params_kernel_and_range():
    out = M.minhash_params(pa.array([0.8, None, 0.5]), num_perm=128).to_pylist()
    assert (out[0]["bands"], out[0]["rows"]) == (9, 13)
    assert out[1] is None
    with pytest.raises(ValueError, match=r"threshold = 1.5 is out of range \(0, 1\]"):
        M.minhash_params(pa.array([1.5]))
    with pytest.raises(ValueError, match="out of range"):
        M.minhash_params(pa.array([0.0]))


def _pair_with_jaccard(rng, size: int, s: float) -> tuple[np.ndarray, np.ndarray]:
    """Two sets of 32-bit hashes of equal size sharing enough values for Jaccard about s."""
    shared = round(size * 2 * s / (1 + s))
    pool = rng.choice(2**32, size=2 * size, replace=False).astype(np.uint32)
    a = pool[:size]
    b = np.concatenate((a[:shared], pool[size: 2 * size - shared]))
    return a, b


def test_s_curve_matches_banding_probability():
    rng = np.random.default_rng(42)
    bands, rows, pairs = 16, 8, 400
    for s in (0.4, 0.6, 0.7, 0.8, 0.9):
        hashes, lengths, true_s = [], [], []
        for _ in range(pairs):
            a, b = _pair_with_jaccard(rng, 120, s)
            hashes += [a, b]
            lengths += [len(a), len(b)]
            inter = len(np.intersect1d(a, b))
            true_s.append(inter / (len(a) + len(b) - inter))
        sig = M.signatures_from_hashes(np.concatenate(hashes), np.array(lengths),
                                       num_perm=bands * rows, seed=3)
        lists = pa.array(list(sig), type=pa.list_(pa.uint32()))
        keys = np.array(M.minhash_bands(lists, bands=bands, rows=rows).to_pylist())
        hit = (keys[0::2] == keys[1::2]).any(axis=1).mean()
        s_true = float(np.mean(true_s))
        p = 1 - (1 - s_true**rows) ** bands
        assert abs(hit - p) <= 4 * np.sqrt(p * (1 - p) / pairs) + 0.01, (s, hit, p)


def test_minhash_jaccard_estimates_jaccard():
    rng = np.random.default_rng(1)
    a, b = _pair_with_jaccard(rng, 2000, 0.6)
    sig = M.signatures_from_hashes(np.concatenate((a, b)), np.array([len(a), len(b)]),
                                   num_perm=256)
    lists = pa.array(list(sig), type=pa.list_(pa.uint32()))
    est = M.minhash_jaccard(lists[:1], lists[1:]).to_pylist()[0]
    assert abs(est - 0.6) < 4 * np.sqrt(0.6 * 0.4 / 256)
    both_null = M.minhash_jaccard(pa.array([None], pa.list_(pa.uint32())), lists[:1])
    assert both_null.to_pylist() == [None]


def test_exact_jaccard():
    a = pa.array(["a b c d e f", "x y z", None, "", "", "same text here"])
    b = pa.array(["a b c d e f g", "p q r", "x", "", "x", "Same, text here!"])
    got = M.jaccard(a, b, ngram=2).to_pylist()
    assert got[0] == pytest.approx(5 / 6)
    assert got[1] == 0.0
    assert got[2] is None  # NULL side
    assert got[3] is None  # both empty: undefined
    assert got[4] == 0.0
    assert got[5] == 1.0


def test_unit_auto_picks_char_for_cjk():
    cjk = "東京都は日本の首都であり人口が多い都市です"
    arr = pa.array([cjk, "plain english words only in this one ok"])
    auto = M.minhash_signature(arr, unit="auto").to_pylist()
    assert auto[0] == M.minhash_signature(arr[:1], unit="char").to_pylist()[0]
    assert auto[1] == M.minhash_signature(arr[1:], unit="word").to_pylist()[0]
    # a CJK text without spaces is one word: char shingles are what make it comparable
    near = pa.array([cjk, cjk[:-1] + "だ"])
    assert M.jaccard(near[:1], near[1:], unit="char", ngram=3).to_pylist()[0] > 0.8


def test_short_documents_give_one_shingle():
    hs = S.shingle_hashes(pa.array(["one two", "one two three four five"]), ngram=5).to_pylist()
    assert len(hs[0]) == 1 and len(hs[1]) == 1
    assert hs[0] != hs[1]


def test_signature_batch_invariant():
    arr = pa.array(TEXTS * 30)
    whole = M.minhash_signature(arr).to_pylist()
    parts = []
    for i in range(0, len(arr), 7):
        parts += M.minhash_signature(arr[i:i + 7]).to_pylist()
    assert whole == parts


def test_multi_megabyte_string():
    rng = np.random.default_rng(0)
    words = np.array(["alpha", "beta", "gamma", "delta", "épsilon", "ζeta", "東京"])
    big = " ".join(rng.choice(words, size=800_000))  # about 5 MB
    assert len(big.encode()) > 5_000_000
    arr = pa.array([big, "small one"])
    sig = M.minhash_signature(arr, num_perm=8).to_pylist()
    assert len(sig[0]) == 8 and len(sig[1]) == 8
    ref = MinHash(num_perm=8, hashfunc=lambda v: v)
    ref.update_batch(S.shingle_hashes(arr[:1]).to_pylist()[0])
    assert sig[0] == [int(v) for v in ref.hashvalues]


def test_bands_checks_length_and_nulls():
    sig = M.minhash_signature(pa.array(["some words to hash here", None]), num_perm=16)
    keys = M.minhash_bands(sig, bands=4, rows=4).to_pylist()
    assert len(keys[0]) == 4 and len(set(keys[0])) == 4 and keys[1] is None
    with pytest.raises(ValueError, match="exceeds the signature length 16"):
        M.minhash_bands(sig, bands=4, rows=5)


def test_connected_components():
    out = G.connected_components(pa.array([[0, 2, 5, 7], None]), pa.array([[1, 3, 2, 6], [1]]))
    assert out.to_pylist() == [[0, 0, 2, 2, 4, 2, 6, 6], None]
    rng = np.random.default_rng(5)
    u, v = rng.integers(0, 3000, 2500), rng.integers(0, 3000, 2500)
    labels = G._components(u, v)
    parent = list(range(len(labels)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(u, v):
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
    assert [find(x) for x in range(len(labels))] == labels.tolist()


def test_shingle_set_gives_exact_jaccard():
    a = pa.array(["a b c d e f a b", "x y z", None, "same text here"])
    b = pa.array(["a b c d e f g", "p q r", "x", "Same, text here!"])
    sa = S.shingle_set(a, ngram=2).to_pylist()
    sb = S.shingle_set(b, ngram=2).to_pylist()
    assert sa[0] == sorted(set(sa[0])) and sa[2] is None
    expect = M.jaccard(a, b, ngram=2).to_pylist()
    for x, y, j in zip(sa, sb, expect):
        if x is None or y is None:
            assert j is None
            continue
        inter = len(set(x) & set(y))
        assert inter / (len(x) + len(y) - inter) == pytest.approx(j)


def test_connected_components_ignores_edges_with_a_null_end():
    out = G.connected_components(pa.array([[0, None, 4]]), pa.array([[1, 2, None]]))
    assert out.to_pylist() == [[0, 0]]


@pytest.mark.parametrize("unit", ["word", "char"])
def test_long_units_hash_like_the_reference(unit):
    # words longer than the 256 cached powers of the hash base, and a text without spaces
    texts = [" ".join(["x" * 300, "yz" * 200, "short", "w" * 1000, "end", "again"]), "q" * 5000]
    norm = S.minhash_normalize(pa.array(texts)).to_pylist()
    got = S.shingle_hashes(pa.array(texts), ngram=5, unit=unit).to_pylist()
    assert got == [_reference_shingles(t, 5, unit) for t in norm]

"""Language identification: hashed character n-grams + multinomial naive Bayes, in numpy.

The model is trained by ``scripts/train_langid.py`` on the redistributable sources of the
project's development corpus (man pages, the Debian handbook and reference, Python and Perl
docs, GNU info, fortunes, the Jargon File, Debian READMEs and copyright files) and shipped as
``corpusql/udfs/data/langid.npz``; nothing is downloaded.

Features (:func:`ngram_buckets`, also used by the training script):

1. the first :data:`MAX_CHARS` code points of the text;
2. Unicode NFKC normalization (decomposed accents compose, full-width forms fold), lowercase;
   every run of code points that are not letters or marks (``\\p{L}``,
   ``\\p{M}``) becomes one space, and the text is padded with a space at both ends;
3. every character n-gram for n = 1..4 (over code points) is hashed with FNV-1a applied to its
   32-bit code points (offset basis 2166136261, prime 16777619, arithmetic mod 2**32), then
   ``h ^= h >> 15; h *= 0x2C1B3C6D; h ^= h >> 12`` (mod 2**32), and bucketed as
   ``h % 2**bits`` (``bits`` is stored in the model file, 16 by default).

Scoring: the naive Bayes log-likelihood of the bucket counts under each language (uniform prior),
divided by the number of n-grams (the mean log-likelihood per n-gram) and multiplied by a
temperature fitted on held-out data; ``score`` is the softmax of that over the languages, i.e.
a calibrated posterior probability of the top language.

Accuracy (scripts/train_langid.py, first 1,000 code points of each document; details and the
full table in bench/RESULTS.md "Language id"):

* held-out test documents (10% of the documents by a hash of their id, never trained on) whose
  text agrees with their label (translated handbook pages that are really English left out):
  99.5% of 10,265; per language en 99.3%, de 99.6%, ru 100%, es 98.7%, it 99.9%, cs 100%,
  zh 100%, ja 100%, pt 99.5%, fr 100%, bg 100%, pl 100%, uk 100%, nl 100%, eo 98.4% (fr, bg,
  pl, uk, nl have 10-50 test documents each); against the raw labels 98.2% of 10,602;
* out of domain, UDHR translations of the NLTK corpus cut into 1,000-code-point pieces: 95.2%
  of 251 pieces in 21 languages (every piece right except Danish, which it calls Norwegian
  bokmål: its Danish training text is 78,000 characters of man pages), and 99.85% of 2,000
  English NLTK texts (news, reviews, speeches).

Languages (29): ar bg ca cs da de el en eo es fa fr hr id it ja ko nb nl pl pt ro ru sr sv tr uk
vi zh. Irish (ga, 6,000 characters), Hungarian, Slovene and Finnish have too little text in the
sources to be included. bg and eo are trained on fortunes only (40,000 and 56,000 characters);
el (3,000), hr (35,000), ko (56,000) and da (78,000) have little text left after the label
filter.
"""

from __future__ import annotations

import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import paths

#: Code points of a text that are looked at.
MAX_CHARS = 1000
NGRAM_SIZES = (1, 2, 3, 4)
FNV_OFFSET = np.uint32(2166136261)
FNV_PRIME = np.uint32(16777619)
MIX = np.uint32(0x2C1B3C6D)
UNDETERMINED = "und"
#: Documents scored at once (bounds the memory of the n-gram x language gather).
_CHUNK = 64

_LOCK = threading.Lock()
_MODEL: dict | None = None


def model_path() -> str:
    """Filesystem path of the bundled model file."""
    return paths.bundled_file("langid.npz")


def _load() -> dict:
    global _MODEL
    if _MODEL is None:
        with _LOCK:
            if _MODEL is None:
                path = model_path()
                try:
                    with np.load(path, allow_pickle=False) as z:
                        model = {
                            "langs": [str(x) for x in z["langs"]],
                            # extra zero row: the bucket of n-grams that do not exist
                            "logp": np.vstack([z["logp"].astype(np.float32),
                                               np.zeros((1, len(z["langs"])), np.float32)]),
                            "bits": int(z["bits"]),
                            "temperature": float(z["temperature"]),
                        }
                except (OSError, KeyError, ValueError) as exc:
                    raise RuntimeError(f"lang_id: cannot load the model {path}: {exc}") from exc
                _MODEL = model
    return _MODEL


def clean(text: pa.Array) -> list[str]:
    """Steps 1-2 of the feature definition: truncated, lowercased, non-letters to one space."""
    out = pc.utf8_slice_codeunits(text, 0, MAX_CHARS)
    out = pc.utf8_normalize(out, form="NFKC")
    out = pc.utf8_lower(out)
    out = pc.replace_substring_regex(out, r"[^\p{L}\p{M}]+", " ")
    return [s if s is not None else "" for s in out.to_pylist()]


def _mix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint32(15))
    h = h * MIX
    return h ^ (h >> np.uint32(12))


def ngram_buckets(cleaned: list[str], bits: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Bucket ids of every n-gram, per n, with a sentinel ``2**bits`` for n-grams that cross
    two documents; and the start offset of each document in the concatenated code points.

    Position ``i`` of the array for size ``n`` is the n-gram starting at code point ``i`` of the
    concatenation ``"\\0".join(" " + s + " " for s in cleaned)``.
    """
    joined = "\0".join(" " + s + " " for s in cleaned) + "\0"
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    lengths = np.fromiter((len(s) + 3 for s in cleaned), dtype=np.int64, count=len(cleaned))
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    is_sep = (cp == 0).astype(np.int32)
    zeros_before = np.concatenate([[0], np.cumsum(is_sep)])
    m = len(cp)
    sentinel = np.int64(1) << bits
    mask = np.uint32((1 << bits) - 1)
    out = []
    h = np.full(m, FNV_OFFSET, dtype=np.uint32)
    for n in range(1, max(NGRAM_SIZES) + 1):
        # h[i] covers cp[i : i + n]; positions past the end are invalid
        nxt = np.zeros(m, dtype=np.uint32)
        nxt[: m - n + 1] = cp[n - 1:]
        h = (h ^ nxt) * FNV_PRIME
        if n in NGRAM_SIZES:
            b = (_mix(h) & mask).astype(np.int64)
            end = np.minimum(np.arange(m) + n, m)
            crosses = (zeros_before[end] - zeros_before[:m]) > 0
            crosses[m - n + 1:] = True
            b[crosses] = sentinel
            out.append(b)
    return out, starts


def scores(cleaned: list[str], model: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Summed log-likelihoods (documents x languages) and the number of n-grams per document."""
    model = model or _load()
    logp = model["logp"]
    buckets, starts = ngram_buckets(cleaned, model["bits"])
    sentinel = logp.shape[0] - 1
    # per code point: the summed log-probabilities of the n-grams starting there, then per doc
    gathered = logp[buckets[0]]
    valid = (buckets[0] != sentinel).astype(np.int32)
    for b in buckets[1:]:
        gathered += logp[b]
        valid += b != sentinel
    total = np.add.reduceat(gathered, starts, axis=0).astype(np.float64)
    count = np.add.reduceat(valid, starts).astype(np.int64)
    return total, count


def lang_id(text: pa.Array) -> pa.Array:
    """Language of a text (ISO 639-1 code) and the model's probability for it, as a STRUCT.

    ``lang`` is one of the languages the bundled model knows (en, de, ru, es, it, cs, zh, ja,
    pt, fr, bg, pl, uk, nl, eo and others, listed by ``lang_id_languages()`` in Python) and
    ``score`` the posterior probability of that language, between 0 and 1. Definition: character
    1-4-grams of the first 1,000 code points, NFKC-normalized and lowercased, with every run of
    non-letters turned into one space, hashed with FNV-1a over code points into 2**16 buckets,
    scored by
    multinomial naive Bayes with a uniform prior; the mean log-likelihood per n-gram times a
    temperature fitted on held-out data goes through a softmax. Text with no letters at all
    (empty, whitespace, digits, punctuation) gives lang 'und' and score 0. NULL gives NULL.
    Trained by scripts/train_langid.py on the project's free-documentation corpus; held-out
    accuracy per language is in bench/RESULTS.md.
    """
    model = _load()
    cleaned = clean(text)
    parts = [scores(cleaned[lo:lo + _CHUNK], model) for lo in range(0, len(cleaned), _CHUNK)]
    if not parts:
        return pa.nulls(0, pa.struct([("lang", pa.string()), ("score", pa.float64())]))
    total = np.vstack([t for t, _ in parts])
    count = np.concatenate([c for _, c in parts])
    letters = np.fromiter((len(s.strip()) > 0 for s in cleaned), dtype=bool, count=len(cleaned))
    mean = total / np.maximum(count, 1)[:, None]
    z = mean * model["temperature"]
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    best = p.argmax(axis=1)
    langs = np.array(model["langs"], dtype=object)
    lang = np.where(letters, langs[best], UNDETERMINED)
    score = np.where(letters, p[np.arange(len(best)), best], 0.0)
    out = pa.StructArray.from_arrays(
        [pa.array(lang.tolist(), pa.string()), pa.array(score, pa.float64())],
        names=["lang", "score"],
        mask=text.is_null() if text.null_count else None,
    )
    return out


def lang_id_languages() -> list[str]:
    """The ISO 639-1 codes the bundled model can answer."""
    return list(_load()["langs"])

"""Train the bundled language-id model (``udfs/data/langid.npz``) and report its accuracy.

    .venv/bin/python scripts/train_langid.py [--corpus ../shared/data/corpus-dev.parquet]
                                             [--out udfs/data/langid.npz]

Data: the redistributable sources of corpus-dev (man, handbook, debref, pydoc, perlpod, info,
fortune, jargon, debdoc, copyright; never nltk or imdb, which are research corpora). Labels are
the noisy ``lang`` column normalized to ISO 639-1 (``zh_CN`` and ``zh-TW`` -> zh, ``pt_BR`` ->
pt, ``de-DE`` -> de, ``nb`` kept as nb). Languages with fewer than ``MIN_CHARS`` characters of
text are left out (Irish ``ga``: about 6,000 characters of fortunes).

Label noise: translated handbook pages keep much of their body in English under a translated
header, so non-English training pieces that look English are dropped (:func:`consistent`); the
validation set is filtered the same way. Test accuracy is reported twice: against the raw labels
and on the label-consistent test documents.

Documents are split 80/10/10 into train/validation/test by a sha256 of their id (so a document
is never in two parts). Training text: each training document cut into pieces of
``MAX_CHARS`` code points (the length the kernel reads), at most ``CAP_CHARS`` code points per
language, pieces drawn in a seeded random order. The naive Bayes smoothing ``alpha`` is chosen by
validation accuracy and the softmax temperature by validation log loss. The test split (first
1,000 code points of each held-out document, as the kernel sees it) gives the in-domain accuracy;
the UDHR translations and a sample of the English NLTK texts (out-of-domain, never trained on)
give the out-of-domain check, on 1,000-code-point pieces.

Deterministic: fixed seed, no threads involved; the output file is the same on every run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpusql.udfs import langid

SEED = 20261123
BITS = 16
CAP_CHARS = 3_000_000
MIN_CHARS = 40_000
MAX_PIECES_PER_DOC = 40
SOURCES = ("man", "handbook", "debref", "pydoc", "perlpod", "info", "fortune", "jargon",
           "debdoc", "copyright")
UDHR = {"eng": "en", "deu": "de", "spa": "es", "ita": "it", "ces": "cs", "cmn_hant": "zh",
        "por_BR": "pt", "por_PT": "pt", "pol": "pl", "ukr": "uk", "swe": "sv", "cat": "ca",
        "ind": "id", "arb": "ar", "dan": "da", "nob": "nb", "vie": "vi", "ron_1993": "ro",
        "pes_1": "fa", "pes_2": "fa", "hrv": "hr", "ell_monotonic": "el", "kor": "ko"}


def normalize_lang(label: str) -> str:
    """ISO 639-1 code of a noisy locale label: 'zh_CN' -> 'zh', 'pt-BR' -> 'pt'."""
    return label.replace("_", "-").split("-")[0].lower()


#: Languages written in a non-Latin script in this corpus.
NON_LATIN = {"ar", "bg", "el", "fa", "ja", "ko", "ru", "sr", "uk", "zh"}
EN_STOP = frozenset(["the", "and", "of", "to", "is", "in", "for", "that", "with", "this", "are", "be", "on", "you", "it", "as", "by", "or", "can", "from", "if", "not", "an", "at", "which", "will", "your"])
_WORD = re.compile(r"[^\W\d_]+")
_LETTER = re.compile(r"[^\W\d_]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")


def consistent(text: str, lang: str) -> bool:
    """Whether a piece of text plausibly is in its label's language.

    The labels come from where a file was found; translated handbook pages keep much of their
    body in English under a translated header. A non-English piece is dropped when more than 12%
    of its words are common English function words, or, for a non-Latin-script language, when
    more than half of its letters are ASCII.
    """
    if lang == "en":
        return True
    words = [w.lower() for w in _WORD.findall(text)]
    if words and sum(w in EN_STOP for w in words) / len(words) > 0.12:
        return False
    if lang in NON_LATIN:
        letters = len(_LETTER.findall(text))
        if letters and len(_ASCII_LETTER.findall(text)) / letters > 0.5:
            return False
    return True


def part_of(doc_id) -> str:
    x = int.from_bytes(hashlib.sha256(str(doc_id).encode()).digest()[:8], "big") / 2**64
    return "train" if x < 0.8 else ("val" if x < 0.9 else "test")


def pieces(text: str, limit: int = MAX_PIECES_PER_DOC) -> list[str]:
    n = langid.MAX_CHARS
    return [text[i:i + n] for i in range(0, min(len(text), n * limit), n)]


def counts_per_lang(texts: dict[str, list[str]], langs: list[str]) -> np.ndarray:
    nb = 1 << BITS
    counts = np.zeros((nb, len(langs)), dtype=np.float64)
    for j, lang in enumerate(langs):
        items = texts[lang]
        for lo in range(0, len(items), 512):
            cleaned = langid.clean(pa.array(items[lo:lo + 512], pa.string()))
            buckets, _ = langid.ngram_buckets(cleaned, BITS)
            for b in buckets:
                b = b[b < nb]
                counts[:, j] += np.bincount(b, minlength=nb)
    return counts


def model_from(counts: np.ndarray, alpha: float, langs: list[str], temperature: float) -> dict:
    logp = np.log((counts + alpha) / (counts.sum(axis=0, keepdims=True) + alpha * len(counts)))
    logp = logp.astype(np.float16).astype(np.float32)  # what the shipped file holds
    return {"langs": langs, "bits": BITS, "temperature": temperature,
            "logp": np.vstack([logp, np.zeros((1, len(langs)), np.float32)])}


def predict(model: dict, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean log-likelihood per n-gram (docs x langs) and whether the text has letters."""
    means, letters = [], []
    for lo in range(0, len(texts), 256):
        cleaned = langid.clean(pa.array(texts[lo:lo + 256], pa.string()))
        total, count = langid.scores(cleaned, model)
        means.append(total / np.maximum(count, 1)[:, None])
        letters.append(np.array([bool(s.strip()) for s in cleaned]))
    return np.vstack(means), np.concatenate(letters)


def per_language(gold: list[str], pred: list[str]) -> dict[str, tuple[int, float]]:
    by = defaultdict(list)
    for g, p in zip(gold, pred):
        by[g].append(g == p)
    return {g: (len(v), float(np.mean(v))) for g, v in sorted(by.items())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared/data/corpus-dev.parquet"))
    ap.add_argument("--out", default=str(ROOT / "udfs/data/langid.npz"))
    ap.add_argument("--report", default=str(ROOT / "bench/langid_accuracy.json"))
    args = ap.parse_args(argv)
    rng = np.random.default_rng(SEED)
    con = duckdb.connect()
    src = ", ".join(f"'{s}'" for s in SOURCES)
    rows = con.execute(
        f"SELECT id, text, lang FROM read_parquet(?) WHERE source IN ({src}) "
        "AND text IS NOT NULL AND lang IS NOT NULL ORDER BY id", [args.corpus]).fetchall()
    chars = Counter()
    for _, text, lang in rows:
        chars[normalize_lang(lang)] += len(text)
    langs = sorted(lang for lang, n in chars.items() if n >= MIN_CHARS)
    print("languages:", langs, "left out:", sorted(set(chars) - set(langs)))

    train_pieces: dict[str, list[str]] = defaultdict(list)
    heldout = {"val": ([], []), "test": ([], [])}
    for doc_id, text, lang in rows:
        lang = normalize_lang(lang)
        if lang not in langs:
            continue
        part = part_of(doc_id)
        if part == "val" and not consistent(text[: langid.MAX_CHARS], lang):
            continue
        if part == "train":
            train_pieces[lang].extend(p for p in pieces(text) if consistent(p, lang))
        else:
            heldout[part][0].append(text[: langid.MAX_CHARS])
            heldout[part][1].append(lang)
    for lang in langs:
        items = train_pieces[lang]
        order = rng.permutation(len(items))
        kept, total = [], 0
        for i in order:
            if total >= CAP_CHARS:
                break
            kept.append(items[i])
            total += len(items[i])
        train_pieces[lang] = kept
        print(f"  {lang}: {len(kept)} training pieces, {total} chars")

    counts = counts_per_lang(train_pieces, langs)
    val_texts, val_gold = heldout["val"]
    best = None
    for alpha in (0.01, 0.03, 0.1, 0.3, 1.0):
        model = model_from(counts, alpha, langs, 1.0)
        mean, _ = predict(model, val_texts)
        acc = float(np.mean(np.array(langs)[mean.argmax(1)] == np.array(val_gold)))
        print(f"  alpha={alpha}: validation accuracy {acc:.4f}")
        if best is None or acc > best[0]:
            best = (acc, alpha, mean)
    _, alpha, mean = best
    gold_idx = np.array([langs.index(g) for g in val_gold])
    best_t = None
    for t in (1, 2, 3, 5, 8, 12, 20, 30, 50, 80, 120):
        z = mean * t
        z = z - z.max(1, keepdims=True)
        logprob = z - np.log(np.exp(z).sum(1, keepdims=True))
        loss = -float(np.mean(logprob[np.arange(len(gold_idx)), gold_idx]))
        if best_t is None or loss < best_t[0]:
            best_t = (loss, t)
    temperature = float(best_t[1])
    print(f"chosen alpha={alpha}, temperature={temperature} (val log loss {best_t[0]:.4f})")

    logp = model_from(counts, alpha, langs, temperature)["logp"][:-1]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as f:
        np.savez_compressed(f, langs=np.array(langs), logp=logp.astype(np.float16),
                            bits=np.int64(BITS), temperature=np.float64(temperature),
                            alpha=np.float64(alpha), seed=np.int64(SEED))
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes)")

    model = model_from(counts, alpha, langs, temperature)
    test_texts, test_gold = heldout["test"]
    mean, _ = predict(model, test_texts)
    test_pred = list(np.array(langs)[mean.argmax(1)])
    keep = [consistent(t, g) for t, g in zip(test_texts, test_gold)]
    c_gold = [g for g, k in zip(test_gold, keep) if k]
    c_pred = [p for p, k in zip(test_pred, keep) if k]
    report = {"alpha": alpha, "temperature": temperature,
              "test_raw_labels": per_language(test_gold, test_pred),
              "test_raw_overall": float(np.mean(np.array(test_pred) == np.array(test_gold))),
              "test": per_language(c_gold, c_pred),
              "test_overall": float(np.mean(np.array(c_pred) == np.array(c_gold))),
              "test_confusions": dict(Counter(f"{g}->{p}" for g, p in zip(c_gold, c_pred)
                                              if g != p).most_common(15))}

    ood = con.execute(
        "SELECT lang, text FROM read_parquet(?) WHERE source = 'nltk' AND lang LIKE 'udhr:%' "
        "ORDER BY lang", [args.corpus]).fetchall()
    o_texts, o_gold = [], []
    for label, text in ood:
        code = label[len("udhr:"):].removesuffix(".txt")
        if code in UDHR:
            for p in pieces(text, 12):
                if len(p) >= 200:
                    o_texts.append(p)
                    o_gold.append(UDHR[code])
    nltk_en = con.execute(
        "SELECT text FROM read_parquet(?) WHERE source = 'nltk' AND lang = 'en' "
        "AND length(text) >= 200 ORDER BY md5(id::VARCHAR) LIMIT 2000",
        [args.corpus]).fetchall()
    mean, _ = predict(model, o_texts)
    pred = list(np.array(langs)[mean.argmax(1)])
    report["udhr"] = per_language(o_gold, pred)
    report["udhr_overall"] = float(np.mean(np.array(pred) == np.array(o_gold)))
    en_texts = sorted(t for (t,) in nltk_en)
    mean, _ = predict(model, [t[: langid.MAX_CHARS] for t in en_texts])
    en_pred = np.array(langs)[mean.argmax(1)]
    report["nltk_en"] = (len(en_texts), float(np.mean(en_pred == "en")))
    report["nltk_en_confusions"] = dict(Counter(en_pred[en_pred != "en"].tolist()).most_common(5))
    Path(args.report).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

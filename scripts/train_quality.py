r"""Train the bundled quality model (``udfs/data/quality.onnx``) and report its accuracy.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python scripts/train_quality.py [--corpus ../shared/data/corpus-dev.parquet]

Labels (synthetic, so the model is trained only from text the project may ship):

* positive: pieces of 80-3,000 characters of edited prose, cut at paragraph breaks from the
  Debian handbook and reference, the Python and Perl documentation, GNU info manuals and the
  Jargon File (every language they come in);
* negative: the same kind of pieces, from other documents, degraded in one of six ways, drawn in
  equal shares: ``shuffled`` (the words in random order), ``repeated`` (one to three lines
  repeated until the piece is as long as before), ``boilerplate`` (navigation, cookie and
  copyright lines with a few of the piece's words), ``code_noise`` (identifiers, numbers and
  operators in random order), ``spam`` (three to eight of the piece's words repeated), and
  ``fragments`` (lines cut to their first one to three words).

Documents are split 80/20 into train/test by a sha256 of their id, so the test pieces and their
degradations come from documents never trained on. Model: scikit-learn
``TfidfVectorizer(word 1-2-grams, case kept, sublinear tf, 4,096 features max)`` +
``LogisticRegression``, exported with skl2onnx (string input, probabilities without ZipMap).
Words are runs of letters, digits and underscores (``\w+``; in ONNX the RE2 class
``[\p{L}\p{N}_]+``). Text is not lowercased: ONNX's StringNormalizer needs an installed
``en_US.UTF-8`` locale to fold case, which a fresh machine may not have. The script checks that
onnxruntime's scores match scikit-learn's on the test set and writes the accuracy report.
Deterministic: fixed seeds; the same inputs give the same model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SEED = 4242
#: Vocabulary size. onnxruntime's TfIdfVectorizer and the ops after it work on dense
#: [batch, MAX_FEATURES] matrices, so scoring time grows with it: 2**15 features cost about
#: 1 ms per short text; 2**12 keep scoring fast (see bench/RESULTS.md "ONNX scoring").
MAX_FEATURES = 1 << 12
LENGTHS = (80, 300, 1000)
SOURCES = ("handbook", "debref", "pydoc", "perlpod", "info", "jargon")
#: The ONNX Tokenizer op (RE2) equivalent of scikit-learn's Unicode ``\w+`` token pattern.
ONNX_TOKEN_RE = r"[\p{L}\p{N}_]+"
KINDS = ("shuffled", "repeated", "boilerplate", "code_noise", "spam", "fragments")
BOILERPLATE = [
    "Home", "About us", "Contact", "Privacy Policy", "Terms of Use", "Log in", "Sign up",
    "Share on Facebook", "Tweet", "Read more", "Click here", "Subscribe to our newsletter",
    "All rights reserved", "Copyright 2024", "We use cookies to improve your experience",
    "Accept all cookies", "Next page", "Previous", "Back to top", "Skip to content", "Menu",
    "Search", "Cart (0)", "FAQ", "Sitemap", "Follow us", "Related posts", "Advertisement",
    "Loading...", "Powered by WordPress", "Page 1 of 12", "Comments (0)", "Download now",
]


def part_of(doc_id) -> str:
    x = int.from_bytes(hashlib.sha256(str(doc_id).encode()).digest()[:8], "big") / 2**64
    return "train" if x < 0.8 else "test"


def cut_pieces(text: str, rng: np.random.Generator, hi: int = 3000) -> list[str]:
    """Consecutive paragraphs joined into pieces of at least 80, 300 or 1,000 characters (drawn
    at random per piece, so short texts are represented) and at most ``hi``."""
    out, cur = [], ""
    lo = int(rng.choice(LENGTHS))
    for para in re.split(r"\n\s*\n", text):
        para = para.strip()
        if not para:
            continue
        cur = f"{cur}\n\n{para}" if cur else para
        if len(cur) >= lo:
            out.append(cur[:hi])
            cur = ""
            lo = int(rng.choice(LENGTHS))
    return out


def degrade(piece: str, kind: str, rng: np.random.Generator) -> str:
    words = piece.split()
    lines = [ln for ln in piece.splitlines() if ln.strip()] or [piece]
    if kind == "shuffled":
        return " ".join(words[i] for i in rng.permutation(len(words)))
    if kind == "repeated":
        k = int(rng.integers(1, 4))
        start = int(rng.integers(0, max(1, len(lines) - k + 1)))
        block = "\n".join(lines[start:start + k])
        return "\n".join([block] * max(2, len(piece) // max(1, len(block))))
    if kind == "boilerplate":
        n = int(rng.integers(8, 30))
        items = [BOILERPLATE[i] for i in rng.integers(0, len(BOILERPLATE), n)]
        items += [words[i] for i in rng.integers(0, len(words), min(5, len(words)))]
        sep = [" | ", "\n", " · ", "  "][int(rng.integers(0, 4))]
        return sep.join(items[i] for i in rng.permutation(len(items)))
    if kind == "code_noise":
        pool = ["x", "i", "buf", "ptr", "0x7f", "==", "!=", "+=", "{", "}", "();", "[0]", "->",
                "NULL", "tmp_3", "a1b2", "42", "3.14", "#", "$", "%d", "\\n", "&&", "||", "::",
                "self.", "var_", "0", "1", "255", "=>", "/*", "*/", "<<", ">>"]
        pool += [w for w in words[:10]]
        n = max(20, len(words))
        return " ".join(pool[i] for i in rng.integers(0, len(pool), n))
    if kind == "spam":
        k = int(rng.integers(3, 9))
        vocab = [words[i] for i in rng.integers(0, len(words), k)] if words else ["buy"]
        return " ".join(vocab[i] for i in rng.integers(0, len(vocab), max(30, len(words))))
    if kind == "fragments":
        return "\n".join(" ".join(ln.split()[: int(rng.integers(1, 4))]) for ln in lines)
    raise ValueError(kind)


def build(rows, rng):
    """(texts, labels, kinds) for train and test: positives and degraded negatives."""
    data = {"train": ([], [], []), "test": ([], [], [])}
    for doc_id, text in rows:
        part = part_of(doc_id)
        texts, labels, kinds = data[part]
        for piece in cut_pieces(text, rng)[:8]:
            if len(piece.split()) < 12:
                continue
            if rng.random() < 0.5:
                texts.append(piece)
                labels.append(1)
                kinds.append("clean")
            else:
                kind = KINDS[int(rng.integers(0, len(KINDS)))]
                texts.append(degrade(piece, kind, rng))
                labels.append(0)
                kinds.append(kind)
    return data


def main(argv=None) -> int:
    import onnx
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import StringTensorType
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(ROOT.parent / "shared/data/corpus-dev.parquet"))
    ap.add_argument("--out", default=str(ROOT / "udfs/data/quality.onnx"))
    ap.add_argument("--report", default=str(ROOT / "bench/quality_accuracy.json"))
    args = ap.parse_args(argv)
    rng = np.random.default_rng(SEED)
    src = ", ".join(f"'{s}'" for s in SOURCES)
    con = duckdb.connect()
    rows = con.execute(f"SELECT id, text FROM read_parquet(?) WHERE source IN ({src}) "
                       "AND text IS NOT NULL ORDER BY id", [args.corpus]).fetchall()
    data = build(rows, rng)
    x_train, y_train, _ = data["train"]
    x_test, y_test, k_test = data["test"]
    print(f"train {len(x_train)} pieces ({sum(y_train)} clean), test {len(x_test)}")

    pipe = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=MAX_FEATURES,
                        min_df=2, lowercase=False, token_pattern=r"\w+", dtype=np.float32),
        LogisticRegression(C=4.0, max_iter=2000, random_state=SEED),
    )
    pipe.fit(x_train, y_train)
    onx = to_onnx(pipe, initial_types=[("text", StringTensorType([None, 1]))],
                  options={LogisticRegression: {"zipmap": False},
                           TfidfVectorizer: {"tokenexp": ONNX_TOKEN_RE}},
                  target_opset=17)
    for node in onx.graph.node:  # no locale needed: the text is not case-folded
        if node.op_type == "StringNormalizer":
            node.attribute.append(onnx.helper.make_attribute("locale", "C"))
    onx.doc_string = ("corpusql quality model: P(clean prose) from TF-IDF word 1-2-grams + "
                      "logistic regression; trained by scripts/train_quality.py")
    Path(args.out).write_bytes(onx.SerializeToString())
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes)")

    import onnxruntime as ort

    sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
    p_onnx = sess.run(["probabilities"], {"text": np.array(x_test, dtype=object)
                                           .reshape(-1, 1)})[0][:, 1]
    p_skl = pipe.predict_proba(x_test)[:, 1]
    pred = p_onnx >= 0.5
    y = np.array(y_test) == 1
    kinds = np.array(k_test)
    report = {
        "train_pieces": len(x_train), "test_pieces": len(x_test),
        "test_accuracy": float(np.mean(pred == y)),
        "max_abs_diff_onnx_vs_sklearn": float(np.max(np.abs(p_onnx - p_skl))),
        "per_kind_accuracy": {k: [int(np.sum(kinds == k)),
                                  float(np.mean(pred[kinds == k] == (k == "clean")))]
                              for k in ("clean",) + KINDS},
        "test_kinds": dict(Counter(k_test)),
    }
    Path(args.report).write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

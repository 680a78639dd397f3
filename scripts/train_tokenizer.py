"""Train corpusql's default tokenizer, ``udfs/data/tokenizer.json``.

A byte-level BPE (GPT-2 style: every byte is a base symbol, so any UTF-8 text encodes without
unknown tokens) with a vocabulary of 8192 entries (256 byte symbols, one special token
``<|endoftext|>`` and learned merges), trained with Hugging Face ``tokenizers`` on free
documentation only: the sources ``man``, ``handbook``, ``debref``, ``pydoc``, ``perlpod`` and
``info`` of ``../shared/data/corpus-dev.parquet`` (GPL, GFDL, PSF, Artistic, BSD and similar
licences; redistributable).

Reproducible: documents are ranked by BLAKE2b-64 of their id keyed with ``--seed`` (default 5) and
taken in that order, each cut to its first 20,000 characters, until 24 million characters are
collected; the trainer sees them in that fixed order. No pre-normalization is applied, so
``len(encode(text).ids)`` counts tokens of the text as stored.

    python scripts/train_tokenizer.py [--shared ../shared] [--vocab-size 8192] [--seed 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

ROOT = Path(__file__).resolve().parent.parent
FREE_SOURCES = ("man", "handbook", "debref", "pydoc", "perlpod", "info")
SPECIAL_TOKENS = ["<|endoftext|>"]
MAX_DOC_CHARS = 20_000
SAMPLE_CHARS = 24_000_000


def sample_texts(corpus: Path, seed: int) -> list[str]:
    """The training texts: free-documentation sources, ranked by keyed hash of the id."""
    table = pq.read_table(corpus, columns=["id", "text", "source"])
    keep = pc.and_(pc.is_in(table["source"], value_set=pa.array(FREE_SOURCES)),
                   pc.is_valid(table["text"]))
    table = table.filter(keep)
    key = str(seed).encode()
    ranked = sorted(
        zip(table["id"].to_pylist(), table["text"].to_pylist()),
        key=lambda r: (hashlib.blake2b(r[0].encode(), digest_size=8, key=key).digest(), r[0]),
    )
    out: list[str] = []
    total = 0
    for _, text in ranked:
        piece = text[:MAX_DOC_CHARS]
        if not piece.strip():
            continue
        out.append(piece)
        total += len(piece)
        if total >= SAMPLE_CHARS:
            break
    return out


def train(texts: list[str], vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--vocab-size", type=int, default=8192)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "extension" / "data" / "tokenizer.json")
    args = ap.parse_args()

    texts = sample_texts(args.shared / "data" / "corpus-dev.parquet", args.seed)
    tok = train(texts, args.vocab_size)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # Compact JSON: small (< 1 MB) and byte-identical across runs.
    data = json.loads(tok.to_str())
    args.out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n",
                        encoding="utf-8")
    n_chars = sum(len(t) for t in texts)
    print(f"{args.out}: vocab {tok.get_vocab_size()}, trained on {len(texts)} documents "
          f"({n_chars:,} characters), {args.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()

"""Documents and tokenizers shared by the token-export tests."""

from __future__ import annotations

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "",
    "man(1): format and display the on-line manual pages",
    None,
    "Ünïcödé, 中文没有空格, emoji 🙂 and combining e\u0301 marks",
    "a" * 3000,
    "def f(x):\n    return x + 1\n",
    None,
    "short",
] + [f"document {i} " + "word " * (i % 17) for i in range(60)]


def wide_tokenizer(path, n_words: int = 70_000):
    """A WordLevel tokenizer.json with more than 65,536 ids (needs uint32), EOS included."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, "<|endoftext|>": 1}
    for w in sorted({w.strip(".,:!()\n") for t in TEXTS if t for w in t.split()}):
        vocab.setdefault(w, len(vocab))
    while len(vocab) < n_words:
        vocab[f"w{len(vocab)}"] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(path))
    return str(path)

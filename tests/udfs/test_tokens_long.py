"""token_count on long texts: chunked counts equal whole-text counts; bounded memory; guard.

Three tokenizer families are trained here on a generated corpus (no downloads): a byte-level BPE
(GPT-2 style), a WordPiece (BERT style, with a post-processor that adds [CLS]/[SEP]) and a
SentencePiece-style Unigram (NFKC + Metaspace, with a post-processor adding <s>/</s>). For many
seeded random texts and small chunk sizes (so that cuts are exercised), the chunked count equals
``len(encode(text, add_special_tokens=False).ids)`` of the whole text.
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import duckdb
import pyarrow as pa
import pytest
from tokenizers import (
    AddedToken,
    Regex,
    Tokenizer,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)

import corpusql
from corpusql.udfs import memory, token_chunks, tokens

SYLLABLES = ["ka", "to", "ri", "men", "sa", "lo", "qu", "ex", "th", "ion", "ing", "ed", "re"]
CJK = "日本語のテキストには単語の間にスペースがありません中文没有空格分词한국어텍스트"
EMOJI = ["🙂", "👍🏽", "🇫🇷", "👩‍👩‍👧", "e\u0301", "\u00e9"]
PUNCT = list(".,;:!?'\"()[]{}<>-_/\\|@#$%^&*+=~`") + ["'s", "'re", "...", "。", "、", "！"]
SPACES = [" ", " ", " ", "  ", "\n", "\r\n", "\t", "\n\n", "   \n  ", " " * 40, "\u3000", "\xa0"]


def _word(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.6:
        w = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4)))
        return w.capitalize() if rng.random() < 0.2 else w
    if kind < 0.72:
        return str(rng.randint(0, 10 ** rng.randint(1, 7)))
    if kind < 0.85:
        return "".join(rng.choice(CJK) for _ in range(rng.randint(1, 30)))
    if kind < 0.93:
        return rng.choice(EMOJI)
    return "".join(rng.choice(PUNCT) for _ in range(rng.randint(1, 3)))


def random_text(rng: random.Random, n_words: int) -> str:
    """Words, numbers, CJK runs, emoji and punctuation joined by varied whitespace (or none)."""
    out = []
    for _ in range(n_words):
        out.append(_word(rng))
        r = rng.random()
        if r < 0.75:
            out.append(rng.choice(SPACES))
        elif r < 0.85:
            out.append(rng.choice(PUNCT))
    return "".join(out)


def nasty_texts(rng: random.Random) -> list[str]:
    texts = [random_text(rng, rng.randint(0, 400)) for _ in range(60)]
    texts += [
        "",
        " " * 3000,
        "x" * 3000,                                        # no whitespace, longer than a chunk
        "".join(rng.choice(CJK) for _ in range(3000)),     # CJK without spaces
        "word\r\n" * 500,
        "\r\n" * 700 + "tail",
        "a" + " " * 2000 + "b" + "\n" * 2000 + "c",
        "🙂" * 1500 + " end",
        "<|endoftext|> word [CLS] next [SEP]  <s> x </s> <|end_of_text|>" * 40,
        "abc" * 900 + "," + "d1e2" * 400,
        "don't it's we're " * 200,
    ]
    return texts


def _corpus() -> list[str]:
    rng = random.Random(7)
    return [random_text(rng, 200) for _ in range(300)]


def byte_level_bpe() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(_corpus(), trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<|endoftext|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


CL100K = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
          r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def split_regex_bpe() -> Tokenizer:
    """Llama 3 / GPT-4 style: Split on the cl100k_base regex, then ByteLevel without a regex."""
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CL100K), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.train_from_iterator(_corpus(), trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
        show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


def wordpiece(pre_tokenizer) -> Tokenizer:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=30))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizer
    tok.train_from_iterator(_corpus(), trainers.WordPieceTrainer(
        vocab_size=600, special_tokens=["[UNK]", "[CLS]", "[SEP]"], show_progress=False))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
    return tok


def sentencepiece_unigram() -> Tokenizer:
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(_corpus()[:30], trainers.UnigramTrainer(   # Unigram trains slowly
        vocab_size=300, special_tokens=["<unk>", "<s>", "</s>"], unk_token="<unk>",
        show_progress=False, max_piece_length=6))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 1), ("</s>", 2)])
    return tok


FAMILIES = {
    "bundled byte-level BPE": lambda: Tokenizer.from_file(tokens.default_tokenizer_path()),
    "byte-level BPE": byte_level_bpe,
    "BPE + cl100k Split": split_regex_bpe,
    "WordPiece + BertPreTokenizer": lambda: wordpiece(pre_tokenizers.BertPreTokenizer()),
    "WordPiece + Whitespace": lambda: wordpiece(pre_tokenizers.Whitespace()),
    "Unigram + Metaspace": sentencepiece_unigram,
}


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family(request, tmp_path_factory):
    """(tokenizer path, loaded Tokenizer) for one trained family, saved as a tokenizer.json."""
    tok = FAMILIES[request.param]()
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tok.save(str(path))
    return str(path), Tokenizer.from_file(str(path))


def whole(tok: Tokenizer, text: str) -> int:
    return len(tok.encode(text, add_special_tokens=False).ids)


def test_every_family_is_chunked(family):
    """The families above are all ones the chunker handles (a plan exists)."""
    path, _ = family
    assert token_chunks.plan_for(tokens.load_tokenizer(path)) is not None


@pytest.mark.parametrize("chunk_chars", [16, 97, 1000])
def test_chunked_count_equals_whole_text_count(family, chunk_chars):
    path, ref = family
    tok = tokens.load_tokenizer(path)
    plan = token_chunks.plan_for(tok)
    rng = random.Random(1234 + chunk_chars)
    texts = nasty_texts(rng)
    n_cut = 0
    for text in texts:
        bounds = list(token_chunks.bounds(text, plan, chunk_chars=chunk_chars))
        assert "".join(text[a:b] for a, b in bounds) == text
        n_cut += len(bounds) - 1
        got = token_chunks.count(tok, text, chunk_chars=chunk_chars, group_chars=4 * chunk_chars)
        assert got == whole(ref, text), (text[:80], bounds[:5])
    assert n_cut > len(texts)   # cuts really happened


def test_kernel_uses_chunks_for_long_rows(family, monkeypatch):
    path, ref = family
    monkeypatch.setattr(token_chunks, "CHUNK_CHARS", 200)
    monkeypatch.setattr(token_chunks, "GROUP_CHARS", 1000)
    texts = nasty_texts(random.Random(99)) + [None]
    got = tokens.token_count(pa.array(texts), tokenizer=path).to_pylist()
    assert got == [whole(ref, t) if t is not None else 0 for t in texts]


def test_tokenize_long_rows_equal_whole_text_ids(family, monkeypatch):
    path, ref = family
    monkeypatch.setattr(token_chunks, "CHUNK_CHARS", 150)
    monkeypatch.setattr(token_chunks, "GROUP_CHARS", 700)
    texts = nasty_texts(random.Random(98)) + [None]
    got = tokens.tokenize(pa.array(texts), tokenizer=path).to_pylist()
    assert got == [ref.encode(t, add_special_tokens=False).ids if t is not None else None
                   for t in texts]
    with pytest.raises(ValueError, match=r"tokenize: .*memory_budget"):
        tokens.tokenize(pa.array(["x" * 1000]), memory_budget=1000)


def test_special_tokens_are_not_added_per_chunk(family):
    """Post-processors (BOS/EOS, [CLS]/[SEP]) add nothing: the count has no special tokens."""
    path, ref = family
    text = "alpha beta gamma " * 50
    with_special = len(ref.encode(text).ids)
    got = token_chunks.count(tokens.load_tokenizer(path), text, chunk_chars=20, group_chars=80)
    assert got == whole(ref, text) <= with_special


def _unhandled(tmp_path) -> str:
    """A BPE whose pre-tokenizer is a Split on a custom regex: no cut rule is known for it."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Split(pattern="x", behavior="isolated")
    tok.train_from_iterator(_corpus()[:50], trainers.BpeTrainer(vocab_size=300,
                                                                show_progress=False))
    path = tmp_path / "split.json"
    tok.save(str(path))
    return str(path)


def test_unhandled_pre_tokenizer_encodes_whole_text(tmp_path):
    path = _unhandled(tmp_path)
    tok = tokens.load_tokenizer(path)
    assert token_chunks.plan_for(tok) is None
    text = random_text(random.Random(5), 500)
    assert list(token_chunks.bounds(text, None, chunk_chars=10)) == [(0, len(text))]
    assert tokens.token_count(pa.array([text]), tokenizer=path).to_pylist() == [
        whole(Tokenizer.from_file(path), text)]


def test_guard_names_the_knob_when_no_cut_fits(tmp_path):
    path = _unhandled(tmp_path)
    text = "ab" * 100_000
    with pytest.raises(ValueError) as err:
        tokens.token_count(pa.array([text]), tokenizer=path, memory_budget=1_000_000)
    msg = str(err.value)
    assert msg.startswith("token_count: ")
    assert "memory_budget" in msg and "memory_budget" in msg and path in msg
    assert "200,000 characters" in msg
    # a generous budget encodes it whole
    assert tokens.token_count(pa.array([text]), tokenizer=path,
                              memory_budget=1 << 40).to_pylist() == [
        whole(Tokenizer.from_file(path), text)]


def test_byte_level_without_whitespace_is_guarded_not_killed():
    """'x' * n has no safe cut for a byte-level BPE: over budget it is an error, not an abort."""
    text = "x" * 300_000
    with pytest.raises(ValueError, match=r"token_count: .*300,000 characters.*memory_budget"):
        tokens.token_count(pa.array([text]), memory_budget=2_000_000)


def test_default_budget_is_positive_and_bounded_by_ram():
    import os

    budget = memory.default_memory_budget()
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0 < budget <= ram


# A child process: a memory ulimit (RLIMIT_AS) a little above what bounded chunks need, one
# ~24 MB text counted through SQL; it prints the count and how much its peak RSS grew.
_CHILD = textwrap.dedent(r'''
    import resource, sys
    import pyarrow as pa
    import corpusql

    block, copies, limit_extra, fn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    con = corpusql.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SELECT token_count('warm up')").fetchall()
    text = block * copies
    con.register("t", pa.table({"text": [text]}))
    vm = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (vm + limit_extra, resource.RLIM_INFINITY))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        sql = "token_count(text)" if fn == "token_count" else "len(tokenize(text))"
        (n,), = con.execute(f"SELECT {sql} FROM t").fetchall()
        print("count", n)
    except Exception as exc:
        print("error", str(exc).replace("\n", " "))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print("grew", after - before, len(text.encode()))
    con.close()
''')


def _run_child(block: str, copies: int, limit_extra: int, fn: str = "token_count") -> list[str]:
    proc = subprocess.run([sys.executable, "-c", _CHILD, block, str(copies), str(limit_extra), fn],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f"child died with return code {proc.returncode}: {proc.stderr[-2000:]}")
    return [line.split(" ", 1) for line in proc.stdout.strip().splitlines()[-2:]]


@pytest.mark.parametrize("fn", ["token_count", "tokenize"])
def test_long_text_through_sql_in_bounded_memory(fn):
    """A 24 MB text under a ulimit: exact count, no abort, peak RSS growth < 20x the text."""
    rng = random.Random(3)
    block = " " + " ".join(random_text(rng, 60).split()) + "."   # single spaces, starts with one
    ref = Tokenizer.from_file(tokens.default_tokenizer_path())
    one = whole(ref, block)
    # joining copies cuts nowhere inside a piece: k copies have exactly k times the tokens
    assert whole(ref, block * 2) == 2 * one and whole(ref, block * 3) == 3 * one
    copies = 24_000_000 // len(block.encode())
    (kind, value), (_, grew) = _run_child(block, copies, limit_extra=1_500_000_000, fn=fn)
    assert kind == "count", value
    assert int(value) == copies * one
    grew_bytes, size = (int(x) for x in grew.split())
    assert grew_bytes < 20 * size, f"peak RSS grew by {grew_bytes / size:.1f}x the text size"


@pytest.mark.parametrize("fn", ["token_count", "tokenize"])
def test_no_safe_cut_under_ulimit_is_an_error_naming_the_knob(fn):
    """20 MB without whitespace under a 1.5 GB ulimit: a SQL error, never an abort."""
    (kind, value), _ = _run_child("x", 20_000_000, limit_extra=1_500_000_000, fn=fn)
    assert kind == "error"
    assert f"{fn}: " in value and "memory_budget" in value
    assert "20,000,000 characters" in value


@pytest.mark.parametrize("fn", ["token_count", "tokenize"])
def test_connection_budget_reaches_the_kernel(fn):
    """The connection's memory budget (corpusql.connect(memory_budget=...)) bounds the
    whole-text encode through SQL. The test failed before the binder passed the budget: the
    kernel used its own default (half the RAM) and encoded the text."""
    con = corpusql.connect(memory_budget="1MB")
    try:
        con.register("t", pa.table({"text": ["x" * 300_000]}))
        with pytest.raises(duckdb.Error, match=rf"{fn}: .*300,000 characters.*memory_budget"):
            con.execute(f"SELECT {fn}(text) FROM t").fetchall()
        corpusql.set_memory_budget(con, "4GB")
        assert con.execute(f"SELECT {fn}(text) IS NOT NULL FROM t").fetchall() == [(True,)]
    finally:
        con.close()


def test_unhandled_tokenizer_through_sql(con, tmp_path):
    """Through SQL (no budget parameter there yet) the default budget lets a 200 kB text through."""
    path = _unhandled(tmp_path)
    con.register("t", pa.table({"text": ["ab" * 100_000]}))
    (n,), = con.execute("SELECT token_count(text, tokenizer := ?) FROM t", [path]).fetchall()
    assert n == whole(Tokenizer.from_file(path), "ab" * 100_000)


@pytest.mark.parametrize("kind", ["byte-level", "wordpiece"])
def test_no_cut_next_to_added_tokens(kind, monkeypatch):
    """Added tokens (lstrip/rstrip, single_word, normalized) keep counts exact across cuts."""
    tok = byte_level_bpe() if kind == "byte-level" else wordpiece(pre_tokenizers.BertPreTokenizer())
    tok.add_tokens([AddedToken("kato", normalized=True), AddedToken("ri ka", normalized=True)])
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True),
                            AddedToken("[SEP]", single_word=True)])
    rng = random.Random(5)
    cases = []
    for _ in range(150):
        text = random_text(rng, rng.randint(0, 200)).replace(
            "to", rng.choice([" <mask>  ", "KATO", "[SEP]", "x[SEP]y", "ri  ka", "RI KA"]))
        cases.append((text, rng.choice([3, 8, 20])))

    def mismatches() -> int:
        return sum(token_chunks.count(tok, t, chunk_chars=c, group_chars=3 * c) != whole(tok, t)
                   for t, c in cases)

    assert mismatches() == 0
    monkeypatch.setattr(token_chunks, "_zones", lambda text, plan: [])
    if kind == "byte-level":   # no normalizer: the zones alone keep cuts away from added tokens
        assert mismatches() > 0

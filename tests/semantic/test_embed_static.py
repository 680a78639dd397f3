"""embed(text, model := 'wordllama') (udfs/embed_static.py): parity with the reference library,
stored vectors, stability, NULLs, hashes, the cut rule, the padding to FLOAT[384].

The static model ships inside the PyPI package wordllama 0.4.0.post1 (a core dependency): these
tests need no extra and no network.
"""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from embed_cases import SENTENCES, assert_mean_chunks_reads_past_the_first_chunk, cos, sql_embed

from corpusql.udfs import embed as E
from corpusql.udfs import embed_models as M
from corpusql.udfs import embed_static as S

GOLDEN = Path(__file__).with_name("golden_embed_wordllama.json")
def _sql_embed(con, texts, **kw):
    return sql_embed(con, texts, **{"model": "wordllama", **kw})


def _fresh(texts, **kw) -> np.ndarray:
    M.load("wordllama").cache.clear()
    return E.embed_array(texts, model="wordllama", **kw)


def test_same_as_the_reference_library():
    """wordllama's own inference code (average pooling, norm=True) on the same shipped files and
    the same normalized texts (static_text); they are shorter than max_length, so both read
    every token."""
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    s = M.spec("wordllama")
    ref = WordLlamaInference(load_file(s.onnx_path)["embedding.weight"],
                             Tokenizer.from_file(s.tokenizer_path))
    want = ref.embed([E.static_text(t, 10_000) for t in SENTENCES], norm=True)
    got = _fresh(SENTENCES)
    assert got.shape == (len(SENTENCES), 256)
    assert cos(got, want).min() >= 0.99999


def test_parity_with_stored_embeddings(con, update_golden):
    """Against vectors computed once by this code and stored (cosine >= 0.99999 per text), and
    the FLOAT[384] layout: the model's 256 values, then 128 zeros."""
    got = np.array(_sql_embed(con, SENTENCES), dtype=np.float64)
    assert got.shape == (len(SENTENCES), E.DIM)
    assert not got[:, 256:].any()
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    if update_golden:
        GOLDEN.write_text(json.dumps({"model": "wordllama", "sha256": M.WORDLLAMA_WEIGHTS_SHA256,
                                      "texts": SENTENCES,
                                      "vectors": np.round(got[:, :256], 6).tolist()}) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert golden["texts"] == SENTENCES
    assert cos(got[:, :256], golden["vectors"]).min() >= 0.99999


def test_meaning_paraphrase_close_unrelated_far(con):
    a, b, c = np.array(_sql_embed(con, SENTENCES[:3]))
    assert cos(a, b) > 0.6
    assert abs(cos(a, c)) < 0.1


def test_stable_across_batch_mates_batch_sizes_and_threads(con):
    base = _fresh(SENTENCES)
    others = [f"filler sentence number {i} about something else entirely" for i in range(9)]
    assert np.array_equal(base, _fresh(SENTENCES[::-1])[::-1])
    assert np.array_equal(base, _fresh(others + SENTENCES + others)[9:9 + len(SENTENCES)])
    assert np.array_equal(base, _fresh(SENTENCES, batch_size=1))
    texts = SENTENCES * 300 + [None, ""]  # several DuckDB vectors
    con.execute("SET threads = 1")
    M.load("wordllama").cache.clear()
    one = _sql_embed(con, texts)
    con.execute("SET threads = 2")
    M.load("wordllama").cache.clear()
    two = _sql_embed(con, texts)
    assert one == two
    assert one[:len(SENTENCES)] == one[len(SENTENCES):2 * len(SENTENCES)]
    assert one[-2:] == [None, None]


def test_null_empty_and_whitespace_give_null(con):
    rows = con.execute("SELECT embed(t, model := 'wordllama') IS NULL FROM (VALUES (NULL), (''), "
                       "('  \t\n'), ('x')) AS v(t) ORDER BY t NULLS FIRST").fetchall()
    assert sorted(r[0] for r in rows) == [False, True, True, True]


def test_cut_rule_first_tokens_of_the_first_characters():
    """A long text's vector is that of the first max_length tokens of its first
    STATIC_CHARS_PER_TOKEN * max_length characters, whatever follows."""
    m = M.load("wordllama")
    head = "Simmer the onions in butter, add the garlic and tomatoes. " * 30
    cut = E.STATIC_CHARS_PER_TOKEN * 64
    a, b, c = _fresh([head + "galaxy " * 500, head + "x" * 100_000, head[:cut]], max_length=64)
    assert np.array_equal(a, b) and np.array_equal(a, c)
    ids = m.tokenizer.encode(head[:cut].lower(), add_special_tokens=False).ids[:64]
    assert len(ids) == 64
    want = m.table[ids].astype(np.float64).sum(axis=0)
    assert cos(a, want) >= 0.99999
    short = _fresh([head], max_length=512)
    assert len(head) > cut and cos(short[0], a) < 0.99999  # more tokens read


def test_case_and_whitespace_do_not_change_the_vector():
    """A re-indented, re-cased copy (neardup-dev's 'format' kind) gets the same vector."""
    text = "NAME\n       ls - list directory contents\n\nSYNOPSIS\n       ls [OPTION]... [FILE]..."
    copy = "  name\nls -  List directory contents\n\n\tsynopsis ls [option]...\n[file]...  "
    a, b = _fresh([text, copy])
    assert np.array_equal(a, b)
    assert E.static_text(text, 20) == "name ls - list direc"
    long = " \n" * 5000 + "Word " * 10  # whitespace runs longer than 2 * cut
    assert E.static_text(long, 12) == "word word wo"


def test_mean_chunks_reads_past_the_first_chunk(con):
    assert_mean_chunks_reads_past_the_first_chunk(lambda texts, **kw: _sql_embed(con, texts, **kw))


def test_modified_weights_file_is_refused_naming_both_hashes(con, monkeypatch):
    monkeypatch.setattr(M, "WORDLLAMA_WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(Exception) as err:
        con.execute("SELECT embed('some text', model := 'wordllama')").fetchall()
    assert "0" * 64 in str(err.value) and "64b47a2dc493cb8e" in str(err.value)
    assert "pip install 'wordllama==0.4.0.post1'" in str(err.value)


def test_missing_package_names_the_install_command(con, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None
                        if name == M.WORDLLAMA_PACKAGE else real(name, *a))
    with pytest.raises(Exception, match=r"pip install 'wordllama==0\.4\.0\.post1'"):
        con.execute("SELECT embed('some text', model := 'wordllama')").fetchall()


def test_built_in_names_are_reserved(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        M.register_embedding_model("wordllama", str(tmp_path / "x.onnx"), M.tokenizer_path())


def _safetensors(path: Path, header: dict, data: bytes) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def test_read_safetensors_reads_and_refuses_clearly(tmp_path):
    table = np.arange(12, dtype=np.float16).reshape(3, 4)
    good = tmp_path / "good.safetensors"
    _safetensors(good, {"t": {"dtype": "F16", "shape": [3, 4], "data_offsets": [0, 24]}},
                 table.tobytes())
    assert np.array_equal(S.read_safetensors(str(good), "t"), table.astype(np.float32))
    with pytest.raises(S.StaticModelError, match=r"has no tensor 'u'; it has \['t'\]"):
        S.read_safetensors(str(good), "u")
    short = tmp_path / "short.safetensors"
    _safetensors(short, {"t": {"dtype": "F16", "shape": [3, 5], "data_offsets": [0, 24]}},
                 table.tobytes())
    with pytest.raises(S.StaticModelError, match="not a whole"):
        S.read_safetensors(str(short), "t")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x04\x00\x00\x00\x00\x00\x00\x00{{{{")
    with pytest.raises(S.StaticModelError, match="not JSON"):
        S.read_safetensors(str(junk), "t")


def test_pool_refuses_ids_outside_the_table():
    table = np.eye(3, dtype=np.float32)
    with pytest.raises(S.StaticModelError, match="token id 7 is outside"):
        S.pool(table, [[0, 7]])
    out = S.pool(table, [[0, 0, 1], []])
    assert np.allclose(out[0], np.array([2, 1, 0]) / np.sqrt(5))
    assert np.isnan(out[1]).all()

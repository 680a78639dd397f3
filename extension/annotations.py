"""``corpusql.annotate``: model labels as rows of a ``labels`` table, computed incrementally.

The labels table convention (one row per document text, model file and run)::

    doc_hash VARCHAR        text_fingerprint(text, normalize := false): the exact text
    model VARCHAR           the model name or path given to annotate
    model_sha256 VARCHAR    sha256 of the model file that produced the row
    label VARCHAR           positive or negative (score >= threshold or not)
    score DOUBLE            the model's score (onnx_score)
    created_at TIMESTAMP    when the row was written (UTC)

Human labels live beside it in a table with ``doc_hash, annotator, label, created_at``;
``label_agreement(labels, human_labels, model := ...)`` compares the two.
"""

from __future__ import annotations

import re

import duckdb

from .errors import FunctionArgumentError

LABELS_COLUMNS = ("doc_hash VARCHAR, model VARCHAR, model_sha256 VARCHAR, label VARCHAR, "
                  "score DOUBLE, created_at TIMESTAMP")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


class AnnotateError(FunctionArgumentError):
    """annotate was called with a table, column or model it cannot use."""


def _ident(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise AnnotateError(f"annotate: {what} {name!r} is not a plain table or column name")
    return ".".join(f'"{part}"' for part in name.split("."))


def annotate(con: duckdb.DuckDBPyConnection, tbl: str, text_col: str, model: str = "quality", *,
             labels: str = "labels", threshold: float = 0.5, positive: str = "keep",
             negative: str = "drop") -> int:
    """Score the texts of ``tbl`` with ONNX model ``model`` and append their labels to ``labels``.

    ``model`` is anything ``onnx_score`` takes (a bundled name such as 'quality' or an .onnx
    path), or the name of a head trained by train_linear_head in this process. Each distinct text (by ``doc_hash``) gets one row with its score, the label
    ``positive`` when the score is at least ``threshold`` and ``negative`` otherwise, the model's
    sha256 and the time. Incremental: texts already in ``labels`` for the same model name and
    sha256 are skipped, so a second run scores nothing, and a changed model file scores
    everything again. NULL texts are skipped. Creates ``labels`` when it does not exist.
    Returns the number of rows written.
    """
    from .udfs.onnx_score import model_sha256

    if not 0 <= threshold <= 1:
        raise AnnotateError(f"annotate: threshold = {threshold} must be between 0 and 1")
    table, column, out = _ident(tbl, "table"), _ident(text_col, "column"), _ident(labels, "table")
    if model in _HEADS:  # a head from train_linear_head: embed, then the head
        _create_head_macro(con, model)
        sha, score_sql = _HEADS[model][3], f"{model}(text)"
    else:
        sha, score_sql = model_sha256(model), "onnx_score(text, model := $1)"
    con.execute(f"CREATE TABLE IF NOT EXISTS {out} ({LABELS_COLUMNS})")
    before = con.execute(f"SELECT count(*) FROM {out}").fetchall()[0][0]
    con.execute(f"""
        INSERT INTO {out}
        WITH todo AS (
            SELECT text_fingerprint(t.{column}, normalize := false) AS doc_hash,
                   min(t.{column}) AS text
            FROM {table} AS t
            WHERE t.{column} IS NOT NULL
            GROUP BY ALL
        ),
        fresh AS (
            SELECT doc_hash, text FROM todo
            WHERE doc_hash NOT IN (SELECT doc_hash FROM {out} WHERE model = $1 AND model_sha256 = $2)
        ),
        scored AS (
            SELECT doc_hash, {score_sql} AS score FROM fresh
        )
        SELECT doc_hash, $1, $2, CASE WHEN score >= $3 THEN $4 ELSE $5 END, score,
               CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP)
        FROM scored
        ORDER BY doc_hash""", [model, sha, threshold, positive, negative])
    return con.execute(f"SELECT count(*) FROM {out}").fetchall()[0][0] - before


#: Heads trained in this process: name -> (weights, bias, embedding model, sha256).
_HEADS: dict[str, tuple] = {}


def _auc(scores, labels) -> float:
    """Area under the ROC curve (the Mann-Whitney statistic, ties counted half)."""
    import numpy as np

    order = np.argsort(scores, kind="stable")
    s, y = np.asarray(scores)[order], np.asarray(labels, bool)[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    pos = y.sum()
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * (len(y) - pos)))


def _create_head_macro(con: duckdb.DuckDBPyConnection, name: str) -> None:
    weights, bias, model, _sha = _HEADS[name]
    literal = "[" + ", ".join(repr(float(v)) for v in weights) + "]"
    con.execute(
        f"CREATE OR REPLACE TEMP MACRO {name}(text) AS 1.0 / (1.0 + exp(-(list_dot_product("
        f"CAST(embed(text, model := '{model}') AS FLOAT[]), {literal}::FLOAT[]) + {bias!r})))")


def train_linear_head(con: duckdb.DuckDBPyConnection, tbl: str, emb_col: str, label_col: str,
                      name: str, *, model: str = "minilm", l2: float = 1.0) -> dict:
    """Fit a logistic-regression head on embeddings and expose it as the SQL function ``name``.

    Rows of ``tbl`` with a non-NULL embedding (``emb_col``, from ``embed(text, model := model)``)
    and a non-NULL boolean label (``label_col``) train an L2-regularized logistic regression by
    Newton's method in numpy (deterministic). The head becomes a TEMP macro ``name(text)`` on
    ``con`` giving the positive-class probability of ``embed(text)``, and a model name that
    ``annotate(con, tbl, text_col, name)`` accepts (its model_sha256 covers the weights and the
    embedding model's file). Returns the name, sha256, number of rows and the training AUC.
    """
    import numpy as np

    from .udfs import embed as embed_kernels
    from .udfs import embed_models
    from .udfs.linear_head import fit_logistic, head_sha256

    if not _NAME.match(name) or "." in name:
        raise AnnotateError(f"train_linear_head: name {name!r} must be a plain SQL name")
    table, emb, label = _ident(tbl, "table"), _ident(emb_col, "column"), _ident(label_col, "column")
    rows = con.execute(f"SELECT CAST({emb} AS FLOAT[]), CAST({label} AS BOOLEAN) FROM {table} "
                       f"WHERE {emb} IS NOT NULL AND {label} IS NOT NULL ORDER BY 1, 2").fetchall()
    if not rows:
        raise AnnotateError(f"train_linear_head: {tbl} has no rows with both {emb_col} and "
                            f"{label_col}")
    x = np.array([r[0] for r in rows], dtype=np.float64)
    y = np.array([r[1] for r in rows], dtype=bool)
    if x.shape[1] != embed_kernels.DIM:
        raise AnnotateError(f"train_linear_head: the embeddings in {emb_col} have {x.shape[1]} "
                            f"dimensions but embed() gives {embed_kernels.DIM}")
    weights, bias = fit_logistic(x, y, l2=l2)
    spec = embed_models.spec(model, "train_linear_head")
    base = embed_models.file_sha256(spec.onnx_path, "train_linear_head", "model")
    sha = head_sha256(weights, bias, base)
    _HEADS[name] = (weights.astype(np.float32), bias, model, sha)
    _create_head_macro(con, name)
    auc = _auc(x @ weights + bias, y)
    return {"name": name, "sha256": sha, "n": len(rows), "train_auc": auc}

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

LABELS_COLUMNS = ("doc_hash VARCHAR, model VARCHAR, model_sha256 VARCHAR, label VARCHAR, "
                  "score DOUBLE, created_at TIMESTAMP")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


class AnnotateError(ValueError):
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
    path). Each distinct text (by ``doc_hash``) gets one row with its score, the label
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
    sha = model_sha256(model)
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
            SELECT doc_hash, onnx_score(text, model := $1) AS score FROM fresh
        )
        SELECT doc_hash, $1, $2, CASE WHEN score >= $3 THEN $4 ELSE $5 END, score,
               CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP)
        FROM scored
        ORDER BY doc_hash""", [model, sha, threshold, positive, negative])
    return con.execute(f"SELECT count(*) FROM {out}").fetchall()[0][0] - before

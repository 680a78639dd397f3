"""corpusql.annotate (extension/annotations.py): incremental model labels, then agreement."""

from __future__ import annotations

import pyarrow as pa
import pytest

import corpusql
from corpusql.udfs.onnx_score import model_sha256

TEXTS = [
    "The daemon reads its configuration file at startup and reloads it on SIGHUP.",
    "click here click here buy now buy now best price best price",
    "Use the --verbose option to print each file name as it is processed.",
    "lorem ipsum home | about | contact | login | sign up | cart",
    "The package manager resolves dependencies before it installs anything.",
    None,
    "The daemon reads its configuration file at startup and reloads it on SIGHUP.",  # a copy
]


def test_second_run_scores_nothing_and_new_texts_only(con):
    con.register("docs", pa.table({"id": range(len(TEXTS)), "text": TEXTS}))
    assert corpusql.annotate(con, "docs", "text", "quality") == 5  # distinct, non-NULL texts
    assert corpusql.annotate(con, "docs", "text", "quality") == 0
    rows = con.execute("SELECT doc_hash, model, model_sha256, label, score, created_at "
                       "FROM labels ORDER BY doc_hash").fetchall()
    assert {r[1] for r in rows} == {"quality"}
    assert {r[2] for r in rows} == {model_sha256("quality")}
    assert all((r[3] == "keep") == (r[4] >= 0.5) for r in rows)
    want = con.execute("SELECT DISTINCT text_fingerprint(text, normalize := false), "
                       "quality_score(text) FROM docs WHERE text IS NOT NULL ORDER BY 1").fetchall()
    assert [(r[0], r[4]) for r in rows] == want
    more = [*TEXTS, "A new manual page describes the options of the copy command in detail."]
    con.register("docs", pa.table({"id": range(len(more)), "text": more}))
    assert corpusql.annotate(con, "docs", "text", "quality") == 1


def test_labels_feed_label_agreement(con):
    con.register("docs", pa.table({"id": range(5), "text": TEXTS[:5]}))
    corpusql.annotate(con, "docs", "text", "quality", labels="model_labels", threshold=0.5)
    con.execute("CREATE TABLE human AS SELECT text_fingerprint(text, normalize := false) "
                "AS doc_hash, 'ann' AS annotator, CASE WHEN id % 2 = 0 THEN 'keep' ELSE 'drop' "
                "END AS label, now() AS created_at FROM docs")
    rows = con.execute("SELECT label, n_compared FROM label_agreement('model_labels', 'human')"
                       ).fetchall()
    assert rows and all(r[1] == 5 for r in rows)


def test_bad_names_and_threshold_fail_clearly(con):
    with pytest.raises(ValueError, match="not a plain table or column name"):
        corpusql.annotate(con, "docs; DROP TABLE x", "text")
    with pytest.raises(ValueError, match="threshold = 2 must be between 0 and 1"):
        corpusql.annotate(con, "docs", "text", threshold=2)

"""The mix a user asked for is the mix the trainer sees: exported tokens per source minus one
EOS per document equal mix_report's achieved tokens (same tokenizer as token_count)."""

from __future__ import annotations

import pytest
from export_helpers import wide_tokenizer

from corpusql.export_tokens import export_tokens


@pytest.mark.parametrize("custom", [False, True], ids=["default", "tokenizer.json"])
def test_export_tokens_match_mix_report(docs, tmp_path, custom):
    tok = wide_tokenizer(tmp_path / "wide.json") if custom else "default"
    docs.execute("CREATE TABLE t AS SELECT *, token_count(text, tokenizer := ?) AS n_tokens "
                 "FROM docs", [tok])
    docs.execute("CREATE TABLE w AS SELECT * FROM (VALUES ('man', 0.6), ('web', 0.3), "
                 "('code', 0.1)) AS w(group_key, weight)")
    (total,) = docs.execute("SELECT sum(n_tokens) FROM t").fetchone()
    budget = int(total * 1.5)  # the small sources repeat: epochs > 1
    query = f"SELECT * FROM mix('t', 'w', {budget}, seed := 0, \"by\" := 'source')"
    report = {row[0]: row[1:] for row in docs.execute(
        f"SELECT group_key, achieved_tokens, n_copies, epochs_used FROM mix_report('t', 'w', "
        f"{budget}, seed := 0, \"by\" := 'source')").fetchall()}
    r = export_tokens(docs, query, tmp_path / "mix", tokenizer=tok, order_by="id, epoch")
    groups = r.manifest["groups"]
    assert r.manifest["by"] == "mix_group"
    assert set(groups) == set(report)
    (nulls,) = docs.execute(f"SELECT count(*) FROM ({query}) WHERE text IS NULL").fetchone()
    assert r.manifest["null_texts"] == nulls
    for source, (achieved, copies, epochs) in report.items():
        g = groups[source]
        assert g["tokens"] - g["documents"] == achieved, source
        assert g["epochs"] == epochs, source
        (non_null,) = docs.execute(
            f"SELECT count(*) FROM ({query}) WHERE mix_group = ? AND text IS NOT NULL",
            [source]).fetchone()
        assert g["documents"] == non_null <= copies
    assert max(g["epochs"] for g in groups.values()) > 1
    assert sum(g["tokens"] for g in groups.values()) == r.tokens

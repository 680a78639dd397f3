"""The demo's removal log and stdout summary say why each document left, with the values."""

from __future__ import annotations

import inspect
import operator
import re

import duckdb
import pytest

from corpusql.udfs.quality import repetition

OPS = {">": operator.gt, "<": operator.lt}
TRIPLE = re.compile(r"(\w+) = (-?[\d.e+-]+) ([<>]) (-?[\d.e+-]+)")


@pytest.fixture(scope="module")
def lake(demo_release):
    db = duckdb.connect(str(demo_release / "lake.duckdb"), read_only=True)
    yield db
    db.close()


def test_summary_prints_every_reason_of_a_step(demo_run, lake):
    """A step that removed documents for several reasons lists them with their counts."""
    summary = demo_run.summary()
    reasons = lake.execute(
        "SELECT reason, count(*) AS n FROM demo_removed_log WHERE step = 'gopher_repetition' "
        "GROUP BY ALL ORDER BY n DESC, reason").fetchall()
    assert len(reasons) > 2
    total = sum(n for _, n in reasons)
    assert re.search(rf"removed: gopher_repetition +\| {len(reasons)} reasons: +\| +-{total} \|",
                     summary), summary
    for reason, n in reasons[:4]:
        assert re.search(rf"\| +{reason} +\| +-{n} \|", summary), (reason, n, summary)
    rest = reasons[4:]
    assert f"{len(rest)} other reasons" in summary
    # the language step (one reason per detected language) is listed the same way
    (n_lang,) = lake.execute("SELECT count(DISTINCT reason) FROM demo_removed_log "
                             "WHERE step = 'language'").fetchone()
    assert f"{n_lang} reasons:" in summary
    # per-step totals are unchanged
    steps = dict(lake.execute("SELECT step, count(*) FROM demo_removed_log GROUP BY step"
                              ).fetchall())
    assert {s: n for s, _, n in demo_run.removed} == steps


def test_every_removal_has_the_values_that_decided_it(lake):
    rows = lake.execute("SELECT id, step, reason, detail FROM demo_removed_log").fetchall()
    missing = [r for r in rows if not r[3]]
    assert not missing, missing[:5]
    exact = {(i, s): v for i, s, v in lake.execute(
        "SELECT id, signal, value FROM demo_signals_log").fetchall()}
    checked = 0
    for id_, step, reason, detail in rows:
        if step not in ("gopher_repetition", "quality_model"):
            continue
        triples = TRIPLE.findall(detail)
        assert triples, detail
        for name, value, op, threshold in triples:
            # the shown value is the signal rounded to 3 places; the rule holds on the exact one
            assert float(value) == round(exact[id_, name], 3), (detail, exact[id_, name])
            assert OPS[op](exact[id_, name], float(threshold)), detail
            checked += 1
        if step == "gopher_repetition":
            assert triples[0][0] == reason  # the first failing rule is the reason
    assert checked > 300
    near = [d for _, s, _, d in rows if s == "near_dedup"]
    assert all(re.match(r"jaccard with the kept text = [\d.]+, cluster of \d+$", d) for d in near)
    assert any(d.startswith("lang_id = ") for _, s, _, d in rows if s == "language")


def test_thresholds_are_the_kernels_defaults(lake):
    """The recipe's threshold table states what gopher_repetition_reasons applies."""
    table = {s: (op, t) for s, op, t in lake.execute(
        "SELECT signal, op, threshold FROM demo_thresholds_log").fetchall()}
    params = inspect.signature(repetition.gopher_repetition_reasons).parameters
    expected = {k: params[k].default for k in
                ("dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac")}
    expected |= {f"top_{n}_gram": f for n, f in repetition.TOP_N_GRAMS}
    expected |= {f"duplicated_{n}_n_grams": f for n, f in repetition.DUP_N_GRAMS}
    for signal, threshold in expected.items():
        assert table[signal] == (">", pytest.approx(threshold)), signal
    assert table["quality"] == ("<", 0.5)
    (n_signals,) = lake.execute("SELECT count(DISTINCT signal) FROM demo_signals_log").fetchone()
    assert n_signals == len(table)


def test_summary_counts_flagged_documents_that_were_kept(demo_run, lake):
    """"flagged: F | kept; ..." counts the documents kept with a flag of F, as the report does
    (flags of documents a later stage removed are not "kept")."""
    kept = dict(lake.execute(
        "SELECT filter, count(DISTINCT id) FROM demo_flags_log WHERE id NOT IN "
        "(SELECT id FROM demo_removed_log) GROUP BY filter").fetchall())
    assert {f: n for f, _, n in demo_run.flagged} == kept
    for f, n in kept.items():
        assert re.search(rf"flagged: {f} +\| kept; most often \w+ +\| +{n} \|",
                         demo_run.summary())

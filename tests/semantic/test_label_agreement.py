"""label_confusion and label_agreement (sql/semantic/) against Cohen's kappa written out."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pyarrow as pa
import pytest

T0 = dt.datetime(2026, 1, 1)


def _tables(seed):
    rng = random.Random(seed)
    values = ["good", "bad", "spam"]
    labels, human = [], []
    for d in range(120):
        for version in range(rng.randint(0, 2)):  # 0-2 model runs; the latest counts
            labels.append((f"h{d}", "m", "sha", rng.choice(values), rng.random(),
                           T0 + dt.timedelta(days=version)))
        labels.append((f"h{d}", "other", "sha2", "good", 0.5, T0))
        for a in range(rng.randint(0, 3)):
            human.append((f"h{d}", f"ann{a}", rng.choice(values + [None]), T0))
    lab = pa.table({k: [r[i] for r in labels] for i, k in enumerate(
        ["doc_hash", "model", "model_sha256", "label", "score", "created_at"])})
    hum = pa.table({k: [r[i] for r in human] for i, k in enumerate(
        ["doc_hash", "annotator", "label", "created_at"])})
    return labels, human, lab, hum


def _reference(labels, human):
    latest = {}
    for d, m, _, label, _, _at in sorted(labels, key=lambda r: r[5]):
        if m == "m":
            latest[d] = label
    pairs = [(latest[d], y) for d, _, y, _ in human if d in latest and y is not None]
    n = len(pairs)
    model, hum = Counter(p[0] for p in pairs), Counter(p[1] for p in pairs)
    p_o = sum(a == b for a, b in pairs) / n
    p_e = sum(model[k] * hum[k] for k in set(model) | set(hum)) / n / n
    return Counter(pairs), (p_o - p_e) / (1 - p_e), p_o, model, hum


@pytest.mark.parametrize("seed", range(3))
def test_confusion_and_kappa_match_the_definition(mcon, seed):
    labels, human, lab, hum = _tables(seed)
    mcon.register("lab", lab)
    mcon.register("hum", hum)
    cells, kappa, accuracy, model, humc = _reference(labels, human)
    got = mcon.execute("SELECT model_label, human_label, n FROM label_confusion('lab', 'hum', "
                       "model := 'm')").fetchall()
    assert {(a, b): n for a, b, n in got} == dict(cells)
    rows = mcon.execute("SELECT * FROM label_agreement('lab', 'hum', model := 'm')").fetchall()
    for label, n_model, n_human, n_agree, precision, recall, n, acc, k in rows:
        assert (n_model, n_human, n_agree) == (model[label], humc[label], cells[(label, label)])
        assert precision == (pytest.approx(n_agree / n_model) if n_model else None)
        assert recall == (pytest.approx(n_agree / n_human) if n_human else None)
        assert n == sum(cells.values())
        assert acc == pytest.approx(accuracy) and k == pytest.approx(kappa)


def test_several_models_need_a_choice(mcon):
    _, _, lab, hum = _tables(0)
    mcon.register("lab", lab)
    mcon.register("hum", hum)
    with pytest.raises(Exception, match="holds labels of models m, other; pass model :="):
        mcon.execute("SELECT * FROM label_agreement('lab', 'hum')").fetchall()

"""threshold_for (sql/semantic/threshold_for.sql) against a brute force over every threshold."""

from __future__ import annotations

import math
import random

import pyarrow as pa
import pytest


def _data(seed):
    rng = random.Random(seed)
    scores = [None if rng.random() < 0.05 else round(rng.random(), 2) for _ in range(300)]
    labels = [None if rng.random() < 0.05 else rng.random() < (s or 0) for s in scores]
    return scores, labels


def _at(scores, labels, t):
    kept = [(s, y) for s, y in zip(scores, labels) if s is not None and s >= t]
    lab = [y for _, y in kept if y is not None]
    pos = sum(1 for s, y in zip(scores, labels) if s is not None and y)
    return len(kept), (sum(lab) / len(lab) if lab else None), sum(lab) / pos


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("fraction", [0.01, 0.3, 0.5, 1.0])
def test_keep_fraction_is_the_kth_highest_score(mcon, seed, fraction):
    scores, labels = _data(seed)
    mcon.register("s", pa.table({"score": scores, "good": labels}))
    got = mcon.execute(f"SELECT threshold, n_scored, n_kept, precision, recall FROM threshold_for("
                      f"'s', 'score', keep_fraction := {fraction}, label_col := 'good')").fetchall()
    present = sorted((s for s in scores if s is not None), reverse=True)
    want_t = present[max(1, math.ceil(fraction * len(present))) - 1]
    n_kept, precision, recall = _at(scores, labels, want_t)
    assert got[0][:3] == (want_t, len(present), n_kept)
    assert got[0][3] == pytest.approx(precision) and got[0][4] == pytest.approx(recall)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("target", [0.6, 0.8, 0.95])
def test_target_precision_keeps_the_most_rows_reaching_it(mcon, seed, target):
    scores, labels = _data(seed)
    mcon.register("s", pa.table({"score": scores, "good": labels}))
    candidates = sorted({s for s in scores if s is not None})
    ok = [t for t in candidates if (_at(scores, labels, t)[1] or 0) >= target]
    sql = (f"SELECT threshold, n_kept, precision FROM threshold_for('s', 'score', "
           f"target_precision := {target}, label_col := 'good')")
    if not ok:
        with pytest.raises(Exception, match="no threshold reaches precision"):
            mcon.execute(sql).fetchall()
        return
    got = mcon.execute(sql).fetchall()[0]
    assert got[0] == min(ok)
    assert got[1] == _at(scores, labels, min(ok))[0] and got[2] >= target


def test_bad_arguments_fail_clearly(con):
    con.register("s", pa.table({"score": [0.1, 0.5], "good": [False, True]}))
    with pytest.raises(Exception, match=r"keep_fraction = 1.5 must be in \(0, 1\]"):
        con.execute("SELECT * FROM threshold_for('s', 'score', keep_fraction := 1.5)").fetchall()
    with pytest.raises(Exception, match="target_precision needs label_col"):
        con.execute("SELECT * FROM threshold_for('s', 'score', target_precision := 0.9)"
                    ).fetchall()

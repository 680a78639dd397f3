"""Quality signal distributions for the report: for each signal, the share of each source's
documents per bin (so sources of very different sizes compare), with the threshold drawn.

A histogram bin's height is (documents of the source in the bin) / (documents of the source with
a value), so each source's line sums to 100%. The bins are BINS equal widths from the smallest
to the largest value (the threshold included).
"""

from __future__ import annotations

from html import escape

import numpy as np

from .report_html import table
from .report_svg import histogram

BINS = 30
MAX_SIGNAL_PLOTS = 8
OPS = {">": np.greater, "<": np.less, ">=": np.greater_equal, "<=": np.less_equal}


def signal_plots(values: dict[str, dict[str, list[float]]],
                 thresholds: dict[str, tuple[str, float]], *, what: str = "documents") -> str:
    """``values``: signal -> source -> values; ``thresholds``: signal -> (op, threshold)."""
    if not values:
        return "<p>No quality signals to draw.</p>"
    summary = []
    for signal, by_source in values.items():
        allv = np.concatenate([np.asarray(v, dtype=float) for v in by_source.values()])
        if signal in thresholds:
            op, t = thresholds[signal]
            past = int(OPS[op](allv, t).sum())
            summary.append((signal, f"{op} {t:g}", len(allv), past, past / max(1, len(allv))))
        else:
            summary.append((signal, "", len(allv), None, None))
    summary.sort(key=lambda r: (r[3] is None, -(r[3] or 0), r[0]))
    plots = []
    for signal, *_ in summary[:MAX_SIGNAL_PLOTS]:
        by_source = values[signal]
        allv = np.concatenate([np.asarray(v, dtype=float) for v in by_source.values()])
        lo, hi = float(allv.min()), float(allv.max())
        marks = []
        if signal in thresholds:
            op, t = thresholds[signal]
            lo, hi = min(lo, t), max(hi, t)
            marks = [(t, f"threshold: {op} {t:g} is cut")]
        if hi <= lo:
            hi = lo + 1
        edges = np.linspace(lo, hi, BINS + 1)
        series = {}
        for source, v in sorted(by_source.items()):
            counts, _ = np.histogram(np.asarray(v, dtype=float), bins=edges)
            series[f"{source} ({len(v):,})"] = list(counts / max(1, len(v)))
        plots.append(histogram(list(edges), series, title=signal, xlabel=signal,
                               ylabel=f"share of the source's {what}", thresholds=marks))
    rows = [(s, rule, n, past, None if share is None else f"{share:.1%}")
            for s, rule, n, past, share in summary]
    more = len(summary) - MAX_SIGNAL_PLOTS
    note = (f"<p>{more} more signals are in the table, not drawn "
            f"(MAX_SIGNAL_PLOTS = {MAX_SIGNAL_PLOTS}).</p>" if more > 0 else "")
    return (table(["signal", "rule", escape(what), "past the threshold", "share"], rows)
            + "\n".join(plots) + note)


def from_log(con, signals: str, thresholds: str | None) -> str:
    """Plots from a signal log (id, source, signal, value) and a threshold table."""
    values: dict[str, dict[str, list[float]]] = {}
    for signal, source, value in con.execute(
            f"SELECT signal, CAST(source AS VARCHAR), CAST(value AS DOUBLE) FROM {signals} "
            "WHERE value IS NOT NULL ORDER BY signal, source").fetchall():
        values.setdefault(signal, {}).setdefault(source, []).append(value)
    limits = {}
    if thresholds:
        limits = {s: (op, float(t)) for s, op, t in con.execute(
            f"SELECT signal, op, threshold FROM {thresholds} ORDER BY signal").fetchall()}
    return signal_plots(values, limits)

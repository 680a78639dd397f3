"""Charts for the HTML report as inline SVG: grouped bars and histograms as lines.

Plain SVG text, no plotting library and no external reference, so the page works offline and
from a base install. Every chart has a title and labeled axes; label space is measured from the
labels (about 0.6 em per character), so no label is cut off.
"""

from __future__ import annotations

import math
from html import escape

PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
           "#8c8c8c", "#ccb974", "#64b5cd")
FONT = 12
WIDTH = 760
PLOT_HEIGHT = 220


def _text_width(s: str, size: float = FONT) -> float:
    return len(s) * 0.6 * size


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of 10)."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks = []
    v = start
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    if ticks[-1] < hi:
        ticks.append(round(v, 12))
    return ticks


def fmt_tick(v: float, percent: bool = False) -> str:
    if percent:
        return f"{v * 100:.0f}%" if abs(v * 100 - round(v * 100)) < 1e-9 else f"{v * 100:.1f}%"
    if abs(v - round(v)) < 1e-9 and abs(v) < 1e15:
        return f"{int(round(v)):,}"
    return f"{v:.3g}"


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    return (f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
            f'height="{height:.0f}" role="img" aria-label="{escape(title)}" '
            f'font-family="system-ui, sans-serif" font-size="{FONT}">'
            f'<title>{escape(title)}</title>' + "".join(body) + "</svg>")


def _t(x: float, y: float, s: str, anchor: str = "middle", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>'
            f"{escape(s)}</text>")


def _frame(title: str, xlabel: str, ylabel: str, y_ticks: list[str], bottom: float,
           legend: list[str], min_left: float = 0) -> tuple[float, float, float, float,
                                                           list[str]]:
    """Margins (left, top, plot width, plot height) and the title and axis labels."""
    left = max(26 + max((_text_width(s) for s in y_ticks), default=0) + 10, min_left)
    legend_w = (max(_text_width(s) for s in legend) + 30) if legend else 0
    top = 30
    plot_w = WIDTH - left - 16 - legend_w
    body = [_t(WIDTH / 2, 18, title, extra=' font-weight="bold" font-size="13"'),
            _t(left + plot_w / 2, top + PLOT_HEIGHT + bottom - 6, xlabel),
            _t(12, top + PLOT_HEIGHT / 2, ylabel,
               extra=f' transform="rotate(-90 12 {top + PLOT_HEIGHT / 2:.1f})"')]
    for i, name in enumerate(legend):
        x, y = left + plot_w + 14, top + 8 + 18 * i
        body.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="12" height="10" '
                    f'fill="{PALETTE[i % len(PALETTE)]}"/>')
        body.append(_t(x + 17, y, name, anchor="start"))
    return left, top, plot_w, PLOT_HEIGHT, body


def _y_axis(body, left, top, plot_w, plot_h, ticks, ymax, percent):
    for v in ticks:
        y = top + plot_h - plot_h * v / ymax
        body.append(f'<line x1="{left:.1f}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
                    'stroke="#e4e4e4"/>')
        body.append(_t(left - 5, y + 4, fmt_tick(v, percent), anchor="end"))
    body.append(f'<line x1="{left:.1f}" x2="{left:.1f}" y1="{top:.1f}" y2="{top + plot_h:.1f}" '
                'stroke="#555"/>')
    body.append(f'<line x1="{left:.1f}" x2="{left + plot_w:.1f}" y1="{top + plot_h:.1f}" '
                f'y2="{top + plot_h:.1f}" stroke="#555"/>')


def bars(categories: list[str], series: dict[str, list[float]], *, title: str, xlabel: str,
         ylabel: str, percent: bool = False, notes: list[str] | None = None) -> str:
    """Vertical bars, one group per category and one bar per series, each labeled with its
    value; ``notes`` (one per category) are printed under the category label."""
    ymax_data = max((v for vs in series.values() for v in vs), default=0) or 1
    ticks = nice_ticks(0, ymax_data)
    ymax = ticks[-1]
    slot = (WIDTH - 200) / max(1, len(categories))
    longest = max((_text_width(c) for c in categories), default=0)
    rotate = longest > slot - 4
    bottom = 40 + (longest * 0.72 if rotate else 0) + (16 if notes else 0)
    legend = list(series) if len(series) > 1 else []
    tick_labels = [fmt_tick(v, percent) for v in ticks]
    # a label rotated by 45 degrees reaches 0.71 of its length left of its category's middle
    min_left = longest * 0.72 - slot / 2 + 8 if rotate else 0
    left, top, plot_w, plot_h, body = _frame(title, xlabel, ylabel, tick_labels, bottom, legend,
                                             min_left)
    _y_axis(body, left, top, plot_w, plot_h, ticks, ymax, percent)
    slot = plot_w / max(1, len(categories))
    bar_w = min(40.0, slot * 0.8 / max(1, len(series)))
    for i, cat in enumerate(categories):
        x0 = left + slot * i + (slot - bar_w * len(series)) / 2
        for j, (_name, values) in enumerate(series.items()):
            v = values[i]
            h = plot_h * v / ymax
            x = x0 + bar_w * j
            body.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 1:.1f}" '
                        f'height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}"/>')
            label = f"{v:.1%}" if percent else fmt_tick(v)
            body.append(_t(x + bar_w / 2, top + plot_h - h - 3, label,
                           extra=' font-size="10"'))
        cx, cy = left + slot * (i + 0.5), top + plot_h + 15
        if rotate:
            body.append(_t(cx, cy, cat, anchor="end", extra=f' transform="rotate(-45 {cx:.1f} '
                                                            f'{cy:.1f})"'))
        else:
            body.append(_t(cx, cy, cat))
        if notes:
            body.append(_t(cx, top + plot_h + bottom - 24, notes[i], extra=' fill="#555"'))
    return _svg(WIDTH, top + plot_h + bottom, title, body)


def histogram(edges: list[float], series: dict[str, list[float]], *, title: str, xlabel: str,
              ylabel: str, thresholds: list[tuple[float, str]] = ()) -> str:
    """Step lines over the bins ``edges`` (len(values) + 1 edges), one per series, y as shares
    (0-1); each threshold is a dashed red vertical line with its label."""
    ymax_data = max((v for vs in series.values() for v in vs), default=0) or 1
    ticks = nice_ticks(0, ymax_data)
    ymax = ticks[-1]
    lo, hi = edges[0], edges[-1]
    for x, _ in thresholds:
        lo, hi = min(lo, x), max(hi, x)
    if hi <= lo:
        hi = lo + 1
    legend = list(series)
    left, top, plot_w, plot_h, body = _frame(title, xlabel, ylabel,
                                             [fmt_tick(v, True) for v in ticks], 40, legend)
    _y_axis(body, left, top, plot_w, plot_h, ticks, ymax, True)

    def sx(v: float) -> float:
        return left + plot_w * (v - lo) / (hi - lo)

    for v in nice_ticks(lo, hi, 6):
        if lo - 1e-12 <= v <= hi + 1e-12:
            body.append(f'<line x1="{sx(v):.1f}" x2="{sx(v):.1f}" y1="{top + plot_h:.1f}" '
                        f'y2="{top + plot_h + 4:.1f}" stroke="#555"/>')
            body.append(_t(sx(v), top + plot_h + 16, fmt_tick(v)))
    for j, (_name, shares) in enumerate(series.items()):
        pts = []
        for k, share in enumerate(shares):
            y = top + plot_h - plot_h * share / ymax
            pts += [f"{sx(edges[k]):.1f},{y:.1f}", f"{sx(edges[k + 1]):.1f},{y:.1f}"]
        body.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke-width="1.6" '
                    f'stroke="{PALETTE[j % len(PALETTE)]}"/>')
    for x, label in thresholds:
        body.append(f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{top:.1f}" '
                    f'y2="{top + plot_h:.1f}" stroke="#d62728" stroke-dasharray="5 3" '
                    'stroke-width="1.5"/>')
        anchor = "end" if sx(x) > left + plot_w / 2 else "start"
        dx = -4 if anchor == "end" else 4
        body.append(_t(sx(x) + dx, top + 12, label, anchor=anchor, extra=' fill="#d62728"'))
    return _svg(WIDTH, top + plot_h + 40, title, body)

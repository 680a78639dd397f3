"""Plain-text rendering of query results for the CLI and the shell."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

MODES = ("table", "csv", "json", "markdown")


def _cell(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], mode: str = "table",
           max_width: int = 60) -> str:
    """Render rows as an aligned table, CSV, JSON lines or a Markdown table."""
    if mode == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        w.writerows([["" if v is None else v for v in r] for r in rows])
        return buf.getvalue().rstrip("\n")
    if mode == "json":
        return "\n".join(json.dumps(dict(zip(columns, r)), default=str, ensure_ascii=False)
                         for r in rows)
    cells = [[_cell(v).replace("\n", "\\n") for v in r] for r in rows]
    cells = [[c if len(c) <= max_width else c[: max_width - 1] + "…" for c in r] for r in cells]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    if mode == "markdown":
        lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |",
                 "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
        return "\n".join(lines)
    if mode != "table":
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    sep = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(vals):
        return "| " + " | ".join(
            v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(vals, widths)) + " |"

    out = [sep, "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |", sep]
    out += [line(r) for r in cells]
    out.append(sep)
    return "\n".join(out)


def _numeric(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True

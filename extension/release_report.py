"""The report's "Changes" section: what the latest version of each versioned release changed.

For each versioned release at the report's path (the path itself or one level below) with at
least two versions, the section shows documents and tokens added and removed per source
between the two latest versions (``release_diff_summary``), the removed documents by stage and
reason (``release_diff``: takedowns and the recipe's removal log) and the takedowns the latest
version records.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

MAX_REASONS = 30  # rows of the removed-by-stage table (the most frequent stage and reason)


def _roots(out: Path) -> list[Path]:
    from .releases import is_versioned

    if is_versioned(out):
        return [out]
    if not out.is_dir():
        return []
    return [d for d in sorted(out.iterdir()) if d.is_dir() and is_versioned(d)]


def changes(con, out: Path, table) -> str:
    """HTML of the section; ``table(headers, rows)`` renders a table as the report does."""
    from .releases import current, versions

    parts = []
    for root in _roots(out):
        have, cur = versions(root), current(root)
        older = [v for v in have if cur and int(v[1:]) < int(cur[1:])]
        if not older:
            parts.append(f"<p>{html.escape(root.name)}: {html.escape(str(cur))} is the only "
                         "version kept.</p>")
            continue
        prev = older[-1]
        rows = con.execute(
            "SELECT coalesce(source, '(none)'), documents_added, tokens_added, "
            "documents_removed, tokens_removed FROM release_diff_summary($a, $b)",
            {"a": str(root / prev), "b": str(root / cur)}).fetchall()
        parts.append(f"<h3>{html.escape(root.name)}: {prev} &rarr; {cur}</h3>")
        parts.append(table(["source", "documents added", "tokens added", "documents removed",
                            "tokens removed"], rows) if rows else "<p>No document changed.</p>")
        why = con.execute(
            "SELECT coalesce(stage, '(not recorded)'), coalesce(reason, ''), count(*), "
            "sum(tokens)::BIGINT FROM release_diff($a, $b) WHERE change = 'removed' "
            "GROUP BY ALL ORDER BY 3 DESC, 1, 2 LIMIT $n",
            {"a": str(root / prev), "b": str(root / cur), "n": MAX_REASONS}).fetchall()
        if why:
            parts.append(table(["removed by stage", "reason", "documents", "tokens"], why))
        man = json.loads((root / cur / "_manifest.json").read_text("utf-8"))
        taken = [(t["request_id"], t["reason"], t.get("applied", ""), t["removed"])
                 for t in man.get("takedowns") or []]
        if taken:
            parts.append(table(["takedown request", "reason", "applied", "documents removed"],
                               taken))
    return "\n".join(parts) or "<p>No versioned release here (materialize with "\
        "versioned=True to keep versions).</p>"

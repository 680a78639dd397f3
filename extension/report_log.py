"""The report's sections read from a corpusql database beside the output: what each stage removed
and why, duplicate clusters, quality signals against their thresholds, flagged documents and the
mix.

The logs are found by their columns, so any recipe that keeps them is drawn:

- removal log: ``id, step, reason`` and optionally ``detail`` (the values that decided it); a
  reason ending in ``of <id>`` names the kept copy of a duplicate; stages are in the log's row
  order (the first row of each step);
- flag log: ``id, filter, reason`` (documents kept but marked);
- signal log: ``id, source, signal, value``, and a threshold table ``signal, op, threshold``
  (a document is removed or flagged when ``value op threshold``);
- mix report: ``group_key, target_share, achieved_share, epochs_used``;
- the dataset the logs' ids refer to: any relation with ``id`` and ``text`` that holds the removed
  ids (its ``source`` column, when present, groups documents by source).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

import duckdb

from .report_diff import side_by_side
from .report_html import details, table
from .report_svg import bars

EXAMPLES = 20  # removed or flagged documents listed per reason
LARGEST_CLUSTERS = 3  # clusters per dedup step shown as kept-beside-removed
SNIPPET = 160  # characters of a document's text shown in example tables
MAX_TOKENIZED_DOCS = 2_000_000  # above this many documents the report counts no tokens
KEPT = r" of (\S+)$"  # a duplicate's reason names its kept copy last
REQUIRED = {
    "removed": {"id", "step", "reason"},
    "flags": {"id", "filter", "reason"},
    "signals": {"id", "source", "signal", "value"},
    "thresholds": {"signal", "op", "threshold"},
    "mix": {"group_key", "target_share", "achieved_share", "epochs_used"},
}


@dataclass
class Logs:
    removed: str | None = None
    flags: str | None = None
    signals: str | None = None
    thresholds: str | None = None
    mix: str | None = None
    docs: str | None = None  # TEMP table report_docs(id, source, text, n_tokens) when found
    has_detail: bool = False
    total_docs: int | None = None  # documents in the dataset the logs refer to
    total_tokens: int | None = None  # their tokens (None: more than MAX_TOKENIZED_DOCS)


def find_logs(con, db: str) -> Logs:
    """The logs in attached database ``db`` (the first relation by name with each's columns).
    Copies the documents the logs name (removed, kept copies of duplicates, flagged), with their
    token counts, into TEMP table report_docs, and counts the dataset's documents and tokens
    (tokens only up to MAX_TOKENIZED_DOCS documents)."""
    cols: dict[str, set[str]] = {}
    for schema, name, column in con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = ? ORDER BY ALL", [db]).fetchall():
        cols.setdefault(f'{db}."{schema}"."{name}"', set()).add(column)
    logs = Logs()
    for kind, need in REQUIRED.items():
        setattr(logs, kind, next((t for t, c in cols.items() if need <= c), None))
    if logs.removed:
        logs.has_detail = "detail" in cols[logs.removed]
        for rel, c in cols.items():
            if {"id", "text"} <= c and rel not in (logs.removed, logs.flags):
                (found,) = con.execute(
                    f"SELECT count(*) FROM (SELECT id FROM {logs.removed} LIMIT 50) AS r "
                    f"WHERE id IN (SELECT id FROM {rel})").fetchone()
                if found:
                    _copy_docs(con, logs, rel, "source" if "source" in c else "'(all)'")
                    break
    return logs


def _copy_docs(con, logs: Logs, rel: str, source: str) -> None:
    (logs.total_docs,) = con.execute(f"SELECT count(*) FROM {rel}").fetchone()
    count = logs.total_docs <= MAX_TOKENIZED_DOCS
    if count:  # one tokenizing pass: every document's id and token count
        con.execute("CREATE OR REPLACE TEMP TABLE report_tokens AS SELECT id, "
                    f"coalesce(token_count(text), 0) AS n_tokens FROM {rel}")
        (logs.total_tokens,) = con.execute("SELECT coalesce(sum(n_tokens), 0) FROM report_tokens"
                                           ).fetchone()
    named = [f"SELECT CAST(id AS VARCHAR) AS id FROM {logs.removed}",
             f"SELECT regexp_extract(reason, '{KEPT}', 1) FROM {logs.removed} "
             f"WHERE regexp_matches(reason, '{KEPT}')"]
    if logs.flags:
        named.append(f"SELECT CAST(id AS VARCHAR) FROM {logs.flags}")
    join = " LEFT JOIN report_tokens AS t USING (id)" if count else ""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE report_docs AS SELECT r.id, CAST({source} AS VARCHAR) "
        f"AS source, r.text, {'t.n_tokens' if count else 'NULL'} AS n_tokens FROM {rel} AS r"
        f"{join} WHERE CAST(r.id AS VARCHAR) IN ({' UNION '.join(named)})")
    logs.docs = "report_docs"


def _snippet(text: str | None) -> str:
    s = " ".join((text or "").split())
    return s if len(s) <= SNIPPET else s[:SNIPPET] + "…"


def _docs_join(logs: Logs) -> tuple[str, str, str]:
    """(join clause, source expression, text expression) for a log aliased ``l``."""
    if not logs.docs:
        return "", "NULL", "NULL"
    return f" LEFT JOIN {logs.docs} AS d ON d.id = l.id", "d.source", "d.text"


def stages(con, logs: Logs) -> str:
    """Per stage: documents and tokens in, removed and out; its reasons with counts; for each
    reason up to EXAMPLES removed documents with the values that decided it."""
    if not logs.removed:
        return "<p>The database has no removal log (a table with id, step and reason).</p>"
    join, source, text = _docs_join(logs)
    tokens = "d.n_tokens" if logs.docs else "NULL"
    detail = "l.detail" if logs.has_detail else "NULL"
    try:  # a table's row order is the stage order; a view's is not defined
        con.execute(f"SELECT rowid FROM {logs.removed} LIMIT 0")
        pos = "l.rowid"
    except duckdb.Error:
        pos = "NULL"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE report_removed AS SELECT l.id, l.step, l.reason, "
        f"regexp_replace(l.reason, ' of .*', ' of a kept document') AS why, {detail} AS detail, "
        f"{source} AS source, {text} AS text, {tokens} AS n_tokens, "
        f"{pos} AS pos FROM {logs.removed} AS l{join}")
    steps = con.execute("SELECT step, count(*), sum(n_tokens) FROM report_removed GROUP BY step "
                        "ORDER BY min(pos), step").fetchall()
    docs, toks = logs.total_docs, logs.total_tokens
    rows = []
    for i, (step, n, t) in enumerate(steps, 1):
        t = t or 0
        rows.append((i, step, docs, n, None if docs is None else docs - n, toks, t,
                     None if toks is None else toks - t))
        docs = None if docs is None else docs - n
        toks = None if toks is None else toks - t
    if logs.docs and toks is not None:
        out = [table(["#", "stage", "documents in", "removed", "documents out", "tokens in",
                      "tokens removed", "tokens out"], rows),
               "<p>Tokens are counted with <code>token_count</code> on the documents as they "
               "entered (before any rewriting such as PII redaction).</p>"]
    elif logs.docs:
        out = [table(["#", "stage", "documents in", "removed", "documents out"],
                     [r[:5] for r in rows]),
               f"<p>Tokens are not counted: the dataset has {logs.total_docs:,} "
               f"documents, more than corpusql.report_log.MAX_TOKENIZED_DOCS = "
               f"{MAX_TOKENIZED_DOCS:,}.</p>"]
    else:
        out = [table(["#", "stage", "removed"], [(i, s, n) for i, s, _, n, *_ in rows]),
               "<p>No relation in the database holds the removed ids with their text (columns "
               "id and text), so there are no counts in and out, no tokens and no texts.</p>"]
    for i, (step, n, _) in enumerate(steps, 1):
        reasons = con.execute(
            "SELECT why, count(*) AS n, sum(n_tokens) FROM report_removed WHERE step = ? "
            "GROUP BY why ORDER BY n DESC, why", [step]).fetchall()
        out.append(f'<h3 id="stage-{i}">{i}. {escape(step)}: {n:,} documents removed for '
                   f"{len(reasons)} reason{'s' if len(reasons) != 1 else ''}</h3>")
        out.append(table(["reason", "documents", "tokens"], reasons))
        for j, (why, k, _) in enumerate(reasons):
            ex = con.execute(
                "SELECT id, source, detail, reason, text FROM report_removed "
                "WHERE step = ? AND why = ? ORDER BY id LIMIT ?", [step, why, EXAMPLES]).fetchall()
            cols = ["document", "source", "values"] + (["reason"] if why != ex[0][3] else [])
            body = [(i_, s, d) + ((r,) if why != ex[0][3] else ()) + (_snippet(t),)
                    for i_, s, d, r, t in ex]
            out.append(details(f"{escape(why)}: {len(ex)} of {k:,} documents",
                               table(cols + ["start of the text"], body, cls="examples"),
                               open_=j == 0))  # the most frequent reason's examples unfolded
    return "\n".join(out)


def clusters(con, logs: Logs) -> str:
    """Per dedup step: cluster size distribution, and the largest clusters' kept document beside
    a removed one."""
    if not logs.removed:
        return "<p>No removal log, so no duplicate clusters.</p>"
    dup_steps = [s for (s,) in con.execute(
        "SELECT step FROM report_removed WHERE regexp_matches(reason, ?) GROUP BY step "
        "ORDER BY min(pos), step", [KEPT]).fetchall()]
    if not dup_steps:
        return "<p>The removal log names no kept copies (reasons ending in 'of &lt;id&gt;').</p>"
    out = []
    for step in dup_steps:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE report_clusters AS SELECT regexp_extract(reason, ?, 1) "
            "AS kept, count(*) + 1 AS size, min(id) AS removed FROM report_removed "
            "WHERE step = ? AND regexp_matches(reason, ?) GROUP BY kept", [KEPT, step, KEPT])
        sizes = con.execute("SELECT size, count(*) FROM report_clusters GROUP BY size "
                            "ORDER BY size").fetchall()
        n_clusters = sum(c for _, c in sizes)
        out.append(f"<h3>{escape(step)}: {n_clusters:,} clusters</h3>")
        out.append(bars([str(s) for s, _ in sizes], {"clusters": [c for _, c in sizes]},
                        title=f"{step}: clusters by size",
                        xlabel="cluster size (documents, the kept one included)",
                        ylabel="clusters"))
        largest = con.execute("SELECT kept, size, removed FROM report_clusters "
                              "ORDER BY size DESC, kept LIMIT ?", [LARGEST_CLUSTERS]).fetchall()
        for kept, size, removed in largest:
            texts = dict(con.execute(f"SELECT id, text FROM {logs.docs} WHERE id IN (?, ?)",
                                     [kept, removed]).fetchall()) if logs.docs else {}
            out.append(f"<h4>cluster of {size} kept as {escape(str(kept))}</h4>")
            if kept in texts and removed in texts:
                out.append(side_by_side((kept, texts[kept]), (removed, texts[removed])))
            else:
                out.append("<p>The texts are not in the database.</p>")
    return "\n".join(out)


def flagged(con, logs: Logs) -> str:
    """Documents kept but marked by a rule: counts per filter and reason, and examples."""
    if not logs.flags:
        return "<p>The database has no flag log (a table with id, filter and reason).</p>"
    removed = f"l.id IN (SELECT id FROM {logs.removed})" if logs.removed else "false"
    join, source, text = _docs_join(logs)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE report_flags AS SELECT l.id, l.filter, l.reason, "
        f"{source} AS source, {text} AS text, {removed} AS removed FROM {logs.flags} AS l{join}")
    (kept,) = con.execute("SELECT count(DISTINCT id) FROM report_flags WHERE NOT removed"
                          ).fetchone()
    rows = con.execute(
        "SELECT filter, reason, count(DISTINCT id) FILTER (NOT removed) AS kept, "
        "count(DISTINCT id) FILTER (removed) AS removed FROM report_flags GROUP BY ALL "
        "ORDER BY filter, kept DESC, reason").fetchall()
    out = [f"<p>{kept:,} documents are kept in the output with at least one flag. Flags of "
           "documents a later stage removed are counted apart (they are in the removals).</p>",
           table(["filter", "reason", "kept documents", "removed anyway"], rows)]
    for f, r, k, _ in rows:
        if not k:
            continue
        ex = con.execute("SELECT DISTINCT id, source, text FROM report_flags WHERE filter = ? "
                         "AND reason = ? AND NOT removed ORDER BY id LIMIT ?",
                         [f, r, EXAMPLES]).fetchall()
        out.append(details(f"{escape(f)}: {escape(r)}: {len(ex)} of {k:,} kept documents",
                           table(["document", "source", "start of the text"],
                                 [(i, s, _snippet(t)) for i, s, t in ex], cls="examples")))
    return "\n".join(out)


def mix(con, logs: Logs) -> str:
    """Target against achieved share per source (a bar chart) and epochs per source."""
    if not logs.mix:
        return "<p>The database has no mix report (group_key, target_share, achieved_share).</p>"
    rows = con.execute(f"SELECT group_key, target_share, achieved_share, epochs_used FROM "
                       f"{logs.mix} ORDER BY target_share DESC, group_key").fetchall()
    names = [str(g) for g, *_ in rows]
    chart = bars(names, {"target share": [t for _, t, _, _ in rows],
                         "achieved share": [a for _, _, a, _ in rows]},
                 title="mix: target and achieved token share per source", xlabel="source",
                 ylabel="share of the mix's tokens", percent=True,
                 notes=[f"{e} epoch{'s' if e != 1 else ''}" for *_, e in rows])
    return chart + table(["source", "target share", "achieved share", "epochs"],
                         [(g, f"{t:.2%}", f"{a:.2%}", e) for g, t, a, e in rows])


"""``corpusql report OUT_DIR --html report.html``: one self-contained page about a release.

OUT_DIR is one materialized output (a folder with ``_manifest.json``) or a folder of them (the
demo's ``train``/``val``/``test``). When a corpusql database sits beside the parts (or ``db=``
names one), its logs (:mod:`corpusql.report_log`) give: per stage, documents and tokens in and
out and every removal reason with examples and the values that decided it; duplicate cluster
sizes with the largest clusters' kept and removed texts side by side; quality signals per source
against their thresholds; flagged documents; the mix's target and achieved shares. From the parts:
rows, characters and tokens by source, and length distributions. It ends with the function and
macro versions (once) and each part's query. Charts are inline SVG: the file has no external
reference and works offline.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .materializer import MANIFEST, read_manifest
from .release_paths import is_versioned
from .report_html import PAGE, table
from .report_svg import histogram
from .version import __version__

SECTIONS = ("overview", "stages", "clusters", "signals", "flagged", "mix", "sources", "lengths",
            "versions")
TITLES = {"overview": "Overview", "stages": "What each stage removed, and why",
          "clusters": "Duplicate clusters", "signals": "Quality signals and thresholds",
          "flagged": "Flagged documents (kept, but marked)",
          "mix": "Mix: target and achieved share per source",
          "sources": "Rows and tokens by part and source", "lengths": "Document lengths",
          "versions": "Functions, versions and queries",
          "changes": "Changes since the previous version"}
DB_ALIAS = "report_db"


@dataclass
class Part:
    name: str
    path: Path
    manifest: dict[str, Any]

    @property
    def glob(self) -> str:
        return (self.path / "**" / "*.parquet").as_posix()


def _outputs(out_dir: Path) -> list[Part]:
    """Every corpusql output (a directory with a manifest) at ``out_dir`` or one level below."""
    from .release_paths import is_versioned, resolve

    if (out_dir / MANIFEST).exists() or is_versioned(out_dir):  # a versioned release: current
        return [Part(out_dir.name, resolve(out_dir), read_manifest(resolve(out_dir)))]
    return [Part(d.name, resolve(d), read_manifest(resolve(d))) for d in sorted(out_dir.iterdir())
            if d.is_dir() and ((d / MANIFEST).exists() or is_versioned(d))]


def _is_token_export(p: Part) -> bool:
    from .export_tokens import KIND

    return p.manifest.get("kind") == KIND


def find_parts(out_dir: Path) -> list[Part]:
    """The materialized Parquet outputs at ``out_dir`` or one level below it (token exports,
    which hold token ids rather than rows, are listed by :func:`find_token_exports`)."""
    parts = [p for p in _outputs(out_dir) if not _is_token_export(p)]
    order = {"train": 0, "val": 1, "test": 2}
    return sorted(parts, key=lambda p: (order.get(p.name, 3), p.name))


def find_token_exports(out_dir: Path) -> list[Part]:
    """The token exports (``export_tokens``) at ``out_dir`` or one level below it."""
    return [p for p in _outputs(out_dir) if _is_token_export(p)]


def _columns(con, part: Part) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{part.glob}')").fetchall()
    return {r[0]: r[1] for r in rows}


def build_html(out_dir: str | os.PathLike, *, db: str | os.PathLike | None = None) -> str:
    """The report page as one HTML string."""
    from . import report_log as log
    from .connect import connect

    out = Path(out_dir)
    parts = find_parts(out)
    if not parts:
        raise FileNotFoundError(f"{out}: no {MANIFEST} here or one level below; "
                                "is it a corpusql materialized output?")
    db_path = Path(db) if db else out / "lake.duckdb"
    con = connect(":memory:")
    try:
        con.execute("SET enable_progress_bar = false")
        logs = log.Logs()
        if db_path.exists():
            con.execute(f"ATTACH '{db_path.as_posix()}' AS {DB_ALIAS} (READ_ONLY)")
            logs = log.find_logs(con, DB_ALIAS)
            no_db = ""
        else:
            no_db = (f"<p>No database beside the output ({html.escape(str(db_path))}): "
                     "no removal log; pass db= (--db) to name one.</p>")
        sections = {
            "overview": _overview(parts, find_token_exports(out)),
            "stages": no_db or log.stages(con, logs),
            "clusters": no_db or log.clusters(con, logs),
            "signals": _signals(con, logs, parts),
            "flagged": no_db or log.flagged(con, logs),
            "mix": no_db or log.mix(con, logs),
            "sources": _sources(con, parts),
            "lengths": _lengths(con, parts),
            "versions": _versions(parts),
        }
        if any(is_versioned(p) for p in [out, *out.iterdir()] if p.is_dir()):
            from .release_report import changes  # versioned releases: their last change

            sections["changes"] = changes(con, out, table)
    finally:
        con.close()
    page = "\n".join(f'<section id="{k}"><h2>{TITLES[k]}</h2>\n{v}\n</section>'
                     for k, v in sections.items())
    return PAGE.format(title=html.escape(f"corpusql report: {out}"), version=__version__,
                       body=page)


def _overview(parts: list[Part], exports: list[Part]) -> str:
    rows = [(p.name, p.manifest["total_rows"], len(p.manifest["files"]),
             p.manifest["total_bytes"]) for p in parts]
    total = sum(p.manifest["total_rows"] for p in parts)
    page = (f"<p>{total:,} rows in {len(parts)} part(s).</p>"
            + table(["part", "rows", "files", "bytes"], rows))
    if exports:
        page += "<p>Token exports (export_tokens):</p>" + table(
            ["export", "format", "documents", "tokens", "shards"],
            [(p.name, p.manifest["format"], p.manifest["total_documents"],
              p.manifest["total_tokens"], len(p.manifest["shards"])) for p in exports])
    return page


def _sources(con, parts: list[Part]) -> str:
    from .functions import REGISTRY

    out = []
    for p in parts:
        cols = _columns(con, p)
        if "text" not in cols:
            out.append(f"<p>{html.escape(p.name)}: no <code>text</code> column.</p>")
            continue
        source = "source" if "source" in cols else "'(all)'"
        if "n_tokens" in cols:
            tokens = "sum(n_tokens)"
        elif "token_count" in REGISTRY:
            tokens = "sum(token_count(text))"
        else:
            tokens = "NULL"
        rows = con.execute(
            f"SELECT {source} AS source, count(*) AS n_rows, sum(length(text)) AS n_chars, "
            f"{tokens} AS n_tokens FROM read_parquet('{p.glob}') GROUP BY ALL "
            "ORDER BY n_rows DESC, source").fetchall()
        out.append(f"<h3>{html.escape(p.name)}</h3>"
                   + table(["source", "rows", "characters", "tokens"], rows))
    return "\n".join(out)


def _lengths(con, parts: list[Part]) -> str:
    """Characters per row, as the share of each part's rows per bin (parts differ in size)."""
    values = {}
    for p in parts:
        if "text" in _columns(con, p):
            values[p.name] = np.array([r[0] for r in con.execute(
                f"SELECT log10(1 + length(text)) FROM read_parquet('{p.glob}')").fetchall()],
                dtype=float)
    values = {k: v for k, v in values.items() if len(v)}
    if not values:
        return "<p>No text column to measure.</p>"
    allv = np.concatenate(list(values.values()))
    edges = np.linspace(float(allv.min()), max(float(allv.max()), float(allv.min()) + 1), 41)
    series = {f"{k} ({len(v):,})": list(np.histogram(v, bins=edges)[0] / len(v))
              for k, v in values.items()}
    return histogram(list(edges), series, title="characters per row",
                     xlabel="log10(1 + characters)", ylabel="share of the part's rows")


def _signals(con, logs, parts: list[Part]) -> str:
    """The signal log against its thresholds; without one, the parts' numeric columns by
    source."""
    from .report_signals import from_log, signal_plots

    if logs.signals:
        return ("<p>Signals of every document scored by the recipe, before its quality filters "
                "(the threshold's far side was removed).</p>"
                + from_log(con, logs.signals, logs.thresholds))
    numeric = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE",
               "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
    values: dict[str, dict[str, list[float]]] = {}
    for p in parts:
        cols = _columns(con, p)
        source = "source" if "source" in cols else f"'{p.name}'"
        for c, t in cols.items():
            if (t in numeric or t.startswith("DECIMAL")) and c != "id":
                for src, v in con.execute(
                        f'SELECT CAST({source} AS VARCHAR), CAST("{c}" AS DOUBLE) FROM '
                        f"read_parquet('{p.glob}') WHERE \"{c}\" IS NOT NULL").fetchall():
                    values.setdefault(c, {}).setdefault(src, []).append(v)
    if not values:
        return "<p>No signal log and no numeric columns in the output.</p>"
    return ("<p>No signal log in the database: the output's numeric columns, by source.</p>"
            + signal_plots(values, {}, what="rows"))


def _versions(parts: list[Part]) -> str:
    """The function and macro versions once (with the parts that used each), the library
    versions, the recipe once, and each part's query."""
    used: dict[tuple[str, str], list[str]] = {}
    for p in parts:
        for name, version in sorted(p.manifest.get("functions", {}).items()):
            used.setdefault((name, str(version)), []).append(p.name)
    everywhere = [p.name for p in parts]
    rows = [(name, version, "all parts" if names == everywhere else ", ".join(names))
            for (name, version), names in sorted(used.items())]
    out = [table(["function or macro", "version", "used by"], rows) if rows
           else "<p>No corpusql functions used.</p>"]
    libs: dict[str, list[str]] = {}
    for p in parts:
        libs.setdefault(json.dumps(p.manifest.get("versions", {}), sort_keys=True),
                        []).append(p.name)
    for versions, names in libs.items():
        who = "" if len(libs) == 1 else f" ({', '.join(names)})"
        out.append(table([f"library{who}", "version"], sorted(json.loads(versions).items())))
    recipes = {p.manifest["recipe"]: p.name for p in parts if p.manifest.get("recipe")}
    for recipe in recipes:
        out.append(f"<details><summary>recipe SQL</summary><pre>{html.escape(recipe)}"
                   "</pre></details>")
    for p in parts:
        out.append(f"<h3>query of {html.escape(p.name)}</h3>"
                   f"<pre>{html.escape(p.manifest.get('query', ''))}</pre>")
    return "\n".join(out)


def report(out_dir: str | os.PathLike, html_path: str | os.PathLike, *,
           db: str | os.PathLike | None = None) -> Path:
    """Write the report page for ``out_dir`` to ``html_path`` and return its path."""
    page = build_html(out_dir, db=db)
    target = Path(html_path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return target


from .modfunc import callable_module  # noqa: E402

callable_module(__name__, report)  # corpusql.report(...) even after this module is imported

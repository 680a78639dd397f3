"""``corpusql report OUT_DIR --html report.html``: a self-contained page about a release.

OUT_DIR is one materialized output (a folder with ``_manifest.json``) or a folder of them (the
demo's ``train``/``val``/``test``). The page shows, per part: rows, characters and tokens by
source; length distributions; histograms of numeric signal columns; and, when a corpusql
database sits beside the parts (or ``db=`` names one), the removal log's reasons and duplicate
cluster sizes. It ends with each part's query, recipe and function versions. Plots are
matplotlib PNGs embedded as data URIs, so the file works offline.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from .materializer import MANIFEST, read_manifest

SECTIONS = ("overview", "sources", "lengths", "signals", "removals", "changes", "recipe")
MAX_SIGNAL_PLOTS = 8


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
    from .releases import is_versioned, resolve

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


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _table(columns: list[str], rows: list[tuple]) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{_fmt(v)}</td>' if isinstance(v, (int, float))
            else f"<td>{html.escape(_fmt(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, float):
        return f"{v:,.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _columns(con, part: Part) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{part.glob}')").fetchall()
    return {r[0]: r[1] for r in rows}


def _plot_hist(values_by_part: dict[str, list[float]], title: str, xlabel: str,
               log: bool = False) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    for name, values in values_by_part.items():
        if values:
            ax.hist(values, bins=40, alpha=0.55, label=f"{name} ({len(values):,})", log=log)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("documents")
    if values_by_part:
        ax.legend(fontsize=8)
    return _png(fig)


def _plot_bars(labels: list[str], values: list[float], title: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, max(1.6, 0.32 * len(labels) + 0.8)))
    ax.barh(labels[::-1], values[::-1], color="#4c72b0")
    ax.set_title(title)
    return _png(fig)


def _img(src: str, alt: str) -> str:
    return f'<img src="{src}" alt="{html.escape(alt)}">'


def build_html(out_dir: str | os.PathLike, *, db: str | os.PathLike | None = None) -> str:
    """The report page as one HTML string."""
    from . import __version__
    from .connect import connect

    out = Path(out_dir)
    parts = find_parts(out)
    if not parts:
        raise FileNotFoundError(f"{out}: no {MANIFEST} here or one level below; "
                                "is it a corpusql materialized output?")
    db_path = Path(db) if db else out / "lake.duckdb"
    con = connect(":memory:")
    try:
        sections: dict[str, str] = {}
        sections["overview"] = _overview(parts, find_token_exports(out))
        sections["sources"] = _sources(con, parts)
        sections["lengths"] = _lengths(con, parts)
        sections["signals"] = _signals(con, parts)
        sections["removals"] = _removals(db_path)
        from .release_report import changes

        sections["changes"] = changes(con, out, _table)
        sections["recipe"] = _recipe(parts)
    finally:
        con.close()
    titles = {"overview": "Overview", "sources": "Rows and tokens by part and source",
              "lengths": "Document lengths", "signals": "Signal distributions",
              "removals": "Removed documents and duplicate clusters",
              "changes": "Changes since the previous version",
              "recipe": "Recipe, queries and versions"}
    body = "\n".join(
        f'<section id="{k}"><h2>{titles[k]}</h2>\n{v}\n</section>' for k, v in sections.items())
    return PAGE.format(title=html.escape(f"corpusql report: {out}"), version=__version__,
                       body=body)


def _overview(parts: list[Part], exports: list[Part]) -> str:
    rows = [(p.name, p.manifest["total_rows"], len(p.manifest["files"]),
             p.manifest["total_bytes"], p.manifest.get("versions", {}).get("corpusql", "?"))
            for p in parts]
    total = sum(p.manifest["total_rows"] for p in parts)
    page = (f"<p>{total:,} rows in {len(parts)} part(s).</p>"
            + _table(["part", "rows", "files", "bytes", "corpusql"], rows))
    if exports:
        page += "<p>Token exports (export_tokens):</p>" + _table(
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
                   + _table(["source", "rows", "characters", "tokens"], rows))
    return "\n".join(out)


def _lengths(con, parts: list[Part]) -> str:
    values = {}
    for p in parts:
        if "text" in _columns(con, p):
            values[p.name] = [r[0] for r in con.execute(
                f"SELECT ln(1 + length(text)) / ln(10) FROM read_parquet('{p.glob}')").fetchall()]
    if not values:
        return "<p>No text column to measure.</p>"
    return _img(_plot_hist(values, "characters per document", "log10(1 + characters)"),
                "length histogram")


def _signals(con, parts: list[Part]) -> str:
    numeric = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE",
               "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
    names: list[str] = []
    for p in parts:
        for c, t in _columns(con, p).items():
            if (t in numeric or t.startswith("DECIMAL")) and c not in names and c != "id":
                names.append(c)
    if not names:
        return "<p>No numeric signal columns in the output.</p>"
    imgs = []
    for c in names[:MAX_SIGNAL_PLOTS]:
        values = {}
        for p in parts:
            if c in _columns(con, p):
                values[p.name] = [r[0] for r in con.execute(
                    f'SELECT CAST("{c}" AS DOUBLE) FROM read_parquet(\'{p.glob}\') '
                    f'WHERE "{c}" IS NOT NULL').fetchall()]
        imgs.append(_img(_plot_hist(values, c, c), f"{c} histogram"))
    more = len(names) - MAX_SIGNAL_PLOTS
    note = f"<p>{more} more numeric columns not plotted.</p>" if more > 0 else ""
    return "\n".join(imgs) + note


def _removal_tables(db: duckdb.DuckDBPyConnection) -> list[str]:
    rows = db.execute(
        "SELECT table_name FROM duckdb_columns() WHERE column_name IN ('step', 'reason') "
        "GROUP BY table_name HAVING count(*) = 2 ORDER BY table_name").fetchall()
    return [r[0] for r in rows]


def _removals(db_path: Path) -> str:
    if not db_path.exists():
        return f"<p>No database beside the output ({html.escape(str(db_path))}): no removal log.</p>"
    db = duckdb.connect(str(db_path), read_only=True)
    try:
        tables = _removal_tables(db)
        if not tables:
            return "<p>The database has no removal log (a table with step and reason).</p>"
        out = []
        for t in tables:
            by_reason = db.execute(
                f"SELECT step, regexp_replace(reason, ' of .*', ' of a kept document') AS why, "
                f"count(*) AS n FROM {t} GROUP BY ALL ORDER BY n DESC").fetchall()
            out.append(f"<h3>{html.escape(t)}</h3>" + _table(["step", "reason", "documents"],
                                                              by_reason))
            out.append(_img(_plot_bars([f"{s}: {w}"[:60] for s, w, _ in by_reason],
                                       [n for *_, n in by_reason], "documents removed"),
                            "removals by reason"))
            sizes = db.execute(
                f"SELECT cluster_size, count(*) AS clusters FROM (SELECT regexp_extract(reason, "
                f"' of (.*)$', 1) AS kept, count(*) + 1 AS cluster_size FROM {t} "
                f"WHERE reason LIKE '%duplicate of %' GROUP BY kept) GROUP BY cluster_size "
                f"ORDER BY cluster_size").fetchall()
            if sizes:
                out.append("<h3>Duplicate cluster sizes</h3>"
                           + _table(["cluster size", "clusters"], sizes))
        return "\n".join(out)
    finally:
        db.close()


def _recipe(parts: list[Part]) -> str:
    out = []
    recipes_shown: set[str] = set()
    for p in parts:
        m = p.manifest
        funcs = sorted(m.get("functions", {}).items())
        out.append(f"<h3>{html.escape(p.name)}</h3><pre>{html.escape(m.get('query', ''))}</pre>")
        out.append(_table(["function or macro", "version"], funcs) if funcs
                   else "<p>No corpusql functions used.</p>")
        recipe = m.get("recipe")
        if recipe and recipe not in recipes_shown:
            recipes_shown.add(recipe)
            out.append(f"<details><summary>recipe SQL</summary><pre>{html.escape(recipe)}"
                       "</pre></details>")
        out.append(f"<p>versions: {html.escape(json.dumps(m.get('versions', {})))}</p>")
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


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 960px; color: #222; }}
table {{ border-collapse: collapse; margin: .5em 0 1em; font-size: 14px; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: left; }}
td.num {{ text-align: right; }}
pre {{ background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: 12px; }}
nav a {{ margin-right: 1em; }}
img {{ display: block; margin: .5em 0; max-width: 100%; }}
</style></head>
<body>
<h1>{title}</h1>
<nav id="toc"></nav>
{body}
<footer><p>generated by corpusql {version}</p></footer>
<script>
document.querySelectorAll("section").forEach(function (s) {{
  var a = document.createElement("a");
  a.href = "#" + s.id;
  a.textContent = s.querySelector("h2").textContent;
  document.getElementById("toc").appendChild(a);
}});
document.body.setAttribute("data-sections", document.querySelectorAll("section").length);
</script>
</body></html>
"""

"""Write the notebooks in notebooks/ from the cell lists below (outputs stripped).

The notebooks are committed; this script is how they are edited, so their diffs stay readable:
change a cell here, run ``python scripts/make_notebooks.py``, commit both.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parent.parent / "notebooks"

QUICKSTART = [
    ("md", """# corpusql quickstart

Connect, load the bundled sample, query it with corpusql functions, and materialize a result to
Parquet with a manifest. Every corpusql function is plain SQL on a DuckDB connection."""),
    ("code", """import json, tempfile
from pathlib import Path

import corpusql
from corpusql.demo import sample_path

con = corpusql.connect()
con.execute("CREATE TABLE docs AS SELECT * FROM read_parquet(?)", [str(sample_path())])
con.sql("SELECT source, count(*) AS documents FROM docs GROUP BY ALL ORDER BY documents DESC").df()"""),
    ("md", "Every function and macro documents itself:"),
    ("code", """con.sql("SELECT name, kind, signature FROM corpusql_functions()").df()"""),
    ("md", """## SQL cells

`%load_ext corpusql.magic` adds `%%sql`: it runs on the notebook's `con` and returns a
DataFrame; `%%sql NAME` also stores it in `NAME`."""),
    ("code", "%load_ext corpusql.magic"),
    ("code", """%%sql by_lang
SELECT lang, count(*) AS documents, round(avg(word_count(text))) AS mean_words
FROM docs GROUP BY lang ORDER BY documents DESC LIMIT 10"""),
    ("code", "assert len(by_lang) == 10\nby_lang.head(3)"),
    ("md", "## Exact duplicates after normalization"),
    ("code", """%%sql groups
SELECT group_size, count(*) AS documents
FROM exact_dup_groups('docs', 'text', 'id')
GROUP BY group_size ORDER BY group_size"""),
    ("md", "## Lengths"),
    ("code", """import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

words = con.sql("SELECT word_count(text) AS w FROM docs WHERE word_count(text) > 0").df()
ax = words["w"].plot.hist(bins=50, log=True, title="words per document")
ax.set_xlabel("words")
plt.close(ax.figure)"""),
    ("md", "## Materialize atomically, with a manifest"),
    ("code", """out = Path(tempfile.mkdtemp()) / "train"
result = corpusql.materialize(
    con,
    "SELECT id, text, source FROM docs WHERE split_assign(id) = 'train'",
    out, order_by="id")
manifest = json.loads((out / "_manifest.json").read_text())
print(result.status, result.rows, "rows;", "functions:", manifest["functions"])
assert corpusql.verify(out).ok"""),
    ("code", "con.close()"),
]


def write(name: str, cells: list[tuple[str, str]]) -> None:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [new_markdown_cell(src) if kind == "md" else new_code_cell(src)
                for kind, src in cells]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{name[:2]}-{i:02d}"
    nbformat.write(nb, OUT / f"{name}.ipynb")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    write("01_quickstart", QUICKSTART)


if __name__ == "__main__":
    main()

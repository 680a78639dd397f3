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


SETUP = """import corpusql
from corpusql.demo import sample_path

con = corpusql.connect()
con.execute("CREATE TABLE docs AS SELECT * FROM read_parquet(?) WHERE trim(text) <> ''",
            [str(sample_path())])
%load_ext corpusql.magic"""

NEAR_DUPLICATES = [
    ("md", """# Near duplicates

MinHash signatures, LSH candidate pairs, exact-Jaccard verification and clusters are each a
query. Look at the similarity distribution of the candidates before choosing a threshold, then
inspect clusters side by side."""),
    ("code", SETUP),
    ("code", """%%sql candidates
SELECT c.id_a, c.id_b, c.est_jaccard, jaccard(a.text, b.text) AS jaccard
FROM near_dup_candidates('docs', 'text', 'id', threshold := 0.5) AS c
JOIN docs AS a ON a.id = c.id_a
JOIN docs AS b ON b.id = c.id_b"""),
    ("code", """import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
candidates["jaccard"].plot.hist(bins=40, ax=ax, title="exact Jaccard of LSH candidate pairs")
for t in (0.7, 0.8, 0.9):
    ax.axvline(t, color="red", linestyle="--")
plt.close(fig)
{t: int((candidates["jaccard"] >= t).sum()) for t in (0.7, 0.8, 0.9)}"""),
    ("code", """%%sql clusters
SELECT * FROM near_dup_clusters('docs', 'text', 'id', threshold := 0.8)
WHERE cluster_size > 1 ORDER BY cluster_size DESC, cluster_id, id"""),
    ("md", "Two members of the largest cluster, side by side:"),
    ("code", """import difflib
first = clusters["cluster_id"].iloc[0]
members = clusters[clusters["cluster_id"] == first]["id"].tolist()[:2]
a, b = (con.execute("SELECT text FROM docs WHERE id = ?", [m]).fetchone()[0] for m in members)
print(members)
print("\\n".join(list(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm=""))[:20]))"""),
    ("md", "What removal does to each source, and how big the clusters are:"),
    ("code", """%%sql
SELECT * FROM near_dup_report('docs', 'text', 'id', source_col := 'source', threshold := 0.8)"""),
    ("code", """%%sql
SELECT * FROM near_dup_cluster_sizes('docs', 'text', 'id', threshold := 0.8)"""),
    ("md", """## A new batch against a published release

Yesterday's release keeps every document it has; only the new batch is deduplicated, against
the release and within itself. Here the release is the deduplicated `man` and `info` pages
and the batch is everything else."""),
    ("code", """con.execute(\"\"\"CREATE TABLE release AS
    FROM near_dedup('docs', 'text', 'id') WHERE source IN ('man', 'info')\"\"\")
con.execute("CREATE TABLE batch AS FROM docs WHERE source NOT IN ('man', 'info')")"""),
    ("code", """%%sql incremental
SELECT duplicate_in, count(*) AS n, min(id) AS example, arg_min(duplicate_of, id) AS duplicate_of
FROM near_dup_incremental('batch', 'release', 'text', 'id')
GROUP BY ALL ORDER BY n DESC"""),
    ("code", "con.close()"),
]

QUALITY = [
    ("md", """# Quality signals

Every signal is a column you can histogram and every rejection has a reason you can GROUP BY.
Draw the thresholds on the distributions before filtering."""),
    ("code", SETUP),
    ("code", """%%sql signals
SELECT id, source,
       gopher_quality(text).n_words AS n_words,
       fineweb_quality(text).line_punct_ratio AS line_punct_ratio,
       quality_score(text) AS quality,
       lang_id(text).lang AS detected_lang
FROM docs"""),
    ("code", """import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(10, 3))
signals["line_punct_ratio"].plot.hist(bins=40, ax=axes[0], title="FineWeb line_punct_ratio")
axes[0].axvline(0.12, color="red", linestyle="--")   # FineWeb's default threshold
signals["quality"].plot.hist(bins=40, ax=axes[1], title="quality_score")
axes[1].axvline(0.5, color="red", linestyle="--")
plt.close(fig)"""),
    ("md", "Rejection reasons by rule and source:"),
    ("code", """%%sql report
SELECT * FROM quality_report('docs', 'text') WHERE source <> '(all)' AND n_failed > 0
ORDER BY filter, n_failed DESC LIMIT 20"""),
    ("md", "A few rejected documents, with their reasons:"),
    ("code", """%%sql
SELECT id, c4_quality_reasons(text) AS reasons, left(text, 120) AS start
FROM docs WHERE NOT c4_quality_pass(text) ORDER BY id LIMIT 5"""),
    ("code", """%%sql
SELECT lang_id(text).lang AS detected_lang, count(*) AS documents
FROM docs GROUP BY ALL ORDER BY documents DESC, detected_lang LIMIT 8"""),
    ("code", """%%sql
SELECT pii_redact('write to jane.doe@example.org or call +1 415 555 0199') AS redacted"""),
    ("code", "con.close()"),
]

MIX_AND_SPLIT = [
    ("md", """# Mix by token budget and split without leakage

Count tokens, split so near-duplicate clusters never straddle splits, check the leakage, then
mix the training split by source weights to a token budget."""),
    ("code", SETUP),
    ("code", """con.execute("CREATE TABLE tok AS SELECT *, token_count(text) AS n_tokens FROM docs")
con.execute(\"\"\"CREATE TABLE s AS SELECT t.*, x.split FROM tok AS t
    JOIN split_dataset('tok', 'text', 'id', train := 0.8, val := 0.1, test := 0.1) AS x USING (id)\"\"\")
con.execute("CREATE TABLE naive AS SELECT *, split_assign(id, train := 0.8, val := 0.1, test := 0.1) AS split FROM tok")"""),
    ("code", """%%sql leakage
SELECT 'split_dataset' AS split_by, * FROM split_leakage('s', 'split', 'text')
UNION ALL
SELECT 'split_assign(id)', * FROM split_leakage('naive', 'split', 'text')"""),
    ("code", """assert leakage.loc[leakage["split_by"] == "split_dataset", "straddling_pairs"].item() == 0
leakage"""),
    ("code", """con.execute("CREATE TABLE weights AS SELECT * FROM (VALUES ('man', 0.5), ('handbook', 0.2), ('info', 0.2), ('pydoc', 0.05), ('perlpod', 0.05)) w(group_key, weight)")
con.execute("CREATE TABLE train AS SELECT * FROM s WHERE split = 'train'")"""),
    ("code", """%%sql mix_report
SELECT * FROM mix_report('train', 'weights', 1000000, seed := 0)"""),
    ("code", """import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

ax = mix_report.set_index("group_key")[["target_share", "achieved_share"]].plot.bar(
    title="token share per source: target vs achieved")
plt.close(ax.figure)
assert (mix_report["target_share"] - mix_report["achieved_share"]).abs().max() < 0.005"""),
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
    write("02_near_duplicates", NEAR_DUPLICATES)
    write("03_quality", QUALITY)
    write("04_mix_and_split", MIX_AND_SPLIT)


if __name__ == "__main__":
    main()

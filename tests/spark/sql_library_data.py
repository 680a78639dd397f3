"""Small tables for the SQL-library tests on both engines, as Arrow (DuckDB registers them, Spark
reads them through createDataFrame): near-duplicates, exact copies, splits, sources, tokens,
vectors, a benchmark and mixing weights."""

from __future__ import annotations

import pyarrow as pa

_BASE = [
    "the quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat all day long",
    "a journey of a thousand miles begins with a single step taken by a brave and patient walker",
    "data governance for language models needs dedup splits mixing and decontamination at scale",
    "rain falls softly on the old stone bridge as the river carries leaves towards the distant sea",
    "every library macro should run the same way on duckdb and on spark for the same input rows",
]


def docs() -> pa.Table:
    """40 documents: each base text, exact copies, near-copies (one word changed), NULL text."""
    ids, texts, splits, sources, tokens, vectors = [], [], [], [], [], []
    for i in range(40):
        base = _BASE[i % len(_BASE)]
        variant = i // len(_BASE)
        if variant in (0, 1):
            text = base  # exact copies
        elif variant == 7:
            text = None if i % 2 else ""
        else:
            words = base.split()
            words[variant] = f"word{i}"
            text = " ".join(words)
        ids.append(i + 1)
        texts.append(text)
        splits.append(("train", "train", "val", "test", None)[i % 5])
        sources.append(("web", "code", "books")[i % 3])
        tokens.append(5 + (i * 7) % 23)
        vectors.append([float((i * 3) % 7), float((i * 5) % 11)])
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "text": pa.array(texts, pa.string()),
        "split": pa.array(splits, pa.string()),
        "source": pa.array(sources, pa.string()),
        "n_tokens": pa.array(tokens, pa.int64()),
        "vec": pa.array(vectors, pa.list_(pa.float32())),
    })


def bench() -> pa.Table:
    return pa.table({"id": pa.array([101, 102], pa.int64()),
                     "text": ["q: the quick brown fox jumps over the lazy dog while the cat",
                              "nothing from the training data appears in this item at all"]})


def weights() -> pa.Table:
    return pa.table({"group_key": ["web", "code", "books"],
                     "weight": pa.array([0.5, 0.3, 0.2], pa.float64())})


def counts() -> pa.Table:
    return pa.table({"group_key": ["web", "code", "books"],
                     "n": pa.array([1000.0, 300.0, 20.0], pa.float64())})


TABLES = {"docs": docs, "bench": bench, "w": weights, "counts": counts}

#: One call per library table macro (and its options that change the rendered body).
CALLS = {
    "exact_dup_groups": "exact_dup_groups('docs', 'text', 'id')",
    "exact_dup_groups keep_by": "exact_dup_groups('docs', 'text', 'id', normalize := false, "
                                "keep_by := 'n_tokens')",
    "split_summary": "split_summary('docs')",
    "split_summary named": "split_summary('docs', split_col := 'source', text_col := 'text')",
    "split_grouped": "split_grouped('docs', 'id', 'source', seed := 3, train := 0.6, val := 0.2, "
                     "test := 0.2)",
    "split_stratified": "split_stratified('docs', 'id', 'source', train := 0.5, val := 0.25, "
                        "test := 0.25)",
    "split_leakage": "split_leakage('docs', 'split', 'text', threshold := 0.5)",
    "split_dataset": "split_dataset('docs', 'text', 'id', train := 0.5, val := 0.25, test := 0.25)",
    "near_dup_ids_checked": "near_dup_ids_checked('docs', 'check')",
    "near_dup_candidates": "near_dup_candidates('docs', 'text', 'id', threshold := 0.5)",
    "near_dup_clusters": "near_dup_clusters('docs', 'text', 'id', threshold := 0.5)",
    "near_dup_clusters keep_by": "near_dup_clusters('docs', 'text', 'id', threshold := 0.5, "
                                 "verify := false, keep_by := 'n_tokens')",
    "near_dedup": "near_dedup('docs', 'text', 'id', threshold := 0.5)",
    "near_dup_band_keys": "near_dup_band_keys('docs', 'text', 'id')",
    "near_dup_cluster_sizes": "near_dup_cluster_sizes('docs', 'text', 'id', threshold := 0.5)",
    "near_dup_report": "near_dup_report('docs', 'text', 'id', source_col := 'source', "
                       "threshold := 0.5)",
    "near_dup_incremental": "near_dup_incremental('docs', 'bench', 'text', 'id', threshold := 0.5)",
    "decontaminate": "decontaminate('docs', 'text', 'bench', 'text', n := 5)",
    "decontaminate_apply": "decontaminate_apply('docs', 'text', 'bench', 'text', n := 5)",
    "quality_report": "quality_report('docs', 'text')",
    "k_center_greedy": "k_center_greedy('docs', 'id', 'vec', 4)",
    "mix": "mix('docs', 'w', 300, seed := 1, max_epochs := 2)",
    "mix_report": "mix_report('docs', 'w', 300, seed := 1)",
    "mix_weights_temperature": "mix_weights_temperature('counts', 2.0)",
}

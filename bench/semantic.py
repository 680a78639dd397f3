"""Semantic (embedding) benchmark: embed, k-means and SemDeDup, ratios measured in one run.

Usage: .venv/bin/python bench/semantic.py [--data ../shared/data/neardup-dev] [--docs 2000]
       [--speed-docs 64] [--kmeans-rows 100000] [--dedup-rows 100000] [--cache DIR]

Reports:
  (a) embed through SQL vs onnxruntime called directly on the same token batches (the same
      session, feeds prepared beforehand, pooling in numpy), and documents/s, at 128 and 256
      tokens, on documents long enough to fill the length;
  (b) one spherical k-means iteration (lloyd_step) over --kmeans-rows x 384 float32 with
      k = 1000 vs the same-shape matrix product alone;
  (c) semantic_dup_clusters through SQL on --dedup-rows synthetic 384-d embeddings (given
      embeddings, planted near copies) vs one kmeans fit through SQL, each in its own process
      with its peak memory (the data itself included);
  (d) on a slice of neardup-dev (--docs documents: every injected copy's source with its
      'format', 'exact', 'words' and 'span' copies first, then other documents by id),
      embedded once at 128 tokens and cached: recall of SemDeDup's pairs against brute-force
      all-pairs cosine per n_clusters, the injected copies found at eps 0.05, the 'words' and
      'span' copies it finds that MinHash at 0.8 misses, and the word 5-gram Jaccard bands of
      up to 200 removed pairs per eps (a proxy for precision);
  (e) (--only e) k_center_greedy(k = 100) over the --dedup-rows synthetic embeddings, in its
      own process, with its peak memory;
  (f) the static fast path, model 'wordllama': documents/s through SQL and calling the kernel
      directly (embed_array), at 128 and 256 tokens, on --static-speed-docs long documents;
  (g) (d) with the static model on --static-docs documents (default 20,000) at 128 tokens;
  (h) (--only h) ROC AUC of an embedding head (train_linear_head on embed(text, model :=
      'wordllama')) trained on the bundled quality model's training pieces (rebuilt by
      scripts/train_quality.py's own code, same seed and split) vs the bundled TF-IDF model
      (quality_score), both on the same held-out test pieces and on quality-ref's decisions
      (passing both Gopher filters, the 0.81 figure).
The machine is shared, so absolute numbers are noisy: read the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import corpusql
from corpusql.udfs import embed as E
from corpusql.udfs import embed_models as M
from corpusql.udfs import kmeans as K

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "neardup-dev"


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def speed(con, texts: list[str], length: int) -> dict:
    """(a): SQL embed vs session.run on the same bucketed batches, documents/s."""
    m = M.load("minilm")
    before, after = E._template(m.tokenizer)
    room = length - len(before) - len(after)
    seqs = [before + b + after for b in E._bodies(m.tokenizer, texts, room)]
    feeds = []
    for lo in range(0, len(seqs), 64):
        part = seqs[lo:lo + 64]
        width = E._bucket(max(len(s) for s in part))
        ids = np.zeros((len(part), width), np.int64)
        mask = np.zeros_like(ids)
        for r, s in enumerate(part):
            ids[r, :len(s)], mask[r, :len(s)] = s, 1
        feeds.append(({"input_ids": ids, "attention_mask": mask,
                       "token_type_ids": np.zeros_like(ids)}, mask))
    t0 = time.perf_counter()
    for f, mask in feeds:
        (h,) = m.session.run([m.output], f)
        E.pool(h, mask, "mean")
    direct = time.perf_counter() - t0
    con.register("speed_docs", pa.table({"i": pa.array(range(len(texts))), "t": texts}))
    m.cache.clear()
    t0 = time.perf_counter()
    con.execute(f"SELECT count(embed(t, max_length := {length})) FROM speed_docs").fetchall()
    sql = time.perf_counter() - t0
    return {"tokens": length, "docs": len(texts), "direct_docs_s": len(texts) / direct,
            "sql_docs_s": len(texts) / sql, "sql_vs_direct": direct / sql}


def static_speed(con, texts: list[str], length: int) -> dict:
    """(f): the static model through SQL vs its kernel called directly, documents/s."""
    m = M.load("wordllama")
    E.embed_array(texts[:8], model="wordllama", max_length=length)  # compile / load
    m.cache.clear()
    t0 = time.perf_counter()
    E.embed_array(texts, model="wordllama", max_length=length)
    direct = time.perf_counter() - t0
    con.register("static_docs", pa.table({"t": texts}))
    m.cache.clear()
    t0 = time.perf_counter()
    con.execute("SELECT count(embed(t, model := 'wordllama', max_length := "
                f"{length})) FROM static_docs").fetchall()
    sql = time.perf_counter() - t0
    m.cache.clear()
    return {"model": "wordllama", "tokens": length, "docs": len(texts),
            "direct_docs_s": len(texts) / direct, "sql_docs_s": len(texts) / sql,
            "sql_vs_direct": direct / sql}


def _brute_pairs(ids: list[str], x: np.ndarray, eps_list, block: int = 2048) -> dict:
    """All pairs (a < b by position) with cosine > 1 - eps, by blocks of rows."""
    out: dict = {eps: set() for eps in eps_list}
    low = 1 - max(eps_list)
    for lo in range(0, len(x), block):
        s = x[lo:lo + block] @ x.T
        a, b = np.nonzero(s > low)
        keep = b > a + lo
        a, b = a[keep], b[keep]
        sim = s[a, b]
        for eps in eps_list:
            hit = sim > 1 - eps
            out[eps].update((ids[lo + i], ids[j]) for i, j in zip(a[hit], b[hit]))
    return out


def quality_auc(con, model: str = "wordllama", length: int = 256) -> dict:
    """(h): embedding head vs the bundled TF-IDF quality model, AUC on the same held-out data."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import train_quality as tq

    from corpusql.annotations import _auc, train_linear_head

    corpus = ROOT.parent / "shared" / "data" / "corpus-dev.parquet"
    src = ", ".join(f"'{s}'" for s in tq.SOURCES)
    rows = con.execute(f"SELECT id, text FROM read_parquet('{corpus}') WHERE source IN ({src}) "
                       "AND text IS NOT NULL ORDER BY id").fetchall()
    data = tq.build(rows, np.random.default_rng(tq.SEED))
    out: dict = {"model": model, "tokens": length}
    for part in ("train", "test"):
        texts, labels, _ = data[part]
        con.register(f"q_{part}", pa.table({"i": pa.array(range(len(texts))), "text": texts,
                                            "label": pa.array([bool(v) for v in labels])}))
        t0 = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE q_{part}_emb AS SELECT i, label, embed(text, "
                    f"model := '{model}', max_length := {length}) AS e FROM q_{part}").fetchall()
        out[f"{part}_pieces"] = len(texts)
        out[f"embed_{part}_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out["head"] = train_linear_head(con, "q_train_emb", "e", "label", "quality_head",
                                    model=model)
    out["fit_s"] = time.perf_counter() - t0

    def aucs(sql: str) -> tuple[float, float, int]:
        r = con.execute(sql).fetchall()
        y = [x[2] for x in r]
        return _auc([x[0] for x in r], y), _auc([x[1] for x in r], y), len(r)

    out["test_auc_tfidf"], out["test_auc_head"], _ = aucs(
        "SELECT quality_score(q.text), quality_head(q.text), q.label FROM q_test AS q "
        "JOIN q_test_emb AS e USING (i) WHERE e.e IS NOT NULL ORDER BY q.i")
    dec = ROOT.parent / "shared" / "data" / "quality-ref" / "decisions.parquet"
    out["gopher_auc_tfidf"], out["gopher_auc_head"], out["gopher_docs"] = aucs(
        f"SELECT quality_score(text), quality_head(text), "
        f"gopher_quality_pass AND gopher_repetition_pass FROM read_parquet('{dec}') "
        f"WHERE embed(text, model := '{model}') IS NOT NULL ORDER BY id")
    return out


def kmeans_iteration(n: int, k: int = 1000, dim: int = 384) -> dict:
    """(b): one Lloyd step vs the same-shape product X @ C.T."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    c = x[rng.choice(n, k, replace=False)].copy()
    ct = np.ascontiguousarray(c.T)
    x @ ct  # warm up BLAS
    t0 = time.perf_counter()
    x @ ct
    matmul = time.perf_counter() - t0
    t0 = time.perf_counter()
    K.lloyd_step(x, c)
    step = time.perf_counter() - t0
    return {"rows": n, "k": k, "matmul_s": matmul, "lloyd_step_s": step,
            "ratio": step / matmul}


def _synthetic(con, n: int, dim: int = 384) -> int:
    """Register ``dedup_emb``: n random 384-d embeddings, 5% of them planted near copies."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, dim), dtype=np.float32)
    copies = rng.choice(n, n // 20, replace=False)
    x[copies[1::2]] = x[copies[::2]] + 0.05 * rng.standard_normal((len(copies) // 2, dim))
    flat = pa.array(x.ravel(), pa.float32())
    con.register("dedup_emb", pa.table({"id": pa.array(np.arange(n)),
                                        "e": pa.FixedSizeListArray.from_arrays(flat, dim)}))
    return len(copies) // 2


def child(step: str, n: int) -> None:
    """One step of (c) in this process, printing its seconds and the process's peak memory."""
    con = corpusql.connect()
    try:
        planted = _synthetic(con, n)
        base = _peak_gb()
        k = K.default_clusters(n)
        t0 = time.perf_counter()
        if step == "kcenter":
            con.execute("SELECT count(*) FROM k_center_greedy('dedup_emb', 'id', 'e', 100)"
                        ).fetchall()
            removed = None
        elif step == "fit":
            con.execute(f"SELECT count(*) FROM kmeans('dedup_emb', 'e', {k})").fetchall()
            removed = None
        else:
            removed = con.execute("SELECT count(*) FILTER (WHERE NOT is_kept) FROM "
                                  "semantic_dup_clusters('dedup_emb', 'e', 'id')").fetchall()[0][0]
        print(json.dumps({"seconds": time.perf_counter() - t0, "peak_rss_gb": _peak_gb(),
                          "rss_after_data_gb": base, "removed": removed, "planted": planted,
                          "n_clusters": k}))
    finally:
        con.close()


def dedup_scale(n: int, steps=("fit", "dedup")) -> dict:
    """(c): semantic_dup_clusters vs one kmeans fit through SQL, each in its own process."""
    out = {}
    for step in steps:
        run = subprocess.run([sys.executable, __file__, "--child", step, "--dedup-rows", str(n)],
                             capture_output=True, text=True, check=True)
        out[step] = json.loads(run.stdout.strip().splitlines()[-1])
    if "dedup" in out:
        out["ratio"] = out["dedup"]["seconds"] / out["fit"]["seconds"]
    return out


def _slice(data: Path, docs: int) -> pa.Table:
    bench = pq.read_table(data / "bench.parquet", columns=["id", "text", "source"])
    inj = pq.read_table(data / "injected.parquet", columns=["id", "src_id", "kind"]).to_pylist()
    inj.sort(key=lambda r: r["id"])
    want: list[str] = []
    seen: set[str] = set()
    for kind in ("format", "exact", "words", "span"):
        for r in [r for r in inj if r["kind"] == kind][:docs // 10]:
            for i in (r["src_id"], r["id"]):
                if i not in seen:
                    seen.add(i)
                    want.append(i)
    ids = sorted(bench.column("id").to_pylist())
    for i in ids:
        if len(want) >= docs:
            break
        if i not in seen:
            seen.add(i)
            want.append(i)
    pos = {v: j for j, v in enumerate(bench.column("id").to_pylist())}
    return bench.take(pa.array(sorted(pos[i] for i in want[:docs])))


def slice_quality(con, data: Path, docs: int, cache: Path, model: str = "minilm",
                  ks=(1, 2, 5, 10, 20, 50)) -> dict:
    """(d), (g): recall vs brute force per n_clusters, injected copies, MinHash comparison,
    bands."""
    cache.mkdir(parents=True, exist_ok=True)
    tag = "" if model == "minilm" else f"_{model}"
    path = cache / f"neardup_slice_{docs}_128{tag}.parquet"
    t = _slice(data, docs)
    con.register("slice_docs", t)
    if not path.exists():
        t0 = time.perf_counter()
        con.execute("CREATE OR REPLACE TABLE slice_emb AS SELECT id, source, "
                    f"embed(text, model := '{model}', max_length := 128) AS e "
                    "FROM slice_docs").fetchall()
        took = time.perf_counter() - t0
        con.execute(f"COPY slice_emb TO '{path}' (FORMAT parquet)")
    else:
        took = None
        con.execute(f"CREATE OR REPLACE TABLE slice_emb AS SELECT * FROM '{path}'")
    rows = con.execute("SELECT id, e FROM slice_emb WHERE e IS NOT NULL ORDER BY id").fetchall()
    ids = [r[0] for r in rows]
    x = np.array([r[1] for r in rows], np.float32)
    t0 = time.perf_counter()
    pairs = _brute_pairs(ids, x, (0.02, 0.05, 0.1))
    out: dict = {"model": model, "docs": len(t), "embedded": len(ids), "embed_s": took,
                 "brute_force_s": time.perf_counter() - t0, "recall": {}}
    for eps in (0.02, 0.05, 0.1):
        brute = pairs[eps]
        for k in ks:
            got = {(r[0], r[1]) for r in con.execute(
                f"SELECT id_a, id_b FROM semantic_dup_pairs('slice_emb', 'e', 'id', eps := {eps}, "
                f"n_clusters := {k})").fetchall()}
            out["recall"][(eps, k)] = (len(got & brute) / len(brute) if brute else 1.0,
                                       len(brute))
    inj = pq.read_table(data / "injected.parquet", columns=["id", "src_id", "kind"])
    con.register("injected", inj)
    con.execute("CREATE OR REPLACE TEMP TABLE sem AS SELECT * FROM semantic_dup_clusters("
                "'slice_emb', 'e', 'id', eps := 0.05)")
    con.execute("CREATE OR REPLACE TEMP TABLE mh AS SELECT * FROM near_dup_clusters("
                "'slice_docs', 'text', 'id', threshold := 0.8)")
    out["injected"] = con.execute("""
        SELECT i.kind, count(*) AS n,
               count(*) FILTER (WHERE s1.cluster_id = s2.cluster_id) AS semantic,
               count(*) FILTER (WHERE m1.cluster_id = m2.cluster_id) AS minhash,
               count(*) FILTER (WHERE s1.cluster_id = s2.cluster_id
                                AND m1.cluster_id <> m2.cluster_id) AS semantic_only
        FROM injected AS i
        JOIN sem AS s1 ON s1.id = i.id JOIN sem AS s2 ON s2.id = i.src_id
        JOIN mh AS m1 ON m1.id = i.id JOIN mh AS m2 ON m2.id = i.src_id
        GROUP BY i.kind ORDER BY i.kind""").fetchall()
    out["bands"] = {}
    for eps in (0.02, 0.05, 0.1):
        out["bands"][eps] = con.execute(f"""
            WITH p AS (
                SELECT * FROM semantic_dup_pairs('slice_emb', 'e', 'id', eps := {eps})
                ORDER BY hash_unit(id_a || '|' || id_b) LIMIT 200),
            j AS (
                SELECT jaccard(a.text, b.text) AS jac FROM p
                JOIN slice_docs AS a ON a.id = p.id_a JOIN slice_docs AS b ON b.id = p.id_b)
            SELECT count(*), count(*) FILTER (WHERE jac >= 0.8),
                   count(*) FILTER (WHERE jac >= 0.5 AND jac < 0.8),
                   count(*) FILTER (WHERE jac >= 0.2 AND jac < 0.5),
                   count(*) FILTER (WHERE jac < 0.2 OR jac IS NULL)
            FROM j""").fetchall()[0]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--docs", type=int, default=2000)
    p.add_argument("--speed-docs", type=int, default=64)
    p.add_argument("--kmeans-rows", type=int, default=100_000)
    p.add_argument("--dedup-rows", type=int, default=100_000)
    p.add_argument("--static-speed-docs", type=int, default=4000)
    p.add_argument("--static-docs", type=int, default=20_000)
    p.add_argument("--cache", type=Path, default=Path("/tmp/corpusql-bench-semantic"))
    p.add_argument("--only", default="abcdfg")
    p.add_argument("--auc-model", default="wordllama")
    p.add_argument("--child", choices=("fit", "dedup", "kcenter"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.dedup_rows)
        return
    con = corpusql.connect()
    try:
        if "a" in args.only or "f" in args.only:
            bench = pq.read_table(args.data / "bench.parquet", columns=["id", "text"])
            longs = sorted((r for r in bench.to_pylist() if len(r["text"] or "") >= 3000),
                           key=lambda r: r["id"])
        if "a" in args.only:
            for length in (128, 256):
                print("(a) embed", speed(con, [r["text"] for r in longs[:args.speed_docs]],
                                         length), flush=True)
        if "f" in args.only:
            for length in (128, 256, 128, 256):
                print("(f) static embed", static_speed(
                    con, [r["text"] for r in longs[:args.static_speed_docs]], length), flush=True)
        if "b" in args.only:
            print("(b) kmeans iteration", kmeans_iteration(args.kmeans_rows), flush=True)
        if "c" in args.only:
            print("(c) semantic dedup at scale", dedup_scale(args.dedup_rows), flush=True)
        if "e" in args.only:
            print("(e) k_center_greedy k=100", dedup_scale(args.dedup_rows, ("kcenter",)),
                  flush=True)
        if "d" in args.only:
            q = slice_quality(con, args.data, args.docs, args.cache)
            print("(d) slice", {k: v for k, v in q.items() if k not in ("recall",)}, flush=True)
            for (eps, k), (r, n) in sorted(q["recall"].items()):
                print(f"    recall eps={eps} n_clusters={k}: {r:.4f} of {n} brute-force pairs")
        if "h" in args.only:
            print("(h) quality AUC", quality_auc(con, args.auc_model), flush=True)
        if "g" in args.only:
            q = slice_quality(con, args.data, args.static_docs, args.cache, "wordllama",
                              (1, 5, 10, 20, 50, 100, 200))
            print("(g) static slice", {k: v for k, v in q.items() if k != "recall"}, flush=True)
            for (eps, k), (r, n) in sorted(q["recall"].items()):
                print(f"    recall eps={eps} n_clusters={k}: {r:.4f} of {n} brute-force pairs")
    finally:
        con.close()


if __name__ == "__main__":
    main()

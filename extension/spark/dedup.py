"""Near-duplicate clusters on Spark without collecting the graph: the same answer as the
``near_dup_clusters`` macro, with connected components by large-star / small-star.

Connected components: Kiveris et al., "Connected Components in MapReduce and Beyond" (SoCC
2014). Edges are kept as (u, v) with u < v. Large-star links every larger neighbour of a node to
the smallest node of its neighbourhood; small-star links a node and its smaller neighbours to
the smallest of them. Both keep connectivity; the rounds stop when the edges form stars (each
node has one parent and no parent has a parent), whose roots are the smallest node of each
component. Each round is checkpointed (``localCheckpoint``) so the plan stays short. The
number of rounds run is logged (logger ``corpusql.spark.dedup``, INFO) and stored in the
caller's ``stats`` dict when one is passed.
"""

from __future__ import annotations

import logging

log = logging.getLogger("corpusql.spark.dedup")

#: Rounds before giving up; the number of rounds grows like log(component diameter).
MAX_ROUNDS = 100


def connected_components(edges, src: str = "src", dst: str = "dst", *,
                         stats: dict | None = None):
    """DataFrame (node, component) for every node of ``edges``; component = its smallest node.

    ``stats``: a dict that receives ``rounds``, the large-star/small-star rounds run (at least
    one: the round after which the edges are stars); the edges are computed then, eagerly.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    e = (edges.select(F.least(src, dst).alias("u"), F.greatest(src, dst).alias("v"))
         .where("u IS NOT NULL AND v IS NOT NULL AND u != v").distinct())
    for rounds in range(1, MAX_ROUNDS + 1):
        both = e.select(F.col("u").alias("a"), F.col("v").alias("b")).unionByName(
            e.select(F.col("v").alias("a"), F.col("u").alias("b")))
        m = F.least(F.col("a"), F.min("b").over(Window.partitionBy("a")))
        large = (both.withColumn("m", m).where("b > a")
                 .select(F.col("m").alias("u"), F.col("b").alias("v")).distinct())
        small = large.withColumn("m", F.min("u").over(Window.partitionBy("v")))
        e = (small.select(F.col("m").alias("u"), "v")
             .unionByName(small.where("u != m").select(F.col("m").alias("u"),
                                                        F.col("u").alias("v")))
             .distinct().localCheckpoint(eager=True))
        if _stars(e):
            log.info("connected_components: stars after %d round(s)", rounds)
            if stats is not None:
                stats["rounds"] = rounds
            roots = e.select(F.col("u").alias("node"), F.col("u").alias("component"))
            return (e.select(F.col("v").alias("node"), F.col("u").alias("component"))
                    .unionByName(roots).distinct())
    raise RuntimeError(f"connected_components: no convergence after {MAX_ROUNDS} rounds")


def _stars(e) -> bool:
    """True when the edges (u, v) are stars: no v has two parents and no parent has a parent.

    One job: each node's count of parents (rows where it is v) and whether it is a parent."""
    from pyspark.sql import functions as F

    roles = e.select(F.col("v").alias("n"), F.lit(1).alias("up"), F.lit(0).alias("down"))\
        .unionByName(e.select(F.col("u").alias("n"), F.lit(0).alias("up"), F.lit(1).alias("down")))
    bad = roles.groupBy("n").agg(F.sum("up").alias("up"), F.max("down").alias("down"))\
        .where("up > 1 OR (up = 1 AND down = 1)")
    return bad.limit(1).count() == 0


def shingle_options(ngram: int = 5, unit: str = "word", norm_numbers: bool = True) -> str:
    """The shingling arguments shared by minhash_signature and shingle_set, in Spark's spelling."""
    return (f"ngram => {int(ngram)}, unit => '{unit}', norm_numbers => "
            f"{'true' if norm_numbers else 'false'}")


def banding(spark, threshold: float = 0.8, num_perm: int = 128,
            fn_weight: float = 0.9) -> tuple[int, int]:
    """(bands, rows) of ``minhash_params``, the one row near_dup_clusters collects."""
    p = spark.sql(f"SELECT minhash_params(CAST({float(threshold)!r} AS DOUBLE), "
                  f"num_perm => {int(num_perm)}, fn_weight => CAST({float(fn_weight)!r} AS DOUBLE))"
                  " AS p").first()["p"]
    return int(p["bands"]), int(p["rows"])


def _signed(name: str) -> str:
    """The private signed form of registry function ``name`` (UBIGINT as BIGINT bits)."""
    from .binder import PRIVATE_PREFIX, SIGNED_SUFFIX

    return f"{PRIVATE_PREFIX}{name}{SIGNED_SUFFIX}"


def signatures(base, num_perm: int = 128, seed: int = 1, options: str = ""):
    """Stage 1: DataFrame (id, sig) from (id, text): the MinHash signature of each text."""
    from pyspark.sql import functions as F

    return base.select("id", F.expr(f"minhash_signature(text, num_perm => {int(num_perm)}, "
                                    f"seed => {int(seed)}{', ' + options if options else ''})")
                       .alias("sig"))


def band_keys(sigs, bands: int, rows: int):
    """Stage 2: DataFrame (id, band_key), one row per band of each non-NULL signature.

    band_key is minhash_bands' UBIGINT carried as a signed BIGINT of the same 64 bits (the
    private signed form, corpusql.spark.binder.signed_form): equal keys stay equal, and a BIGINT
    groups, sorts and shuffles far cheaper than the public function's DECIMAL(20,0)."""
    from pyspark.sql import functions as F

    # Spark refuses a SQL function inside explode(): make the list a column first
    keyed = sigs.where("sig IS NOT NULL").select(
        "id", F.expr(f"{_signed('minhash_bands')}(sig, {int(bands)}, {int(rows)})")
        .alias("keys"))
    return keyed.select("id", F.explode("keys").alias("band_key"))


def candidate_pairs(keys, max_bucket: int = 1000):
    """Stage 3: DataFrame (src, dst), src < dst, the distinct pairs sharing a band bucket; a
    bucket with more than ``max_bucket`` members gives (its smallest id, member) pairs only.

    One shuffle groups each bucket's ids into a sorted list; the pairs are generated from the
    list (each id with every larger one), then made distinct: no window sort and no self-join."""
    from pyspark.sql import functions as F

    m = int(max_bucket)
    buckets = (keys.groupBy("band_key")
               .agg(F.count(F.lit(1)).alias("n"), F.array_sort(F.collect_list("id")).alias("ids"))
               .where("n > 1"))
    pairs = F.expr(
        f"IF(n <= {m}, flatten(transform(ids, (a, i) -> transform(filter(slice(ids, i + 2, n), "
        "b -> b > a), b -> named_struct('src', a, 'dst', b)))), "
        "transform(filter(ids, b -> b != ids[0]), b -> named_struct('src', ids[0], 'dst', b)))")
    return buckets.select(F.inline(pairs)).distinct()


def verified_pairs(pairs, base, threshold: float = 0.8, options: str = ""):
    """Stage 3b: the ``pairs`` (src, dst) whose texts in ``base`` (id, text) have shingle-set
    Jaccard >= ``threshold``; each candidate's shingle set is computed once, as signed BIGINTs
    (see band_keys), and set_jaccard reads them back as the kernel's UBIGINTs.
    ``options`` are shingle_options' (named in Spark's spelling)."""
    from pyspark.sql import functions as F

    given = dict(_option(o) for o in options.split(",") if o.strip())
    shingling = ", ".join(given.get(k, d) for k, d in
                          (("ngram", "5"), ("unit", "'word'"), ("norm_numbers", "true")))

    nodes = pairs.select(F.col("src").alias("id")).unionByName(
        pairs.select(F.col("dst").alias("id"))).distinct()
    sets = base.join(nodes, "id", "left_semi").select(
        "id", F.expr(f"{_signed('shingle_set')}(text, {shingling})").alias("s"))
    sa, sb = sets.alias("sa"), sets.alias("sb")
    return (pairs.join(sa, F.col("src") == F.col("sa.id"))
            .join(sb, F.col("dst") == F.col("sb.id"))
            .where(F.expr(f"{_signed('set_jaccard')}(sa.s, sb.s)") >= F.lit(float(threshold)))
            .select("src", "dst"))


def _option(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=>")
    return name.strip(), value.strip()


def clusters(base, labels):
    """Stage 4b: DataFrame (id, cluster_id, cluster_size, is_kept) from ``base`` (id, priority)
    and connected_components' (node, component); unlabelled ids are singletons."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    clustered = (base.join(labels, base["id"] == labels["node"], "left")
                 .select("id", "priority", F.coalesce("component", "id").alias("component")))
    by_component = Window.partitionBy("component")
    rank = F.row_number().over(by_component.orderBy(F.col("priority").desc_nulls_last(), "id"))
    return clustered.select(
        "id",
        F.min("id").over(by_component).alias("cluster_id"),
        F.count(F.lit(1)).over(by_component).alias("cluster_size"),
        (rank == 1).alias("is_kept"),
    )


def near_dup_clusters(spark, docs, text_col: str, id_col: str, threshold: float = 0.8,
                      verify: bool = True, keep_by: str | None = None, num_perm: int = 128,
                      ngram: int = 5, unit: str = "word", seed: int = 1,
                      norm_numbers: bool = True, fn_weight: float = 0.9, max_bucket: int = 1000,
                      stats: dict | None = None):
    """The ``near_dup_clusters`` macro on Spark: DataFrame (id, cluster_id, cluster_size, is_kept).

    ``docs``: a DataFrame or a table name. Same parameters, defaults and answer as the macro
    (see sql/governance/near_dup_clusters.sql): MinHash LSH candidates, verified by the exact
    Jaccard of shingle sets when ``verify``, clustered by connected components; cluster_id is
    the smallest id, and each cluster keeps the highest ``keep_by`` value, then the smallest id.
    A band bucket with more than ``max_bucket`` members is over-full and gives only the pairs
    (its smallest id, member), as the single-machine near_dup_candidates does. ``stats``: a
    dict that receives ``rounds``, the connected-components rounds (see connected_components).
    The stages are also public (signatures, band_keys, candidate_pairs, verified_pairs,
    connected_components, clusters), so that a caller can materialize each (bench/spark.py).
    """
    from pyspark.sql import functions as F

    if not max_bucket >= 1:
        raise ValueError(f"near_dup_clusters: max_bucket = {max_bucket} must be at least 1")
    if not (0 < threshold <= 1):
        raise ValueError(f"near_dup_clusters: threshold = {threshold} is out of range (0, 1]")
    if isinstance(docs, str):
        docs = spark.table(docs)
    opts = shingle_options(ngram, unit, norm_numbers)
    bands, rows = banding(spark, threshold, num_perm, fn_weight)
    base = docs.select(F.col(id_col).alias("id"), F.col(text_col).alias("text"),
                       (F.col(keep_by) if keep_by else F.lit(None)).alias("priority"))
    keys = band_keys(signatures(base, num_perm, seed, opts), bands, rows)
    pairs = candidate_pairs(keys, max_bucket)
    if verify:
        pairs = verified_pairs(pairs, base, threshold, opts)
    return clusters(base, connected_components(pairs, stats=stats))


def exact_dup_groups(spark, docs, text_col: str, id_col: str, normalize: bool = True,
                     keep_by: str | None = None):
    """The ``exact_dup_groups`` macro on Spark: DataFrame (id, group_id, group_size, is_kept).

    Same parameters, defaults and answer as the macro (sql/governance/exact_dup_groups.sql):
    groups of equal ``text_fingerprint``; each keeps the highest ``keep_by`` value, then the
    smallest id; NULL texts form no group (group_id NULL, group_size 0, kept).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if isinstance(docs, str):
        docs = spark.table(docs)
    norm = "true" if normalize else "false"
    base = docs.select(
        F.col(id_col).alias("id"),
        F.expr(f"text_fingerprint(`{text_col}`, normalize => {norm})").alias("group_id"),
        (F.col(keep_by) if keep_by else F.lit(None)).alias("priority"))
    group = Window.partitionBy("group_id")
    rank = F.row_number().over(group.orderBy(F.col("priority").desc_nulls_last(), "id"))
    return base.select(
        "id", "group_id",
        F.when(F.col("group_id").isNull(), F.lit(0)).otherwise(F.count(F.lit(1)).over(group))
        .alias("group_size"),
        (F.col("group_id").isNull() | (rank == 1)).alias("is_kept"),
    )

"""THE registry: every SQL function corpusql binds, one row each.

Adding a function is one kernel in ``corpusql.udfs`` plus one row here. Rows are grouped by area;
keep each area's rows together. Column parameters are positional, constants (``column=False``)
get ``:=`` defaults. See :mod:`corpusql.registry` for the fields.
"""

from __future__ import annotations

from corpusql.udfs import hashing, split, text

from .registry import Param, Registry, fn

TEXT = Param("text", "VARCHAR")


def _const(name: str, sql_type: str, default, **kw) -> Param:
    return Param(name, sql_type, default, column=False, **kw)


# --- text and exact dedup (foundation) ---------------------------------------------------------
FOUNDATION = [
    fn("text_normalize", text.text_normalize, [
        TEXT,
        _const("lower", "BOOLEAN", True),
        _const("strip_punct", "BOOLEAN", True),
        _const("nfkc", "BOOLEAN", True),
        _const("collapse_ws", "BOOLEAN", True),
        _const("digits", "BOOLEAN", False),
    ], "VARCHAR"),
    fn("text_fingerprint", hashing.text_fingerprint, [
        TEXT, _const("normalize", "BOOLEAN", True)], "VARCHAR"),
    fn("word_count", text.word_count, [TEXT], "INTEGER", null="kernel"),
    fn("char_count", text.char_count, [TEXT], "BIGINT", null="kernel"),
    fn("split_assign", split.split_assign, [
        Param("key", "VARCHAR", cast=True),
        _const("seed", "BIGINT", 0),
        _const("train", "DOUBLE", 0.98, low=0.0, high=1.0),
        _const("val", "DOUBLE", 0.01, low=0.0, high=1.0),
        _const("test", "DOUBLE", 0.01, low=0.0, high=1.0),
    ], "VARCHAR", validate=split.check_fractions),
]

# --- near-duplicates (issue 3) -----------------------------------------------------------------
NEAR_DUP: list = []

# --- quality signals (issue 4) -----------------------------------------------------------------
QUALITY: list = []

# --- tokens, mixing, splitting (issue 5) -------------------------------------------------------
TOKENS: list = []

REGISTRY = Registry([*FOUNDATION, *NEAR_DUP, *QUALITY, *TOKENS])

"""Each parameter is declared once: the kernel's signature; SQL agrees with it everywhere.

The registry row adds only what Python cannot say (SQL types, bounds, NULL policy); this walk
checks that every registry function's SQL parameters and defaults are the kernel's, and that a
library macro passing a parameter on to a kernel or macro it calls has that one's default
(unless listed below with the reason it differs). docs/functions.md is generated from the same
rows (tests/test_registry.py checks it is current).
"""

from __future__ import annotations

import inspect
import re

import pytest

from corpusql.functions import REGISTRY
from corpusql.registry import as_sql_value, sql_literal
from corpusql.sqllib import library, library_by_name

#: Kernel keyword arguments the binder supplies itself (never SQL parameters).
BINDER_SUPPLIED = {"memory_budget"}

#: Macro parameters whose default deliberately differs from the one of the function it is passed
#: to, with the reason (reviewed: a new entry needs one).
_RECALL = ("near-dup clusters verify their candidates, so their banding weighs false negatives "
           "0.9 (minhash_params' and near_dup_candidates' 0.5 is datasketch's default)")
DELIBERATE = {
    ("near_dup_settings", "fn_weight"): _RECALL,
    ("near_dup_clusters", "fn_weight"): _RECALL,
    ("near_dup_band_keys", "fn_weight"): _RECALL,
    ("near_dup_incremental", "fn_weight"): _RECALL,
    ("split_leakage", "fn_weight"): _RECALL,
}


@pytest.mark.parametrize("f", list(REGISTRY), ids=[f.name for f in REGISTRY])
def test_registry_parameters_are_the_kernels(f):
    sig = inspect.signature(f.kernel).parameters
    sql = {p.name: p for p in f.params}
    assert set(sig) - BINDER_SUPPLIED == set(sql), f"{f.name}: SQL and kernel parameters differ"
    for p in f.params:
        k = sig[p.name]
        if p.column:
            assert k.kind in (k.POSITIONAL_ONLY, k.POSITIONAL_OR_KEYWORD), (f.name, p.name)
            if not p.required:  # an optional column (html_to_text's charset)
                assert as_sql_value(k.default) == p.default, (f.name, p.name)
        else:
            assert k.kind == k.KEYWORD_ONLY, f"{f.name}: constant {p.name} must follow *"
            assert k.default is not k.empty, f"{f.name}: {p.name} has no default in the kernel"
            assert as_sql_value(k.default) == p.default, (
                f"{f.name}: {p.name} defaults to {p.default!r} in SQL but {k.default!r} in "
                f"{f.kernel.__qualname__}")


def _defaults(call: str) -> dict[str, str]:
    args = re.match(r"^[A-Za-z_]\w*\s*\((.*)\)\s*$", call).group(1)
    out = {}
    for a in args.split(","):
        name, sep, default = a.partition(":=")
        if sep:
            out[name.strip()] = default.strip().lower()
    return out


def _passed_on(obj) -> dict[str, set[str]]:
    """{parameter: functions and macros the body passes it to as ``name := name``}."""
    from sqlglot import exp

    from corpusql import sqlparse

    body = sqlparse.macro_body(obj.body)
    body = body[5:] if body.upper().startswith("TABLE") else body
    tree = sqlparse._parse(body)[0]
    out: dict[str, set[str]] = {}
    for call in tree.find_all(exp.Anonymous):
        for arg in call.expressions:
            if isinstance(arg, exp.PropertyEQ) and isinstance(arg.expression, exp.Column) \
                    and arg.this.name == arg.expression.name:
                out.setdefault(arg.this.name, set()).add(call.name.lower())
    return out


MACROS = [o for o in library() if o.kind == "macro"]


@pytest.mark.parametrize("obj", MACROS, ids=[o.name for o in MACROS])
def test_macro_defaults_are_the_called_functions(obj):
    mine = _defaults(obj.call)
    reg = {f.name: f for f in REGISTRY}
    lib = library_by_name()
    passed = _passed_on(obj)
    for name, default in mine.items():
        theirs = {}
        for callee in passed.get(name, ()):
            if callee in reg:
                theirs[callee] = sql_literal(
                    next(p.default for p in reg[callee].params if p.name == name)).lower()
            elif callee in lib and name in _defaults(lib[callee].call):
                theirs[callee] = _defaults(lib[callee].call)[name]
        differ = {k: v for k, v in theirs.items() if v != default}
        if (obj.name, name) in DELIBERATE:
            assert differ, f"{obj.name}.{name} is listed as deliberate but agrees: unlist it"
            continue
        assert not differ, (f"{obj.path}: {name} := {default}, but {differ} "
                            "(declare it once, or list it in DELIBERATE with the reason)")


def test_deliberate_entries_exist():
    for macro, param in DELIBERATE:
        assert param in _defaults(library_by_name()[macro].call)

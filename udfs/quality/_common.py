"""Helpers shared by the rule-set modules: NULL handling, ratios, reason lists, structs."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FLAVORS = ("datatrove",)


def check_flavor(flavor: str) -> None:
    if flavor not in FLAVORS:
        raise ValueError(f"flavor {flavor!r} is not implemented; choose one of {FLAVORS}")


def as_text(text: pa.Array) -> pa.Array:
    """The text column as a plain string array, NULL read as the empty string."""
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    if pa.types.is_large_string(text.type) or pa.types.is_string_view(text.type):
        text = text.cast(pa.string())
    if text.null_count:
        text = pc.fill_null(text, "")
    return text


def np_int(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.int64)


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den as float64, NaN where den is 0 (a NaN never fails a rule, it becomes NULL)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(len(num), np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def double(values: np.ndarray) -> pa.Array:
    """A float64 array with NaN turned into NULL."""
    values = np.asarray(values, dtype=np.float64)
    return pa.array(values, type=pa.float64(), mask=np.isnan(values))


def reason_lists(rules: list[tuple[str, np.ndarray]], n: int) -> pa.Array:
    """list<string>: for each row, the reasons whose mask is true, in rule order."""
    if not rules:
        return pa.array([[] for _ in range(n)], type=pa.list_(pa.string()))
    masks = np.stack([np.asarray(m, dtype=bool) for _, m in rules], axis=1)  # n x rules
    _, cols = np.nonzero(masks)
    names = np.array([r for r, _ in rules], dtype=object)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(masks.sum(axis=1), out=offsets[1:])
    values = pa.array(names[cols].tolist() if len(cols) else [], type=pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def any_failed(rules: list[tuple[str, np.ndarray]], n: int) -> np.ndarray:
    failed = np.zeros(n, dtype=bool)
    for _, m in rules:
        failed |= np.asarray(m, dtype=bool)
    return failed


def passed(rules: list[tuple[str, np.ndarray]], n: int) -> pa.Array:
    return pa.array(~any_failed(rules, n), type=pa.bool_())


def gt(x: np.ndarray, threshold) -> np.ndarray:
    """x > threshold, false where x is NaN or the threshold disables the rule (None or 0)."""
    if not threshold:
        return np.zeros(len(x), dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.asarray(x > threshold)


def lt(x: np.ndarray, threshold) -> np.ndarray:
    """x < threshold, false where x is NaN or the threshold disables the rule (None or 0)."""
    if not threshold:
        return np.zeros(len(x), dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.asarray(x < threshold)

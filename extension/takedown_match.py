"""What a takedown matches, and which documents of a release it finds.

A match is a dict with one key:

- ``{"url": u}``: documents whose ``url_normalize(url)`` equals ``url_normalize(u)`` (case,
  default port, fragment and tracking parameters do not matter);
- ``{"domain": d}``: documents whose URL's registered domain (``url_registered_domain``) is
  ``d``'s (``blog.example.co.uk`` and ``example.co.uk`` both give ``example.co.uk``);
- ``{"id": i}``: the document whose ``id`` is ``str(i)``;
- ``{"text": t}``: documents whose ``doc_hash`` equals ``text_fingerprint(t)`` (the same text
  up to case, punctuation and spacing, see ``text_normalize``);
- ``{"doc_hash": h}``: documents with that ``doc_hash`` (32 hex digits);
- ``{"near_text": t, "threshold": 0.8}``: documents whose MinHash estimate of Jaccard
  similarity with ``t`` (``minhash_signature`` defaults: 128 permutations, word 5-grams) is at
  least ``threshold``; this one reads the releases' text, the others only their indexes.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import FunctionArgumentError

KINDS = ("url", "domain", "id", "text", "doc_hash", "near_text")
DEFAULT_THRESHOLD = 0.8


class MatchError(FunctionArgumentError):
    """A malformed match; the message says which keys are allowed."""


def normalize(match: dict[str, Any]) -> dict[str, Any]:
    """``{"kind", "value", "key", "threshold"}`` of a user's match: ``key`` is what the index is
    compared with (normalized URL, registered domain, doc_hash), checked."""
    from .udfs.hashing import text_fingerprint
    from .udfs.url import normalize as url_norm
    from .udfs.url import registered_domain

    if not isinstance(match, dict):
        raise MatchError(f"match {match!r} must be a dict such as {{'url': ...}}")
    kinds = [k for k in match if k in KINDS]
    extra = [k for k in match if k not in KINDS and k != "threshold"]
    if len(kinds) != 1 or extra:
        raise MatchError(f"match {json.dumps(match, default=str)} must have exactly one of "
                         f"{', '.join(KINDS)} (and threshold with near_text)")
    kind = kinds[0]
    value = match[kind]
    if value is None or str(value).strip() == "":
        raise MatchError(f"match {kind} is empty")
    value = str(value)
    threshold = None
    if kind == "near_text":
        threshold = float(match.get("threshold", DEFAULT_THRESHOLD))
        if not 0.0 < threshold <= 1.0:
            raise MatchError(f"near_text threshold = {threshold} must be in (0, 1]")
    elif "threshold" in match:
        raise MatchError("threshold applies to near_text only")
    if kind == "url":
        key = url_norm(value)
        if key is None or any(c.isspace() for c in value.strip()):
            raise MatchError(f"url {value!r} has no host; give a full URL (https://host/path)")
    elif kind == "domain":
        host = value if "://" in value else f"http://{value}/"
        key = registered_domain(host)
        if key is None:
            raise MatchError(f"domain {value!r} has no registered domain (a bare public suffix, "
                             "an IP address or a single label)")
    elif kind == "text":
        key = text_fingerprint(pa.array([value]))[0].as_py()
    elif kind == "doc_hash":
        key = value.lower()
        if len(key) != 32 or any(c not in "0123456789abcdef" for c in key):
            raise MatchError(f"doc_hash {value!r} is not 32 hex digits (see text_fingerprint)")
    elif kind == "near_text":
        from .udfs.minhash import minhash_signature

        sig = minhash_signature(pa.array([value]))[0]
        if not sig.is_valid:
            raise MatchError("near_text is empty after normalization")
        key = [int(x) for x in sig.values.to_pylist()]
    else:
        key = value
    return {"kind": kind, "value": value, "key": key, "threshold": threshold}


def recorded(m: dict[str, Any]) -> dict[str, Any]:
    """What is kept of a match in manifests and the takedowns table: never the text itself
    (an erasure must not copy what it erases): text keeps its doc_hash, near_text its MinHash
    signature and threshold."""
    keep = {"kind": m["kind"], "key": m["key"], "threshold": m["threshold"]}
    if m["kind"] not in ("text", "near_text"):
        keep["value"] = m["value"]
    return keep


def index_mask(index: pa.Table, m: dict[str, Any]) -> np.ndarray:
    """Rows of a fingerprint index that match ``m`` (all False for near_text: see
    :func:`near_mask`)."""
    n = index.num_rows
    if m["kind"] == "url":
        hit = pc.equal(index.column("url_key"), m["key"])
    elif m["kind"] == "domain":
        hit = _domain_hits(index.column("url_key").combine_chunks(), m["key"])
    elif m["kind"] == "id":
        hit = pc.equal(index.column("id"), m["key"])
    elif m["kind"] in ("text", "doc_hash"):
        hit = pc.equal(index.column("doc_hash"), m["key"])
    else:
        return np.zeros(n, dtype=bool)
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)


def _domain_hits(keys: pa.Array, domain: str) -> pa.Array:
    """Whether each normalized URL's registered domain is ``domain``.

    A registered domain is a suffix of its host's labels, so an ASCII host without ``%`` can
    have it only if it holds ``domain`` (any case): only those, and hosts with other
    characters, go through the Public Suffix List (per-row Python); the rest are False at once.
    """
    if not len(keys):
        return pa.array([], pa.bool_())
    hosts = pc.struct_field(pc.extract_regex(keys, r"^[a-z][a-z0-9+.-]*://(?P<host>[^/?#]+)"),
                            [0])
    maybe = pc.or_(pc.match_substring(hosts, domain, ignore_case=True),
                   pc.match_substring_regex(hosts, r"[^\x00-\x7f]|%"))
    rows = np.flatnonzero(np.asarray(pc.fill_null(maybe, False).to_numpy(zero_copy_only=False),
                                     dtype=bool))
    out = np.zeros(len(keys), dtype=bool)
    if len(rows):
        found = pc.fill_null(pc.equal(_domains(keys.take(pa.array(rows))), domain), False)
        out[rows] = np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
    return pa.array(out)


def _domains(keys: pa.Array) -> pa.Array:
    """Registered domain of each normalized URL, computed once per distinct host."""
    from .udfs.url import url_registered_domain

    if not len(keys):
        return pa.array([], pa.string())
    hosts = pc.struct_field(pc.extract_regex(keys, r"^[a-z][a-z0-9+.-]*://(?P<host>[^/?#]+)"),
                            [0])
    codes = pc.dictionary_encode(hosts)
    uniq = codes.dictionary
    doms = url_registered_domain(pc.binary_join_element_wise("http://", uniq, "/", ""))
    return pc.take(doms, codes.indices)


def near_mask(texts: pa.Array, m: dict[str, Any]) -> np.ndarray:
    """Texts whose estimated Jaccard similarity with ``m``'s text reaches its threshold."""
    from .udfs.minhash import minhash_signature

    want = np.asarray(m["key"], dtype=np.uint64)
    sigs = minhash_signature(texts)
    out = np.zeros(len(texts), dtype=bool)
    valid = np.asarray(sigs.is_valid())
    if valid.any():
        flat = sigs.filter(sigs.is_valid()).flatten().to_numpy().astype(np.uint64)
        flat = flat.reshape(-1, len(want))
        out[valid] = (flat == want).mean(axis=1) >= m["threshold"]
    return out


def applies(index: pa.Table, matches: list[dict[str, Any]]) -> np.ndarray:
    """Rows of ``index`` matched by any of ``matches`` that need no text (see near_mask)."""
    hit = np.zeros(index.num_rows, dtype=bool)
    for m in matches:
        hit |= index_mask(index, m)
    return hit

"""HTML to text: charset decoding, main-content extraction, title and declared language.

Decoding (:func:`decode_html`), in order: the ``charset`` argument (the HTTP header's), the
document's own ``<meta charset>`` or ``http-equiv`` declaration, strict UTF-8, then detection
(resiliparse's ``detect_encoding``, then ``charset_normalizer`` when that guess does not decode
the whole page strictly). A declared charset that fails to decode strictly falls through to
the next step; when nothing decodes, the row gets NULL text and a reason, never mojibake.

Extraction: ``extractor := 'resiliparse'`` (``resiliparse.extract.html2text.extract_plain_text``
with ``main_content=True``; the default, measured faster with the same boilerplate removal on the
tests' pages, see bench/RESULTS.md "web") or ``'trafilatura'`` (``trafilatura.extract``, the
extractor datatrove and FineWeb use). A row gets NULL text and a reason in ``reason`` when the
payload is not HTML, larger than ``max_html_bytes``, undecodable, or has no main content.

Rows of one call are extracted by a process-wide pool of one thread per core (at most 8): both
extractors release the GIL for part of their work (resiliparse: 1.5x on 2 cores, measured).
"""

from __future__ import annotations

import codecs
import html as htmllib
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

EXTRACTORS = ("resiliparse", "trafilatura")
#: Default for ``max_html_bytes``: larger payloads are not parsed (the memory guard).
MAX_HTML_BYTES = 8 * 1024 * 1024
EXTRACT_TYPE = pa.struct([
    ("text", pa.string()), ("reason", pa.string()), ("title", pa.string()),
    ("lang", pa.string()), ("charset", pa.string()),
])
_META_RE = re.compile(
    rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_LANG_RE = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z0-9_-]+)", re.IGNORECASE)
_TAG_RE = re.compile(r"<\s*(!doctype|html|head|body|div|p|title|meta|a|span|table|br)\b",
                     re.IGNORECASE)


def _codec(name: str | None) -> str | None:
    """The Python codec for a charset label, or None when unknown (x-user-defined, typos)."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None


def decode_html(data: bytes, charset: str | None = None) -> tuple[str | None, str]:
    """(text, charset used) or (None, reason): see the module docstring for the order."""
    tried = []
    for source, label in (("declared", charset),
                          ("meta", _meta_charset(data))):
        codec = _codec(label)
        if label and codec is None:
            tried.append(f"{source} charset {label!r} is unknown")
            continue
        if codec is None:
            continue
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            tried.append(f"{source} charset {label!r} does not decode")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from resiliparse.parse.encoding import detect_encoding

    guess = _codec(detect_encoding(data[:262144]))  # fast (uchardet-style); verified below
    if guess is not None and guess != "utf-8":
        try:
            return data.decode(guess), guess
        except UnicodeDecodeError:
            tried.append(f"detected charset {guess!r} does not decode the whole page")
    from charset_normalizer import from_bytes

    best = from_bytes(data[:262144]).best()
    if best is not None and best.encoding:
        try:
            return data.decode(best.encoding), _codec(best.encoding) or best.encoding
        except UnicodeDecodeError:
            tried.append(f"detected charset {best.encoding!r} does not decode the whole page")
    tried.append("charset detection found no charset")
    return None, "undecodable: " + "; ".join(tried)


def _meta_charset(data: bytes) -> str | None:
    m = _META_RE.search(data[:4096])
    return m.group(1).decode("ascii") if m else None


def looks_like_html(text: str) -> bool:
    """True when the first 4,096 characters hold an HTML tag and no NUL character."""
    head = text[:4096]
    return "\x00" not in head and _TAG_RE.search(head) is not None


def html_title(text: str) -> str | None:
    """The document's ``<title>``, entities unescaped and white space collapsed."""
    m = _TITLE_RE.search(text[:65536])
    if not m:
        return None
    title = " ".join(htmllib.unescape(m.group(1)).split())
    return title or None


def html_lang(text: str) -> str | None:
    """The ``lang`` attribute of ``<html>`` (the declared language), lowercased."""
    m = _LANG_RE.search(text[:65536])
    return m.group(1).lower() if m else None


def extract_text(text: str, extractor: str) -> str | None:
    """Main-content text of a decoded page with ``extractor`` (None when it finds none)."""
    if extractor == "resiliparse":
        from resiliparse.extract.html2text import extract_plain_text

        out = extract_plain_text(text, main_content=True, preserve_formatting=True,
                                 list_bullets=True, alt_texts=False, noscript=False)
    elif extractor == "trafilatura":
        import trafilatura

        out = trafilatura.extract(text, include_comments=False, include_tables=True,
                                  deduplicate=False, fast=True)
    else:
        raise ValueError(f"html_to_text: extractor {extractor!r} is not one of "
                         f"{', '.join(EXTRACTORS)}")
    out = (out or "").strip()
    return out or None


def extract_one(data: bytes | None, charset: str | None, extractor: str,
                max_html_bytes: int = MAX_HTML_BYTES) -> dict | None:
    """The :data:`EXTRACT_TYPE` row of one payload (None for a NULL payload)."""
    if data is None:
        return None
    row = {"text": None, "reason": None, "title": None, "lang": None, "charset": None}
    if len(data) > max_html_bytes:
        row["reason"] = (f"html of {len(data)} bytes exceeds max_html_bytes = {max_html_bytes} "
                         "(raise max_html_bytes to extract it)")
        return row
    if b"\x00" in data[:4096]:
        row["reason"] = "not HTML: binary payload (NUL bytes in the first 4096 bytes)"
        return row
    text, used = decode_html(data, charset)
    if text is None:
        row["reason"] = used
        return row
    row["charset"] = used
    if not looks_like_html(text):
        row["reason"] = "not HTML: no HTML tag in the first 4096 characters"
        return row
    row["title"], row["lang"] = html_title(text), html_lang(text)
    try:
        row["text"] = extract_text(text, extractor)
    except (ValueError, TypeError, RuntimeError) as e:
        if isinstance(e, ValueError) and "extractor" in str(e):
            raise
        row["reason"] = f"{extractor} failed: {e}"
        return row
    if row["text"] is None:
        row["reason"] = f"{extractor} found no main content"
    return row


def html_extract(html: pa.Array, charset: pa.Array | None = None, *,
                 extractor: str = "resiliparse",
                 max_html_bytes: int = MAX_HTML_BYTES) -> pa.Array:
    """Main-content text of an HTML payload with its failure reason, title, language, charset.

    A struct per row: ``text`` (NULL on failure), ``reason`` (NULL on success; else why: not
    HTML, too large, undecodable, no main content), ``title``, ``lang`` (the ``<html lang>``
    declaration) and ``charset`` (the codec used). ``html`` is BLOB (raw bytes, decoded per
    ``charset``, the page's declaration, UTF-8 or detection) or VARCHAR. NULL html gives NULL.
    """
    if extractor not in EXTRACTORS:
        raise ValueError(f"html_extract: extractor {extractor!r} is not one of "
                         f"{', '.join(EXTRACTORS)}")
    values = html.to_pylist()
    charsets = charset.to_pylist() if charset is not None else [None] * len(values)
    jobs = [(v.encode("utf-8"), "utf-8") if isinstance(v, str) else (v, cs)
            for v, cs in zip(values, charsets)]

    def one(job):
        return extract_one(job[0], job[1], extractor, max_html_bytes)

    if len(jobs) < 8 or _workers() == 1:
        out = [one(j) for j in jobs]
    else:  # the extractors release the GIL for part of their work: rows go to a thread pool
        out = list(_pool().map(one, jobs))
    return pa.array(out, EXTRACT_TYPE)


_pool_lock = threading.Lock()
_pools: list[ThreadPoolExecutor] = []


def _workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def _pool() -> ThreadPoolExecutor:
    """One process-wide pool with a thread per core (at most 8), created on first use."""
    with _pool_lock:
        if not _pools:
            _pools.append(ThreadPoolExecutor(_workers(), thread_name_prefix="corpusql-html"))
        return _pools[0]


def _field(name: str):
    def kernel(html: pa.Array, charset: pa.Array | None = None, *,
               extractor: str = "resiliparse", max_html_bytes: int = MAX_HTML_BYTES) -> pa.Array:
        return html_extract(html, charset, extractor=extractor,
                            max_html_bytes=max_html_bytes).field(name)
    return kernel


html_to_text = _field("text")
html_to_text.__doc__ = """Main-content text of an HTML payload; NULL when extraction fails.

``html_extract_reason`` with the same arguments says why. See ``html_extract``.
"""
html_extract_reason = _field("reason")
html_extract_reason.__doc__ = """Why ``html_to_text`` gives NULL for this payload; NULL when it succeeds.

Reasons start with: ``not HTML``, ``html of N bytes exceeds max_html_bytes``, ``undecodable``,
``<extractor> found no main content`` or ``<extractor> failed``.
"""


def html_title_kernel(html: pa.Array, charset: pa.Array | None = None) -> pa.Array:
    """The ``<title>`` of an HTML payload; NULL if it has none.

    The payload is decoded as ``html_to_text`` decodes it (``charset``, the page's declaration,
    UTF-8, detection); entities are unescaped and white space collapsed. NULL html gives NULL.
    """
    return pa.array([_decoded(v, cs, html_title) for v, cs in _rows(html, charset)], pa.string())


def html_lang_kernel(html: pa.Array, charset: pa.Array | None = None) -> pa.Array:
    """The declared language of an HTML payload: the ``lang`` attribute of ``<html>``.

    Lowercased, as written (``en``, ``pt-br``); NULL when absent or for NULL html. Compare with
    ``lang_id(html_to_text(...))``, the detected language.
    """
    return pa.array([_decoded(v, cs, html_lang) for v, cs in _rows(html, charset)], pa.string())


def _rows(html: pa.Array, charset: pa.Array | None):
    values = html.to_pylist()
    return zip(values, charset.to_pylist() if charset is not None else [None] * len(values))


def _decoded(v, cs, fn):
    if v is None:
        return None
    if isinstance(v, str):
        return fn(v)
    text, _ = decode_html(v, cs)
    return fn(text) if text is not None else None

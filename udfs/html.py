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

Both extractors hold the GIL (measured: two threads of resiliparse use one core), so a call of
at least :data:`MIN_PROCESS_ROWS` rows is split into N contiguous chunks, N = one per core (at
most 8) or ``CORPUSQL_HTML_WORKERS`` (1: everything in the calling process): the first chunk is
extracted in the calling process, the others in worker processes (``python -m
corpusql.udfs.html``, started on first use, kept for the life of the process, fed over pipes).
The rows come back in order and equal to an in-process extraction; a worker that dies fails the
call with an error naming the knob, and the next call starts new workers. On a quiet 2-core
machine this measured 1.26x the in-process rate; with another job holding a core, 0.86x (set
``CORPUSQL_HTML_WORKERS=1`` on a shared machine; bench/RESULTS.md, "Web"). The same workers
run ``read_warc_text``'s reading and extraction by file name and offset (task ``warc_text``,
corpusql.udfs.warc_text): there no payload crosses the pipe.
"""

from __future__ import annotations

import atexit
import codecs
import html as htmllib
import importlib
import os
import pickle
import re
import subprocess
import sys
import threading

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
    for source in ("declared", "meta"):  # the page's declaration is looked up only when needed
        label = charset if source == "declared" else _meta_charset(data)
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
    workers = _workers()
    if len(jobs) < MIN_PROCESS_ROWS or workers == 1:
        out = _extract_rows(jobs, extractor, max_html_bytes)
    else:  # the extractors hold the GIL: contiguous chunks, one here, the others in workers
        size = -(-len(jobs) // workers)
        chunks = [jobs[i:i + size] for i in range(0, len(jobs), size)]
        parts = _pool(workers - 1).run("extract", chunks, extractor, max_html_bytes)
        out = [row for part in parts for row in part]
    return pa.array(out, EXTRACT_TYPE)


def _extract_rows(jobs, extractor: str, max_html_bytes: int) -> list:
    """:func:`extract_one` of each (payload, charset): the unit of work of a worker process."""
    return [extract_one(data, cs, extractor, max_html_bytes) for data, cs in jobs]


#: The functions a worker will run, by task name: (module, function). Named, not imported, so
#: the modules that bring tasks (warc_text: fetch + parse + extract by file and offsets) may
#: import this one.
TASKS = {"extract": (__name__, "_extract_rows"),
         "warc_text": ("corpusql.udfs.warc_text", "fetch_extract"),
         "warc_scan": ("corpusql.udfs.warc_text", "scan_files")}


def _task(name: str):
    """The function a worker runs for a task name (the only functions a worker will run)."""
    if name not in TASKS:
        raise ValueError(f"html worker: unknown task {name!r}")
    module, function = TASKS[name]
    return getattr(importlib.import_module(module), function)


#: Calls with fewer rows are extracted in the calling process (the worker round trip costs more).
MIN_PROCESS_ROWS = 64
#: Environment variable: the number of extraction worker processes (1: none, in-process).
WORKERS_ENV = "CORPUSQL_HTML_WORKERS"
_pool_lock = threading.Lock()
_pools: list[_Workers] = []


def _workers() -> int:
    """Processes extracting a call's rows, the calling one included: ``CORPUSQL_HTML_WORKERS``,
    else one per core available to this process (at most 8)."""
    env = os.environ.get(WORKERS_ENV)
    if not env:
        try:
            return max(1, min(8, len(os.sched_getaffinity(0))))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, min(8, os.cpu_count() or 1))
    try:
        return max(1, min(64, int(env)))
    except ValueError:
        raise ValueError(f"html_extract: {WORKERS_ENV}={env!r} is not an integer (1: extract "
                         "in the calling process)") from None


class _Workers:
    """Extraction worker processes (``python -m corpusql.udfs.html``), fed over pipes.

    The extractors hold the GIL, so threads would run them one at a time; processes run them
    on every core. Workers are fresh interpreters: nothing is forked from the caller (DuckDB's
    threads hold locks a fork would copy) and the caller's main module is never re-imported.
    One call uses every worker at once; calls from several threads take turns.
    """

    def __init__(self, n: int):
        self.lock = threading.Lock()
        self.procs = [subprocess.Popen([sys.executable, "-m", "corpusql.udfs.html"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                      for _ in range(n)]

    def run(self, task: str, chunks: list, *args) -> list:
        """Task ``task`` (see :func:`_task`) of each chunk with ``args``: the first chunk in this
        process, chunk i on worker i-1."""
        with self.lock:
            try:
                sent = list(zip(self.procs, chunks[1:]))
                for proc, chunk in sent:
                    pickle.dump((task, chunk, args), proc.stdin, protocol=5)
                    proc.stdin.flush()
                try:  # this process's chunk; its error is raised once the workers answered
                    first = _task(task)(chunks[0], *args)
                except Exception as e:  # noqa: BLE001 - raised below, after the workers' rows
                    first = e
                parts = [first] + [pickle.load(proc.stdout) for proc, _ in sent]
            except (OSError, EOFError, pickle.UnpicklingError) as e:
                _reset_pool()
                raise RuntimeError(f"{_CALLER[task]}: an extraction worker process died (set "
                                   f"{WORKERS_ENV}=1 to extract in the calling process)") from e
            except BaseException:  # interrupted: the workers' answers would be read by the next call
                _reset_pool()
                raise
        for part in parts:
            if isinstance(part, BaseException):
                raise part
        return parts

    def close(self) -> None:
        for proc in self.procs:
            try:
                proc.stdin.close()
            except OSError:
                pass
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()


def _pool(n: int) -> _Workers:
    """The process-wide extraction workers (``n`` of them), started on first use."""
    with _pool_lock:
        if _pools and len(_pools[0].procs) != n:  # CORPUSQL_HTML_WORKERS changed
            _pools.pop().close()
        if not _pools:
            _pools.append(_Workers(n))
            atexit.register(_reset_pool)
        return _pools[0]


def _reset_pool() -> None:
    with _pool_lock:
        pools = list(_pools)
        _pools.clear()
    for pool in pools:
        pool.close()


_CALLER = {"extract": "html_extract", "warc_text": "read_warc_text",
           "warc_scan": "read_warc_text"}


def _serve() -> None:
    """A worker's loop: read (task, chunk, args), write :func:`_task`'s rows or the error."""
    # private copies of the pipes; what a library prints goes to stderr, not into the protocol
    stdin, stdout = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    while True:
        try:
            task, chunk, args = pickle.load(stdin)
        except EOFError:
            return
        try:
            out = _task(task)(chunk, *args)
        except Exception as e:  # noqa: BLE001 - handed back to the caller, raised there
            out = e
        pickle.dump(out, stdout, protocol=5)
        stdout.flush()


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


if __name__ == "__main__":
    # on a thread of its own: extraction measured up to 2x slower on a process's main thread
    # (glibc's main malloc arena); a thread gets an arena of its own
    worker = threading.Thread(target=_serve, name="corpusql-html-worker")
    worker.start()
    worker.join()

"""URLs: normalization, host and registered domain (Public Suffix List shipped by tldextract).

:func:`normalize` follows RFC 3986 section 6.2.2 plus the web-crawl conventions: scheme and host
lowercased, a trailing dot and the default port (80 for http, 443 for https) dropped, non-ASCII
host names in IDNA (punycode) form, an empty path made ``/``, dot segments removed,
percent-encoding normalized (hex digits uppercased, unreserved characters decoded, other unsafe
characters encoded), the fragment dropped, and tracking parameters (:data:`TRACKING_PARAMS`,
``utm_*``) removed from the query, the remaining parameters kept in their order.

The registered domain is the label just below the public suffix, from the Public Suffix List
snapshot that the installed ``tldextract`` ships (ICANN section; private suffixes such as
``github.io`` are not suffixes here). It is never downloaded at run time: the extractor is built
with ``suffix_list_urls=()`` and no cache directory.
"""

from __future__ import annotations

import posixpath
import re
import threading
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import pyarrow as pa

DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}
#: Query parameters removed by ``url_normalize`` (plus every ``utm_*``).
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid", "mc_eid",
    "_ga", "_gl", "igshid", "ref_src", "spm", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id",
    "oly_enc_id", "vero_id", "wickedid", "twclid", "ttclid", "srsltid",
})
_UNRESERVED = "-._~"
_PCT_RE = re.compile(r"%([0-9A-Fa-f]{2})")
_lock = threading.Lock()
_extractor = None


def _tld():
    global _extractor
    with _lock:
        if _extractor is None:
            try:
                import tldextract
            except ImportError as e:  # pragma: no cover - a declared dependency
                raise ImportError("url_registered_domain needs tldextract: "
                                  "pip install tldextract") from e
            _extractor = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None,
                                               include_psl_private_domains=False)
        return _extractor


def _pct(s: str, safe: str) -> str:
    """Percent-encoding normalized: unreserved decoded, hex uppercased, unsafe encoded."""
    def fix(m: re.Match) -> str:
        ch = chr(int(m.group(1), 16))
        if ch.isascii() and (ch.isalnum() or ch in _UNRESERVED):
            return ch
        return "%" + m.group(1).upper()
    s = _PCT_RE.sub(fix, s)
    return quote(s, safe=safe + "%")


def _host(host: str) -> str:
    host = host.rstrip(".").lower()
    if host and not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    return host


@lru_cache(maxsize=65536)
def normalize(url: str) -> str | None:
    """The normalized form of one URL (see the module docstring); None when it has no host."""
    url = url.strip()
    if "://" not in url[:12]:
        url = "http://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = _host(unquote(parts.hostname or ""))
    if not host:
        return None
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None and DEFAULT_PORTS.get(scheme) != port:
        netloc += f":{port}"
    if parts.username:
        userinfo = parts.username + (f":{parts.password}" if parts.password else "")
        netloc = f"{userinfo}@{netloc}"
    path = _pct(parts.path, "/:@!$&'()*+,;=") or "/"
    if "." in path:
        trailing = path.endswith("/") or path.endswith("/.") or path.endswith("/..")
        path = posixpath.normpath(path)
        path = "/" + path.lstrip("/") if path != "." else "/"
        if trailing and not path.endswith("/"):
            path += "/"
    query = []
    for pair in parts.query.split("&") if parts.query else ():
        if not pair:
            continue
        key = unquote(pair.split("=", 1)[0]).lower()
        if key in TRACKING_PARAMS or key.startswith("utm_"):
            continue
        query.append(_pct(pair, "=:@!$'()*+,;/?"))
    return urlunsplit((scheme, netloc, path, "&".join(query), ""))


def host_of(url: str) -> str | None:
    """The lowercased host of a URL (with or without scheme), IDNA form; None without one."""
    url = url.strip()
    if "://" not in url[:12]:
        url = "http://" + url
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return _host(unquote(host)) if host else None


def registered_domain(url: str) -> str | None:
    """The domain registered under a public suffix (``news.bbc.co.uk`` -> ``bbc.co.uk``)."""
    host = host_of(url)
    if not host:
        return None
    r = _tld()(host)
    if not r.suffix or not r.domain:
        return None
    return f"{r.domain}.{r.suffix}"


def _map(url: pa.Array, fn) -> pa.Array:
    return pa.array([None if u is None else fn(u) for u in url.to_pylist()], pa.string())


#: URLs whose normalized form the batch path computes with Arrow compute (after ``http://`` is
#: put in front of those without ``://`` in their first 12 characters, as :func:`normalize`
#: does): an ASCII scheme, a host of characters that neither percent-encoding nor IDNA touch,
#: an optional decimal port, a path of characters ``quote`` leaves alone (no ``%``), no query,
#: and any fragment. Every other URL goes through :func:`normalize` itself.
_PLAIN_RE = (r"(?s)^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<host>[A-Za-z0-9._~!$&'()*+,;=-]+)"
             r"(?::(?P<port>[0-9]{0,5}))?(?P<path>/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?(?:#.*)?$")
_DOT_SEGMENT_RE = r"(^|/)\.\.?(/|$)"


def _normalize_batch(url: pa.Array) -> pa.Array:
    """:func:`normalize` of each URL (NULL stays NULL), plain URLs (:data:`_PLAIN_RE`) computed
    column-wise: scheme and host ASCII-lowercased, trailing dots of the host dropped, a port
    other than the scheme's default kept as its integer, the path as written (``/`` when
    empty), or, when it holds a dot, with empty segments removed as ``posixpath.normpath``
    does; paths with ``.`` or ``..`` segments, empty hosts and ports past 65535 go through
    :func:`normalize`."""
    import numpy as np
    import pyarrow.compute as pc

    if isinstance(url, pa.ChunkedArray):
        url = url.combine_chunks() if url.num_chunks else pa.array([], pa.string())
    url = url.cast(pa.string())
    n = len(url)
    if n == 0:
        return pa.array([], pa.string())
    has_scheme = pc.match_substring(pc.utf8_slice_codeunits(url, 0, 12), "://")
    full = pc.if_else(has_scheme, url, pc.binary_join_element_wise("http://", url, ""))
    parts = pc.extract_regex(full, _PLAIN_RE)
    matched = pc.fill_null(pc.is_valid(parts), False)
    parts = pc.if_else(matched, parts, pa.scalar({"scheme": "h", "host": "h", "port": "",
                                                  "path": ""}, parts.type))
    scheme = pc.ascii_lower(pc.struct_field(parts, "scheme"))
    host = pc.ascii_lower(pc.utf8_rtrim(pc.struct_field(parts, "host"), "."))
    port_text = pc.struct_field(parts, "port")
    has_port = pc.not_equal(port_text, "")
    port = pc.cast(pc.if_else(has_port, port_text, "0"), pa.int64())
    names = pa.array(list(DEFAULT_PORTS), pa.string())
    default = pc.take(pa.array(list(DEFAULT_PORTS.values()), pa.int64()),
                      pc.index_in(scheme, names))
    keep_port = pc.and_(has_port, pc.fill_null(pc.not_equal(default, port), True))
    netloc = pc.if_else(keep_port, pc.binary_join_element_wise(
        host, ":", pc.cast(port, pa.string()), ""), host)
    path = pc.struct_field(parts, "path")
    dotted = pc.match_substring(path, ".")
    squeezed = path
    while pc.any(pc.match_substring(squeezed, "//")).as_py():
        squeezed = pc.replace_substring(squeezed, "//", "/")
    squeezed = pc.utf8_trim(squeezed, "/")
    tail = pc.if_else(pc.ends_with(path, "/"), "/", "")
    path = pc.if_else(dotted, pc.binary_join_element_wise("/", squeezed, tail, ""),
                      pc.if_else(pc.equal(path, ""), "/", path))
    fast = pc.binary_join_element_wise(scheme, "://", netloc, path, "")
    slow = pc.or_(pc.invert(matched), pc.or_(pc.equal(host, ""), pc.greater(port, 65535)))
    slow = pc.or_(slow, pc.and_(dotted, pc.match_substring_regex(
        pc.struct_field(parts, "path"), _DOT_SEGMENT_RE)))
    slow = pc.and_(pc.fill_null(slow, True), pc.is_valid(url))
    rows = np.flatnonzero(np.asarray(slow))
    fast = pc.if_else(pc.is_valid(url), fast, pa.nulls(n, pa.string()))
    if len(rows) == 0:
        return fast
    values = pa.array([normalize(u) for u in url.take(pa.array(rows)).to_pylist()], pa.string())
    return pc.replace_with_mask(fast, slow, values)


def url_normalize(url: pa.Array) -> pa.Array:
    """The URL normalized for deduplication: case, default ports, fragment, percent-encoding, tracking.

    Scheme and host lowercased, default port dropped, IDNA host, empty path ``/``, dot segments
    removed, percent-encoding normalized, fragment dropped, ``utm_*``, ``fbclid``, ``gclid`` and
    other tracking parameters removed (RFC 3986 section 6.2.2). NULL when the URL has no host.
    Plain URLs are computed column-wise, the others one by one, with the same result.
    """
    return _normalize_batch(url)


def url_domain(url: pa.Array) -> pa.Array:
    """The URL's host: lowercased, without port, user or trailing dot, in IDNA form.

    A URL without a scheme is read as ``http://``. NULL when the URL has no host.
    """
    return _map(url, host_of)


def url_registered_domain(url: pa.Array) -> pa.Array:
    """The registered domain (one label under the public suffix): ``a.b.co.uk`` -> ``b.co.uk``.

    Public suffixes come from the Public Suffix List snapshot shipped with tldextract (ICANN
    section), never downloaded. NULL for IP addresses, single-label hosts and bare suffixes.
    """
    return _map(url, registered_domain)

"""Build the tests' WARC: the bundled sample's documents as web pages, with realistic boilerplate.

Each page wraps one sample document (paragraphs in ``<article>``) in navigation, a cookie banner,
a sidebar, a footer and scripts. Some pages are encoded in Latin-1, Shift-JIS or GBK (declared in
the HTTP header, in a ``<meta>`` tag, or not at all), some records are truncated or corrupt,
some payloads are not HTML (PNG, PDF, JSON), some pages repeat others (exact copies under other
URLs with tracking parameters, near copies), and some are on a blocked domain. Written with
warcio, gzip per record. Deterministic.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

SAMPLE = Path(__file__).resolve().parents[2] / "extension" / "data" / "sample.parquet"

NAV = ["Home", "Products", "Pricing", "Community", "Careers", "Contact", "Sitemap"]
COOKIE = ("We value your privacy. This website stores cookies on your computer to improve your "
          "browsing experience and for analytics. Accept all cookies or manage preferences.")
SIDEBAR = ["Trending now: celebrity gossip roundup", "Sponsored: refinance your mortgage today",
           "Newsletter signup: weekly deals delivered"]
FOOTER = ("Copyright 2024 Examplecorp Holdings. All rights reserved. Privacy policy. Terms of "
          "service. Accessibility statement. Follow us on Facebook, Twitter and Instagram.")
SCRIPT = ("window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}"
          " gtag('js', new Date()); gtag('config', 'UA-000000-1');")


@dataclass
class Page:
    url: str
    title: str
    body: str  # the document's text (paragraphs joined by blank lines)
    lang: str
    charset: str = "utf-8"
    declare: str = "header"  # 'header', 'meta' or 'none'
    kind: str = "html"  # 'html', 'png', 'pdf', 'json'


@dataclass
class Corpus:
    pages: list[Page] = field(default_factory=list)
    truncated_urls: list[str] = field(default_factory=list)
    corrupt_urls: list[str] = field(default_factory=list)


def boilerplate_text() -> str:
    """Every word of the boilerplate (navigation, banner, sidebar, footer, script)."""
    return " ".join([*NAV, COOKIE, *SIDEBAR, FOOTER, SCRIPT])


def paragraphs(text: str) -> list[str]:
    """The document's paragraphs: blank-line separated, inner lines joined, blanks dropped."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        p = " ".join(block.split())
        if p:
            out.append(p)
    return out


def render(page: Page) -> str:
    """The page's HTML: boilerplate around an ``<article>`` holding the document."""
    meta = f'<meta charset="{page.charset}">' if page.declare == "meta" else ""
    nav = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in NAV)
    side = "".join(f'<li><a href="/promo/{i}">{html.escape(s)}</a></li>'
                   for i, s in enumerate(SIDEBAR))
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs(page.body))
    return (
        f'<!DOCTYPE html>\n<html lang="{page.lang}"><head>{meta}'
        f"<title>{html.escape(page.title)}</title>"
        f"<script>{SCRIPT}</script><style>body{{font-family:sans-serif}}</style></head>\n"
        f'<body><div id="cookie-banner" class="cookie-consent"><p>{COOKIE}</p>'
        f'<button>Accept</button></div>\n'
        f'<header><nav class="menu"><ul>{nav}</ul></nav></header>\n'
        f'<main><article><h1>{html.escape(page.title)}</h1>\n{body}\n</article></main>\n'
        f'<aside class="sidebar"><ul>{side}</ul></aside>\n'
        f'<footer><p>{FOOTER}</p></footer><script src="/analytics.js"></script>'
        "</body></html>")


def _payload(page: Page) -> tuple[bytes, str]:
    if page.kind == "png":
        return b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "image/png"
    if page.kind == "pdf":
        return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n", \
            "application/pdf"
    if page.kind == "json":
        return b'{"items": [1, 2, 3]}', "application/json"
    ct = "text/html"
    if page.declare == "header":
        ct += f"; charset={page.charset}"
    return render(page).encode(page.charset), ct


def sample_pages(n: int = 48) -> list[Page]:
    """``n`` pages from the sample: English, German and French man/info/pydoc documents, and
    Japanese and Chinese man pages (for Shift-JIS and GBK)."""
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT id, text, source, lang FROM read_parquet(?) "
            "WHERE text IS NOT NULL AND length(text) BETWEEN 1200 AND 5000 "
            "AND lang IN ('en', 'de', 'fr', 'ja', 'zh_CN') ORDER BY hash(id), id",
            [str(SAMPLE)]).fetchall()
    finally:
        con.close()
    want = {"en": n - 16, "de": 4, "fr": 4, "ja": 4, "zh_CN": 4}
    pages = []
    for doc_id, text, source, lang in rows:
        if want.get(lang, 0) <= 0:
            continue
        if lang != "en":
            codec = {"ja": "shift_jis", "zh_CN": "gbk"}.get(lang, "latin-1")
            try:
                text.encode(codec)
            except UnicodeEncodeError:
                continue
        if len(paragraphs(text)) < 2:
            continue
        want[lang] -= 1
        title = f"{source} {doc_id}"
        slug = re.sub(r"[^A-Za-z0-9._-]+", "/", str(doc_id))
        pages.append(Page(f"https://docs{len(pages) % 5}.example.org/{source}/{slug}",
                          title, text, lang.split("_")[0]))
    return pages


def build(path: Path, n: int = 48, damaged: bool = True) -> Corpus:
    """Write the tests' WARC to ``path`` and return what it holds (``damaged=False``: without
    the corrupt and the truncated record, for benchmarks)."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    pages = sample_pages(n)
    # charsets: Latin-1 declared in the header, in a meta tag and not at all; Shift-JIS, GBK
    latin = [p for p in pages if p.lang in ("de", "fr")]
    for p, declare in zip(latin, ["header", "meta", "none", "none"]):
        p.charset, p.declare = "latin-1", declare
    for p in pages:
        if p.lang == "ja":
            p.charset = "shift_jis"
        elif p.lang == "zh":
            p.charset = "gbk"
    for lang in ("ja", "zh"):
        same = [p for p in pages if p.lang == lang]
        for p, declare in zip(same, ["header", "meta", "none", "none"]):
            p.declare = declare
    # copies are made of pages that pass the recipe's quality stage, so dedup is what drops them
    import pyarrow as pa

    from corpusql.udfs.quality import repetition

    english = [p for p in pages if p.lang == "en"]
    reasons = repetition.gopher_repetition_reasons(pa.array([p.body for p in english]))
    clean = [p for p, r in zip(english, reasons.to_pylist()) if not r]
    a, b, c, d = clean[:4]
    extra = [
        Page(a.url + "?utm_source=news&fbclid=abc#top", a.title, a.body, a.lang),  # tracking params
        Page("https://mirror.example.net/copy/1", b.title, b.body, b.lang),  # exact copy
        Page("https://mirror.example.net/near/2", c.title,
             c.body + "\n\nMirrored with permission.", c.lang),  # near copy
        Page("https://ads.spam.example.com/x", "Cheap offers", d.body + "\n\nBuy now.", d.lang),
        Page("https://cdn.example.org/logo.png", "", "", "en", kind="png"),
        Page("https://cdn.example.org/manual.pdf", "", "", "en", kind="pdf"),
        Page("https://api.example.org/items", "", "", "en", kind="json"),
    ]
    corpus = Corpus(pages=pages + extra)
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests"}))
    members: list[tuple[str, bytes]] = []
    for p in corpus.pages:
        start = buf.tell()
        data, ct = _payload(p)
        headers = StatusAndHeaders("200 OK", [("Content-Type", ct)], protocol="HTTP/1.1")
        rec = writer.create_warc_record(p.url, "response", payload=io.BytesIO(data), length=len(data),
                                        http_headers=headers)
        writer.write_record(rec)
        members.append((p.url, buf.getvalue()[start:]))
    head = buf.getvalue()[: len(buf.getvalue()) - sum(len(m) for _, m in members)]
    out = [head]
    for i, (url, member) in enumerate(members):
        if damaged and i == 5:  # a corrupt member in the middle: the rest of the file must still be read
            corpus.corrupt_urls.append(url)
            member = member[:40] + b"\x00garbage\x00" * 8 + member[120:]
        out.append(member)
    if not damaged:
        path.write_bytes(b"".join(out))
        return corpus
    # a last record cut off in its block (a crawl that died mid-write)
    trunc = Page("https://docs0.example.org/truncated", "Truncated", pages[4].body, "en")
    tbuf = io.BytesIO()
    twriter = WARCWriter(tbuf, gzip=False)
    data, ct = _payload(trunc)
    twriter.write_record(twriter.create_warc_record(
        trunc.url, "response", payload=io.BytesIO(data), length=len(data),
        http_headers=StatusAndHeaders("200 OK", [("Content-Type", ct)], protocol="HTTP/1.1")))
    import gzip

    raw = tbuf.getvalue()
    out.append(gzip.compress(raw[: len(raw) // 2]))
    corpus.truncated_urls.append(trunc.url)
    path.write_bytes(b"".join(out))
    return corpus

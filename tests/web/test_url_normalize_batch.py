"""url_normalize on a batch equals :func:`corpusql.udfs.url.normalize` (the per-URL definition)
row for row, on every shape tried: the vectorized fast path must not change one output."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from corpusql.udfs.url import normalize, url_normalize

ODD = [
    "https://Example.COM/a/b.html?x=1&utm_source=y#f", "HTTP://EXAMPLE.com:80/", "http://a:080/x",
    "https://a.b:443", "https://a.b:444/", "ftp://h:21/f.txt", "ws://h:0080", "wss://h:443/x",
    "http://h:65535/", "http://h:65536/", "http://h:99999999/", "http://h:/p", "http://h:1:2/",
    "http://...", "http://a.../x", "http://.a/", "http:///path", "http://", "", " ", "#x",
    "debian-doc://man/zh_TW/man1/groups.1.gz", "debian-doc://games/fortunes/ru/2001.09#129",
    "git+nltk/nltk_data:packages/corpora/webtext.zip!/webtext/firefox.txt#1130",
    "git+DeekshithaKalluri/SentimentAnalysis:data/imdb.csv#12", "example.com", "example.com/a/./b",
    "http://x/a/../b", "http://x/a/.", "http://x/a/..", "http://x/./", "http://x//a//b.c//",
    "http://x//a//b//", "http://x/a.b/", "http://x/.hidden/file", "http://x/a/b..c/d.",
    "http://user:pw@host/p", "http://user@host:81/", "http://[::1]:8080/x", "http://[::1/",
    "http://h/p%7e%2F%41", "http://h/a b", "http://h/ä", "http://bücher.de/x", "http://h/p?q=1",
    "http://h/p?fbclid=1&a=2", "  http://lead.ing/space", "http://trail.ing/ \t", "http://t\tab/x",
    "http://h/x#frag\nwith newline", "a:b://c/d", "ab#://x", "mailto:someone@example.com",
    "https://EXAMPLE.com./A/B", "HtTpS://a-b.c_d~e/!$&'()*+,;=:@/x.y", "http://h/~user/.x/",
    "file:///etc/passwd", "h:80/x", "verylongscheme://host/path", "s3://bucket/key.parquet",
    "http://h:0/", "http://h:00443/", "https://h:00443/", "//h/p", "http://h/p/", "http://h",
    "http://a.b.c.d.e.f.g.h.example.org/deep/ly/nested/pa.th/", "x" * 300, "http://h/" + "a/" * 200,
]


def check(values):
    arr = pa.array(values, pa.string())
    got = url_normalize(arr).to_pylist()
    want = [None if v is None else normalize(v) for v in values]
    bad = [(v, g, w) for v, g, w in zip(values, got, want) if g != w]
    assert not bad, f"{len(bad)} rows differ, first: {bad[:3]!r}"


def test_odd_urls_and_nulls():
    check(ODD + [None] + ODD[::-1] + [None])
    check([None])
    check([])


@pytest.mark.parametrize("seed", range(3))
def test_random_urls(seed):
    rng = random.Random(seed)
    schemes = ["http", "https", "HTTP", "ftp", "ws", "debian-doc", "git+x", "s3", "", "a1.b-c"]
    hosts = ["example.com", "EXAMPLE.org", "a", "a.b.", "..", "x_y.z", "h-1", "bücher.de",
             "1.2.3.4", "[::1]", "u:p@h", "h:8080", "h:80", "h:443", "h:", "git+nltk"]
    seg = list("abcXYZ019._~-!$&'()*+,;=:@%é ") + ["..", ".", "", "%41", "%2f", "index.html"]
    values = []
    for _ in range(4000):
        s = rng.choice(schemes)
        path = "/".join("".join(rng.choice(seg) for _ in range(rng.randint(0, 4)))
                        for _ in range(rng.randint(0, 5)))
        url = (s + "://" if s else "") + rng.choice(hosts) + ("/" if rng.random() < 0.8 else "") \
            + path
        if rng.random() < 0.2:
            url += "?" + rng.choice(["a=1", "utm_x=2&b", "fbclid=3", "q=%7e&&r"])
        if rng.random() < 0.3:
            url += "#" + rng.choice(["f", "", "x y", "1130"])
        values.append(url)
    values += [None] * 20
    rng.shuffle(values)
    check(values)


def test_chunked_input():
    arr = pa.chunked_array([pa.array(ODD[:10]), pa.array(ODD[10:] + [None])])
    assert url_normalize(arr).to_pylist() == [None if v is None else normalize(v)
                                              for v in ODD + [None]]

"""url_normalize, url_domain, url_registered_domain (offline suffix list) and url_blocked."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("url, want", [
    ("HTTP://WWW.Example.COM:80/a/../b/%7euser?utm_source=x&q=1#frag",
     "http://www.example.com/b/~user?q=1"),
    ("https://example.com:443", "https://example.com/"),
    ("https://example.com:8443/x", "https://example.com:8443/x"),
    ("example.com./path/./to/", "http://example.com/path/to/"),
    ("https://example.com/a%2fb?fbclid=1&gclid=2&id=%3d", "https://example.com/a%2Fb?id=%3D"),
    ("https://bücher.example/straße", "https://xn--bcher-kva.example/stra%C3%9Fe"),
    ("https:///nohost", None),
])
def test_url_normalize(con, url, want):
    assert con.execute("SELECT url_normalize(?)", [url]).fetchall() == [(want,)]


def test_domain_and_registered_domain_offline(con, no_network):
    rows = con.execute(
        "SELECT url_domain(u), url_registered_domain(u) FROM (VALUES "
        "('http://forums.news.bbc.co.uk/x'), ('https://Foo.Example.COM.:443/'), "
        "('http://127.0.0.1/'), ('http://localhost/'), ('https://user.github.io/p'), "
        "(NULL)) AS t(u)").fetchall()
    assert rows == [("forums.news.bbc.co.uk", "bbc.co.uk"), ("foo.example.com", "example.com"),
                    ("127.0.0.1", None), ("localhost", None), ("user.github.io", "github.io"),
                    (None, None)]


def test_url_blocked_matches_domains_and_subdomains_from_a_table(con):
    con.execute("CREATE TABLE blocklist AS SELECT * FROM (VALUES ('spam.example.com'), "
                "('bad.org')) AS t(domain)")
    rows = con.execute(
        "SELECT u, url_blocked(u, 'blocklist') FROM (VALUES ('https://ads.spam.example.com/x'),"
        " ('http://bad.org'), ('http://notbad.org/'), ('https://example.com/')) AS t(u) "
        "ORDER BY u").fetchall()
    assert rows == [("http://bad.org", True), ("http://notbad.org/", False),
                    ("https://ads.spam.example.com/x", True), ("https://example.com/", False)]

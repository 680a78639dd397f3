"""A ``domain`` takedown looks up registered domains only for hosts that can have it.

The registered domain of a host is a suffix of its labels, so only a host equal to the domain
or ending in ``.domain`` can match; the Public Suffix lookup (per-row Python) runs for those
alone (hosts that hold the domain's text, or any non-ASCII or ``%``). A takedown scans every
catalog dataset batch by batch, and looking up every distinct host of each batch made a domain
takedown of a 100k-document dataset spend 6 of its 13 s there (profile in bench/RESULTS.md).
"""

from __future__ import annotations

import pyarrow as pa

from corpusql.takedown_match import index_mask, normalize, recorded
from corpusql.udfs import url as url_kernels

KEYS = ["https://optout-site.org/a", "https://www.optout-site.org/b", "https://notoptout-site.org/c",
        "https://optout-site.org.evil.com/d", "https://news.optout-site.org:8080/e", None,
        "https://site1.example.com/f", "https://site2.example.com/g"]


def test_only_hosts_under_the_domain_are_looked_up(spy):
    seen = spy(url_kernels, "registered_domain")
    index = pa.table({"url_key": pa.array(KEYS, pa.string())})
    m = recorded(normalize({"domain": "optout-site.org"}))
    assert index_mask(index, m).tolist() == [True, True, False, False, True, False, False,
                                              False]
    # the hosts that hold the domain's text are looked up (once each), no other
    assert seen and all("optout-site.org" in u for u in seen)
    assert len(seen) == len(set(seen)) + 1  # + normalize() checking the match itself


def test_the_answer_is_the_public_suffix_lists():
    """Hosts under the domain still go through the list: each key matches exactly when its
    registered domain is the domain (IDNA, ports, user info, upper case included)."""
    keys = KEYS + ["https://user@WWW.Optout-Site.org/h", "https://xn--bcher-kva.optout-site.org/",
                   "https://optout-site.org.", "http://192.0.2.1/optout-site.org"]
    index = pa.table({"url_key": pa.array(keys, pa.string())})
    m = recorded(normalize({"domain": "optout-site.org"}))
    want = [d == "optout-site.org" for d in
            url_kernels.url_registered_domain(pa.array(keys, pa.string())).to_pylist()]
    assert index_mask(index, m).tolist() == want and sum(want) >= 4

"""text_normalize, word_count, char_count and text_fingerprint, called from SQL."""

from __future__ import annotations

import hashlib

import pytest


@pytest.mark.parametrize("text, kwargs, expected", [
    ("Hello,  WORLD!", "", "hello world"),
    ("Héllo — Wörld…", "", "héllo wörld"),
    ("ＦＵＬＬ　ｗｉｄｔｈ ２０２４", "", "full width 2024"),
    ("ＦＵＬＬ", ", nfkc := false", "ｆｕｌｌ"),
    ("Keep Case!", ", lower := false", "Keep Case"),
    ("a-b_c.d", ", strip_punct := false", "a-b_c.d"),
    ("call 555-1234 now", ", digits := true", "call 000 0000 now"),
    ("  spaced\n\tout  ", ", collapse_ws := false", "  spaced\n\tout  "),
    ("日本語、テキスト。", "", "日本語 テキスト"),
    ("", "", ""),
    (None, "", None),
])
def test_text_normalize(con, text, kwargs, expected):
    assert con.execute(f"SELECT text_normalize(?{kwargs})", [text]).fetchone()[0] == expected


@pytest.mark.parametrize("text, words, chars", [
    ("hello world", 2, 11),
    ("Hello, world! It's 2024.", 5, 24),
    ("日本語の文章", 6, 6),
    ("mixed 日本 text", 4, 13),
    ("emoji 🎉 here", 2, 12),
    ("e\u0301t\u00e9", 1, 4),
    ("", 0, 0),
    ("   ", 0, 3),
    (None, 0, 0),
])
def test_word_and_char_count(con, text, words, chars):
    assert con.execute("SELECT word_count(?), char_count(?)", [text, text]).fetchone() == (
        words, chars)


def test_fingerprint_is_documented_blake2b_of_normalized_utf8(con):
    text = "Ünïcode, TEXT!"
    got, raw = con.execute(
        "SELECT text_fingerprint(?), text_fingerprint(?, normalize := false)", [text, text]
    ).fetchone()
    assert got == hashlib.blake2b("ünïcode text".encode(), digest_size=16).hexdigest()
    assert raw == hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
    assert len(got) == 32


def test_fingerprint_groups_formatting_variants(con):
    fps = con.execute(
        "SELECT DISTINCT text_fingerprint(t) FROM (VALUES ('A  b, c'), ('a b c'), ('A B C!')) v(t)"
    ).fetchall()
    assert len(fps) == 1

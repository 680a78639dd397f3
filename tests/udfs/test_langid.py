"""lang_id: the documented n-gram hash, NULL/empty rules, the required languages, the shipped
model file, and an out-of-domain check on the UDHR translations of the shared corpus."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from corpusql.udfs import langid

SENTENCES = {
    "en": "The committee will meet again next week to discuss the budget and the new schedule.",
    "de": "Die Kinder spielen heute Nachmittag im Garten, weil das Wetter endlich schön ist.",
    "ru": "Сегодня вечером мы пойдём в театр, а завтра поедем к бабушке в деревню.",
    "es": "Mañana por la mañana vamos a visitar a nuestros amigos que viven cerca del río.",
    "it": "Questa sera andiamo a cena in un piccolo ristorante vicino alla stazione.",
    "cs": "Zítra ráno pojedeme vlakem do Brna, kde bydlí moje sestra se svými dětmi.",
    "zh": "今天下午我们在图书馆学习了很长时间，然后一起去吃晚饭。",
    "ja": "昨日は友達と一緒に公園へ行って、桜の花を見ながらお弁当を食べました。",
    "pt": "Amanhã vamos viajar para o interior para visitar os nossos avós na fazenda.",
    "fr": "Nous avons passé nos vacances au bord de la mer avec toute la famille cette année.",
    "bg": "Утре сутринта ще отидем на пазара, за да купим плодове и зеленчуци за седмицата.",
    "pl": "Jutro rano pojedziemy pociągiem do Krakowa, żeby odwiedzić naszych przyjaciół.",
    "uk": "Завтра вранці ми поїдемо до Києва, щоб відвідати наших друзів і родичів.",
    "nl": "Morgen gaan we met de fiets naar het strand, want het wordt eindelijk mooi weer.",
    "eo": "Hodiaŭ ni iros al la urbo por aĉeti novajn librojn kaj manĝi en bona restoracio.",
}


def _reference_bucket(gram: str, bits: int) -> int:
    """The documented hash, one n-gram at a time in plain Python."""
    h = 2166136261
    for ch in gram:
        h = ((h ^ ord(ch)) * 16777619) % 2**32
    h ^= h >> 15
    h = (h * 0x2C1B3C6D) % 2**32
    h ^= h >> 12
    return h % (1 << bits)


def test_vectorized_hash_matches_the_documented_definition():
    texts = ["ab c", "", "日本語", "é😀"]
    cleaned = langid.clean(pa.array(texts))
    buckets, starts = langid.ngram_buckets(cleaned, 16)
    padded = "\0".join(" " + s + " " for s in cleaned) + "\0"
    for n, arr in zip(langid.NGRAM_SIZES, buckets):
        for i in range(len(padded)):
            gram = padded[i:i + n]
            if len(gram) == n and "\0" not in gram:
                assert arr[i] == _reference_bucket(gram, 16), (n, i, gram)
            else:
                assert arr[i] == 1 << 16
    assert list(starts) == [0, 7, 10, 16]


def test_clean_lowercases_composes_and_collapses_non_letters():
    got = langid.clean(pa.array(["Hello, WORLD 42!", "cafe\u0301", "ＡＢＣ", None]))
    assert got == ["hello world ", "café", "abc", ""]


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_required_languages(lang):
    out = langid.lang_id(pa.array([SENTENCES[lang]])).to_pylist()[0]
    assert out["lang"] == lang
    assert 0.5 < out["score"] <= 1.0


def test_null_gives_null_and_no_letters_gives_und(con):
    rows = con.execute(
        "SELECT lang_id(t) FROM (VALUES (NULL), (''), ('  '), ('1234 !!'), ('hello there')) v(t)"
    ).fetchall()
    assert rows[0][0] is None
    assert [r[0] for r in rows[1:4]] == [{"lang": "und", "score": 0.0}] * 3
    assert rows[4][0]["lang"] == "en"


def test_only_the_first_max_chars_are_read():
    de = SENTENCES["de"] * (langid.MAX_CHARS // len(SENTENCES["de"]) + 1)
    out = langid.lang_id(pa.array([de + SENTENCES["en"] * 50])).to_pylist()[0]
    assert out["lang"] == "de"


def test_the_shipped_model_covers_the_required_languages():
    assert set(SENTENCES) <= set(langid.lang_id_languages())
    with np.load(langid.model_path()) as z:
        assert z["logp"].shape == (1 << int(z["bits"]), len(z["langs"]))


def test_udhr_translations_out_of_domain(shared_data):
    import duckdb

    codes = {"eng": "en", "deu": "de", "spa": "es", "ita": "it", "ces": "cs", "pol": "pl",
             "ukr": "uk", "por_PT": "pt", "cmn_hant": "zh"}
    con = duckdb.connect()
    try:
        rows = con.execute(
            "SELECT lang, text FROM read_parquet(?) WHERE lang IN (SELECT unnest(?))",
            [str(shared_data / "corpus-dev.parquet"),
             [f"udhr:{c}.txt" for c in codes]]).fetchall()
    finally:
        con.close()
    assert len(rows) == len(codes)
    gold = [codes[label[5:-4]] for label, _ in rows]
    got = [r["lang"] for r in langid.lang_id(pa.array([t for _, t in rows])).to_pylist()]
    assert got == gold

"""Recall of free-text redaction (mask kind 'redact') per kind of personal data, measured on the
labelled set tests/data/pii_recall.tsv; docs/access-control.md prints the same table."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pyarrow as pa

from corpusql.udfs import pii

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "pii_recall.tsv"
DOC = ROOT / "docs" / "access-control.md"
MARK = re.compile(r"\[\[(.*?)\]\]")


def measure() -> dict[str, tuple[int, int]]:
    """Per kind: (labelled values, values the redacted text no longer contains)."""
    rows = [line.rstrip("\n").split("\t", 1) for line in DATA.read_text(encoding="utf-8")
            .splitlines() if line.strip() and not line.startswith("#")]
    redacted = pii.pii_redact(pa.array([MARK.sub(r"\1", t) for _, t in rows])).to_pylist()
    total, hidden = Counter(), Counter()
    for (kind, text), out in zip(rows, redacted):
        for value in MARK.findall(text):
            total[kind] += 1
            hidden[kind] += value not in out
    return {k: (total[k], hidden[k]) for k in total}


def documented() -> dict[str, tuple[int, int]]:
    table = {}
    for m in re.finditer(r"^\| `?([A-Z_0-9]+)`? +\| +(\d+) +\| +(\d+) +\| +\d+ ?% +\|",
                         DOC.read_text(encoding="utf-8"), re.M):
        table[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return table


def test_the_labelled_set_is_well_formed():
    for n, line in enumerate(DATA.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            kind, _, text = line.partition("\t")
            assert re.fullmatch(r"[A-Z_0-9]+", kind) and MARK.search(text), f"line {n}: {line}"
    assert len(measure()) >= 12


def test_recall_per_kind_is_the_documented_one():
    measured = measure()
    assert documented() == measured, (
        "update the recall table in docs/access-control.md to: "
        + "; ".join(f"{k} {t} {h} {round(100 * h / t)}%" for k, (t, h) in measured.items()))
    # the detector's own kinds are found; names, dates, addresses and passports are not
    assert all(measured[k][1] == measured[k][0] for k in
               ("EMAIL", "US_SSN", "PAYMENT_CARD", "IBAN", "CN_RESIDENT_ID"))
    assert measured["PERSON_NAME"][1] == 0 and measured["STREET_ADDRESS"][1] == 0


def test_digit_runs_count_only_after_a_word_that_names_them():
    texts = ["serial 1234567890", "version 4155550132", "ssn: 666123456", "id 123456789",
             "call 12345678901234", "Her number is 6505551234.", "phone: 4155550132",
             "SSN 123456789", "social security number 219099999"]
    assert pii.pii_redact(pa.array(texts)).to_pylist() == texts[:6] + [
        "phone: <PHONE_NUMBER>", "SSN <US_SSN>", "social security number <US_SSN>"]

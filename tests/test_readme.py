"""README.md stays true: the function reference matches the registry, the commands are there."""

from __future__ import annotations

from pathlib import Path

from corpusql import docs

README = Path(__file__).resolve().parent.parent / "README.md"
CI = Path(__file__).resolve().parent.parent / ".ci" / "run"


def test_function_reference_is_generated_from_the_registry():
    text = README.read_text(encoding="utf-8")
    assert docs.render_into(text) == text, "run: python -m corpusql.docs README.md"
    page = README.parent / "docs" / "functions.md"
    assert page.read_text(encoding="utf-8") == docs.functions_page(), (
        "run: python -m corpusql.docs README.md")


def test_every_function_has_its_full_documentation_page():
    from corpusql.introspect import function_rows

    page = (README.parent / "docs" / "functions.md").read_text(encoding="utf-8")
    flat = " ".join(page.split())
    for row in function_rows():
        assert f"## {row.name}\n" in page
        assert " ".join(row.doc.split(".")[0].split()) in flat


def test_docs_index_links_every_page():
    index = (README.parent / "docs" / "README.md").read_text(encoding="utf-8")
    for page in (README.parent / "docs").glob("*.md"):
        if page.name != "README.md":
            assert f"({page.name})" in index, page.name


def test_every_function_is_in_the_readme():
    from corpusql.introspect import function_rows

    text = README.read_text(encoding="utf-8")
    for row in function_rows():
        assert f"`{row.signature}`" in text


def test_ci_runs_the_readme_test_command_exactly():
    text = README.read_text(encoding="utf-8")
    test_cmd = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
    assert test_cmd in text
    assert test_cmd in CI.read_text(encoding="utf-8")
    assert "corpusql demo" in text
    # the extra tests (Spark, token-export readers): the README's command is what CI runs
    extra = next(line for line in text.splitlines() if line.startswith("bash .ci/java.sh"))
    assert extra in CI.read_text(encoding="utf-8")

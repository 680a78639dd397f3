"""``corpusql export-tokens`` after a recipe (--setup): the CLI is a thin skin over the API."""

from __future__ import annotations

import json

from corpusql.cli import main


def test_cli_runs_a_recipe_then_exports(tmp_path, capsys):
    recipe = tmp_path / "recipe.sql"
    recipe.write_text("CREATE TABLE docs AS SELECT i AS id, 'text number ' || i AS text "
                      "FROM range(40) r(i);\nCREATE TABLE mixed AS SELECT *, "
                      "token_count(text) AS n_tokens FROM docs;\n")
    out = tmp_path / "tok"
    code = main(["export-tokens", "SELECT id, text FROM mixed", str(out), "--setup", str(recipe),
                 "--format", "megatron", "--no-shuffle", "--order-by", "id"])
    assert code == 0
    said = capsys.readouterr().out
    assert "40 documents" in said and "megatron shards" in said
    m = json.loads((out / "_manifest.json").read_text())
    assert m["recipe"] == recipe.read_text() and m["shuffle_seed"] is None
    assert main(["export-tokens", "SELECT id, text FROM mixed", str(out),
                 "--setup", str(recipe)]) == 1
    assert "overwrite" in capsys.readouterr().err

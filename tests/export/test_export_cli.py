"""``corpusql export-tokens`` after a recipe (--setup): the CLI is a thin skin over the API."""

from __future__ import annotations

import json

from corpusql.cli import main

# -q everywhere: Progress binds sys.stderr when first imported, which is the first test's
# captured stream under pytest


def test_cli_runs_a_recipe_then_exports(tmp_path, capsys):
    recipe = tmp_path / "recipe.sql"
    recipe.write_text("CREATE TABLE docs AS SELECT i AS id, 'text number ' || i AS text "
                      "FROM range(40) r(i);\nCREATE TABLE mixed AS SELECT *, "
                      "token_count(text) AS n_tokens FROM docs;\n")
    out = tmp_path / "tok"
    code = main(["-q", "export-tokens", "SELECT id, text FROM mixed", str(out), "--setup", str(recipe),
                 "--format", "megatron", "--no-shuffle", "--order-by", "id"])
    assert code == 0
    said = capsys.readouterr().out
    assert "40 documents" in said and "megatron shards" in said
    m = json.loads((out / "_manifest.json").read_text())
    assert m["recipe"] == recipe.read_text() and m["shuffle_seed"] is None
    assert main(["-q", "export-tokens", "SELECT id, text FROM mixed", str(out),
                 "--setup", str(recipe)]) == 1
    assert "overwrite" in capsys.readouterr().err


def test_corpusql_verify_checks_a_token_export(tmp_path, capsys):
    out = tmp_path / "tok"
    assert main(["-q", "export-tokens", "SELECT i AS id, 'words ' || i AS text FROM range(30) r(i)",
                 str(out), "--shard-tokens", "40"]) == 0
    assert main(["-q", "verify", str(out)]) == 0
    assert "ok, 9 files match the manifest" in capsys.readouterr().out
    victim = out / "shard_00001.ds"
    data = bytearray(victim.read_bytes())
    data[0] ^= 0x01
    victim.write_bytes(bytes(data))
    assert main(["-q", "verify", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{victim}: sha256 differs from the manifest" in err
    assert "1 problems" in err

"""The dataset/secret commands, through argparse as the main CLI will call them."""

from __future__ import annotations

from catalog_helpers import write_jsonl

from corpusql.catalog.cli import _main


def test_dataset_commands_round_trip(db, tmp_path, capsys, monkeypatch):
    import duckdb

    import corpusql

    # Each command opens the database; skip binding every UDF (seconds each on a busy machine).
    monkeypatch.setattr(corpusql, "connect", lambda path: duckdb.connect(str(path)))
    write_jsonl(tmp_path / "d" / "a.jsonl", [{"x": 1}, {"x": 2}])
    (tmp_path / "d" / "b.jsonl").write_text('{"x": 3}\nbroken\n')
    assert _main(["dataset", "add", "--db", str(db), "docs", str(tmp_path / "d" / "*.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "docs\tready\tjsonl\t2 files" in out and "0 files + 1 lines quarantined" in out
    monkeypatch.setenv("CORPUSQL_DB", str(db))
    assert _main(["dataset", "list"]) == 0
    assert capsys.readouterr().out.startswith("docs\tready")
    write_jsonl(tmp_path / "d" / "c.jsonl", [{"x": 4}])
    assert _main(["dataset", "sync", "docs"]) == 0
    assert "1 new, 0 changed, 0 vanished" in capsys.readouterr().out
    assert _main(["dataset", "verify", "docs"]) == 0
    assert _main(["dataset", "prewarm", "docs"]) == 0
    assert _main(["dataset", "clone", "docs", "docs2"]) == 0
    assert _main(["dataset", "remove", "docs", "--drop-cache"]) == 0
    assert _main(["dataset", "status", "docs2"]) == 0
    capsys.readouterr()
    assert _main(["dataset", "status", "docs"]) == 1
    assert "did you mean 'docs2'" in capsys.readouterr().err


def test_secret_add_from_env_keeps_values_out_of_output(db, capsys, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEEXAMPLE12")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very/secret+value")
    assert _main(["secret", "add", "--db", str(db), "lake", "--from-env",
                  "--endpoint-url", "http://127.0.0.1:9"]) == 0
    out = capsys.readouterr().out
    assert "fields: endpoint_url, key, secret" in out and "very/secret" not in out
    assert b"very/secret+value" not in db.read_bytes()


def test_wired_into_the_main_cli(db, tmp_path, capsys):
    from corpusql.cli import main

    write_jsonl(tmp_path / "w" / "a.jsonl", [{"x": 1}])
    assert main(["dataset", "add", "--db", str(db), "w", str(tmp_path / "w" / "*.jsonl")]) == 0
    assert main(["dataset", "status", "--db", str(db), "w"]) == 0
    assert "w\tready\tjsonl\t1 files" in capsys.readouterr().out


def test_role_commands(db, tmp_path, capsys, monkeypatch):
    import duckdb

    import corpusql

    monkeypatch.setattr(corpusql, "connect", lambda path: duckdb.connect(str(path)))
    monkeypatch.setenv("CORPUSQL_DB", str(db))
    write_jsonl(tmp_path / "r" / "a.jsonl", [{"text": "x"}])
    assert _main(["dataset", "add", "web", str(tmp_path / "r" / "*.jsonl")]) == 0
    assert _main(["role", "add", "team_a"]) == 0
    assert _main(["role", "grant", "team_a", "web"]) == 0
    assert _main(["role", "mask", "team_a", "web", "text"]) == 0
    assert _main(["role", "allow-path", "team_a", str(tmp_path)]) == 0
    capsys.readouterr()
    assert _main(["role", "list"]) == 0
    assert capsys.readouterr().out == "team_a\tgrants: web\tmasked: web.text\n"
    assert _main(["role", "grant", "team_b", "web"]) == 1
    assert "role 'team_b' is not in the catalog" in capsys.readouterr().err
    assert _main(["role", "mask", "team_a", "web", "txt"]) == 1
    assert "did you mean 'text'" in capsys.readouterr().err
    assert _main(["role", "unmask", "team_a", "web", "text"]) == 0
    assert _main(["role", "revoke", "team_a", "web"]) == 0
    capsys.readouterr()
    assert _main(["role", "list"]) == 0
    assert capsys.readouterr().out == "team_a\tgrants: -\tmasked: -\n"

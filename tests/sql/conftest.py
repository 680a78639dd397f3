"""The SQL library's tests live here: pytest files per macro and SQL logic test files
(``*.test``, run by sqllogic.py), collected by the hook below."""

from __future__ import annotations


def pytest_collect_file(parent, file_path):
    """Collect ``tests/sql/**/*.test`` SQL logic test files."""
    if file_path.suffix == ".test":
        from sqllogic import SqlLogicFile

        return SqlLogicFile.from_parent(parent, path=file_path)
    return None

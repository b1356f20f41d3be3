"""SQLite discipline and forward-only migrations."""

from __future__ import annotations

from pathlib import Path

import pytest

from editorial_assistant.db import check_schema, connect, latest_version, migrate
from editorial_assistant.errors import NotReady, SchemaTooNew


def test_every_connection_uses_the_projects_pragmas(tmp_path: Path) -> None:
    conn = connect(tmp_path / "app.db")
    pragmas = {
        name: conn.execute(f"PRAGMA {name}").fetchone()[0]
        for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
    }
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": 10_000,
        "foreign_keys": 1,
        "synchronous": 1,
    }


def test_an_old_database_is_brought_forward_one_migration_at_a_time(tmp_path: Path) -> None:
    from editorial_assistant.db import migrations

    path = tmp_path / "app.db"
    first = migrations()[0]
    conn = connect(path)
    for statement in first[2].split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {first[0]}")
    assert migrate(path) == [name for _v, name, _sql in migrations()[1:]]
    indexes = {row[1] for row in connect(path).execute("PRAGMA index_list(llm_calls)")}
    assert "llm_calls_created_at" in indexes


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    assert migrate(path)
    assert migrate(path) == []
    check_schema(connect(path))


def test_it_refuses_a_database_newer_than_the_code(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    migrate(path)
    connect(path).execute(f"PRAGMA user_version = {latest_version() + 1}")
    with pytest.raises(SchemaTooNew, match="a newer version wrote it"):
        check_schema(connect(path))
    with pytest.raises(SchemaTooNew):
        migrate(path)


def test_it_asks_for_a_migration_on_an_old_database(tmp_path: Path) -> None:
    with pytest.raises(NotReady, match="schema is at version 0") as caught:
        check_schema(connect(tmp_path / "empty.db"))
    assert "editorial-assistant migrate" in caught.value.hint

"""The migration that gives every account its canonical address key (``users.email_key``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from store import StoreError, open_database
from store.db import _migrations, _split_sql, schema_version
from store.email_key import email_key


def file_before_the_key(path: Path, emails: list[str]) -> None:
    """A database as the versions before the key left it, with an account per address."""
    with sqlite3.connect(path) as conn:
        applied = 0
        for version, _name, sql in _migrations():
            if version >= 4:
                break
            for statement in _split_sql(sql):
                conn.execute(statement)
            applied = version
        conn.execute(f"PRAGMA user_version = {applied}")
        conn.execute("INSERT INTO subscriptions (name, created_at) VALUES ('S', 0)")
        conn.executemany(
            "INSERT INTO users (subscription_id, email, display_name, password_hash, created_at)"
            " VALUES (1, ?, 'U', '!', 0)",
            [(email,) for email in emails],
        )


def test_the_key_folds_case_in_every_script_and_composes() -> None:
    assert email_key("KÄ@Example.COM") == email_key("ka\u0308@example.com") == "kä@example.com"
    assert email_key("STRASSE@x.de") == email_key("straße@X.DE")
    assert email_key("a@x.com") != email_key("a@x.com\x00b")


async def test_existing_accounts_get_their_key(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    file_before_the_key(path, ["Ann@Example.com", "ÖZ@example.com"])
    db = await open_database(path)
    try:
        rows = await db.fetchall("SELECT email, email_key FROM users ORDER BY id")
        assert [tuple(row) for row in rows] == [
            ("Ann@Example.com", "ann@example.com"),
            ("ÖZ@example.com", "öz@example.com"),
        ]
        assert (await db.fetchone("PRAGMA user_version"))[0] == schema_version()
    finally:
        await db.close()


async def test_two_accounts_that_share_a_key_stop_the_migration_naming_both(tmp_path: Path) -> None:
    # COLLATE NOCASE let these in: it folds ASCII only.
    path = tmp_path / "old.db"
    file_before_the_key(
        path, ["ok@example.com", "KÄ@example.com", "x@example.com", "kä@example.com"]
    )
    with sqlite3.connect(path) as conn:
        before = list(conn.iterdump()), conn.execute("PRAGMA user_version").fetchone()[0]
    with pytest.raises(StoreError) as caught:
        await open_database(path)
    message = str(caught.value)
    assert "'KÄ@example.com' (id 2)" in message and "'kä@example.com' (id 4)" in message
    assert "\n" not in message
    with sqlite3.connect(path) as conn:
        assert (list(conn.iterdump()), conn.execute("PRAGMA user_version").fetchone()[0]) == before

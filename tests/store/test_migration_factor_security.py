"""Migration 0007 on a database that has every earlier migration: live codes survive (bound to no
sign-in attempt, so they are accepted nowhere), and users an earlier MFA process failed become
required to use MFA."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from store import open_database
from store.db import _migrations, _split_sql


def _database_before_0007(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        for version, _name, sql in _migrations():
            if version >= 7:
                break
            for statement in _split_sql(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
        conn.execute(
            "INSERT INTO subscriptions (id, name, mfa_enabled, created_at) VALUES (1, 'On', 1, 0)"
        )
        conn.execute(
            "INSERT INTO subscriptions (id, name, mfa_enabled, created_at) VALUES (2, 'Off', 0, 0)"
        )
        for user_id, subscription, email in (
            (1, 1, "ok@example.com"),
            (2, 1, "ops@plant7"),
            (3, 2, "dock@warehouse"),
        ):
            conn.execute(
                "INSERT INTO users (id, subscription_id, email, display_name, password_hash,"
                " mfa_required, created_at) VALUES (?, ?, ?, 'N', 'x', ?, 0)",
                (user_id, subscription, email, int(user_id == 1)),
            )
        for job_id, subscription, user_id in ((1, 1, 2), (2, 2, 3)):
            conn.execute(
                "INSERT INTO mfa_jobs (id, subscription_id, kind, status, started_at)"
                " VALUES (?, ?, 'enable', 'complete', 0)",
                (job_id, subscription),
            )
            conn.execute(
                "INSERT INTO mfa_job_failures (job_id, user_id, reason) VALUES (?, ?, 'no domain')",
                (job_id, user_id),
            )
        conn.execute(
            "INSERT INTO mfa_methods (id, user_id, kind, destination, secret, created_at)"
            " VALUES (1, 1, 'sms', '+14155550100', x'00', 0)"
        )
        conn.execute(
            "INSERT INTO otp_challenges (user_id, method_id, counter, issued_at, expires_at,"
            " destination, purpose) VALUES (1, 1, 3, 10, 610, '+14155550100', 'sign_in')"
        )


async def test_0007_keeps_codes_and_requires_the_users_a_process_failed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _database_before_0007(path)
    database = await open_database(path)
    try:
        row = await database.fetchone(
            "SELECT counter, purpose, attempt_id FROM otp_challenges WHERE user_id = 1"
        )
        assert row is not None and tuple(row) == (3, "sign_in", None)
        required = await database.fetchall("SELECT id, mfa_required FROM users ORDER BY id")
        # MFA is on for subscription 1: its failed user is required now; subscription 2 is off.
        assert [tuple(r) for r in required] == [(1, 1), (2, 1), (3, 0)]
        grants = await database.fetchone("SELECT count(*) FROM step_up_grants")
        assert grants is not None and grants[0] == 0
    finally:
        await database.close()

"""The authenticator app's rows: the migration's column and the compare-and-set of the last step."""

from __future__ import annotations

from pathlib import Path

from store import open_database
from store import totp as totp_store


async def test_the_migration_adds_the_pending_secret(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "mfa.db")
    try:
        columns = {row["name"] for row in await db.fetchall("PRAGMA table_info(mfa_methods)")}
        assert {"last_step", "pending_secret"} <= columns
        assert (await db.fetchone("PRAGMA user_version"))[0] >= 6
    finally:
        await db.close()


async def test_a_step_is_claimed_once_and_never_an_earlier_one(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "mfa.db")
    try:
        async with db.write() as conn:
            await conn.execute("INSERT INTO subscriptions (name, created_at) VALUES ('S', 0)")
            await conn.execute(
                "INSERT INTO users (subscription_id, email, display_name, password_hash,"
                " created_at) VALUES (1, 'a@example.com', 'A', 'x', 0)"
            )
            method_id = await totp_store.insert_totp_method(conn, 1, b"token", 0)
            assert await totp_store.claim_step(conn, method_id, 100, 1.0)
            assert not await totp_store.claim_step(conn, method_id, 100, 2.0)
            assert not await totp_store.claim_step(conn, method_id, 99, 2.0)
            assert await totp_store.claim_step(conn, method_id, 101, 3.0)
            method = await totp_store.totp_method_in(conn, 1)
        assert method is not None
        assert (method.last_step, method.last_used_at, method.verified) == (101, 3.0, False)
    finally:
        await db.close()

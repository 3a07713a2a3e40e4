"""Queries for step-up grants: which sign-in attempt may change a user's methods, until when.

The rule (who gets a grant, for how long) is ``mfa.reauth``; this module only reads and writes rows.
"""

from __future__ import annotations

import aiosqlite

from store.db import Reader, fetchone


async def record_grant(
    conn: aiosqlite.Connection,
    attempt_id: str,
    user_id: int,
    granted_at: float,
    expires_at: float,
    how: str,
) -> None:
    """Grant (or renew) ``attempt_id`` the right to change ``user_id``'s methods until ``expires_at``.

    Expired grants are dropped on the way, so the table stays small.
    """
    await conn.execute("DELETE FROM step_up_grants WHERE expires_at <= ?", (granted_at,))
    await conn.execute(
        "INSERT INTO step_up_grants (attempt_id, user_id, granted_at, expires_at, how)"
        " VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (attempt_id) DO UPDATE SET user_id = excluded.user_id,"
        "  granted_at = excluded.granted_at, expires_at = excluded.expires_at, how = excluded.how",
        (attempt_id, user_id, granted_at, expires_at, how),
    )


async def grant_expiry(reader: Reader, attempt_id: str, user_id: int) -> float | None:
    """When ``attempt_id``'s grant for ``user_id`` ends (None: it has none)."""
    row = await fetchone(
        reader,
        "SELECT expires_at FROM step_up_grants WHERE attempt_id = ? AND user_id = ?",
        (attempt_id, user_id),
    )
    return float(row[0]) if row is not None else None


async def end_grant(conn: aiosqlite.Connection, attempt_id: str) -> None:
    """The attempt's session ended: its grant goes with it."""
    await conn.execute("DELETE FROM step_up_grants WHERE attempt_id = ?", (attempt_id,))


async def end_grants_of(conn: aiosqlite.Connection, user_id: int) -> None:
    """Every grant of the user ends (the password or the methods were reset by an admin)."""
    await conn.execute("DELETE FROM step_up_grants WHERE user_id = ?", (user_id,))

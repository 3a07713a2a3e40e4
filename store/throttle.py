"""Queries for the per-account failure count and wait (``users.failed_attempts``, ``users.locked_until``).

The rule (how many failures are free, how long each further one makes the account wait) lives in
``mfa.throttle``; this module only reads and writes the two columns. Every function takes the
connection of the caller's ``Database.write()`` transaction, so "read the count, judge, record" is one
step across processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True, slots=True)
class FailureState:
    """An account's consecutive failures and the earliest time of its next attempt."""

    failures: int
    locked_until: float | None


async def failure_state(conn: aiosqlite.Connection, user_id: int) -> FailureState | None:
    """The account's count and wait as they are now; None when there is no such account."""
    async with conn.execute(
        "SELECT failed_attempts, locked_until FROM users WHERE id = ?", (user_id,)
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    return FailureState(int(row[0]), float(row[1]) if row[1] is not None else None)


async def count_failure(conn: aiosqlite.Connection, user_id: int) -> int | None:
    """Add one consecutive failure; returns the count now (None when there is no such account)."""
    async with conn.execute(
        "UPDATE users SET failed_attempts = failed_attempts + 1 WHERE id = ?"
        " RETURNING failed_attempts",
        (user_id,),
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row is not None else None


async def set_locked_until(
    conn: aiosqlite.Connection, user_id: int, locked_until: float | None
) -> None:
    await conn.execute("UPDATE users SET locked_until = ? WHERE id = ?", (locked_until, user_id))


async def clear_failures(conn: aiosqlite.Connection, user_id: int) -> None:
    """The count starts over and any wait ends."""
    await conn.execute(
        "UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE id = ?", (user_id,)
    )

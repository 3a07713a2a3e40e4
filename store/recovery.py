"""Queries for recovery codes (``recovery_codes``): replacing a user's set, using one, counting.

Only keyed hashes are stored (the rule and the key are ``mfa.recovery``'s). Using a code is one
compare-and-set ``UPDATE ... WHERE used_at IS NULL`` inside the caller's ``BEGIN IMMEDIATE``
transaction, so of two processes entering the same code exactly one wins.
"""

from __future__ import annotations

import aiosqlite

from store.db import Reader, fetchone


async def replace_codes(conn: aiosqlite.Connection, user_id: int, hashes: list[str]) -> None:
    """The user's set becomes ``hashes``; every earlier code stops working."""
    await conn.execute("DELETE FROM recovery_codes WHERE user_id = ?", (user_id,))
    await conn.executemany(
        "INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)",
        [(user_id, value) for value in hashes],
    )


async def has_any(reader: Reader, user_id: int) -> bool:
    """True when the user has a set (used or not)."""
    row = await fetchone(
        reader, "SELECT EXISTS (SELECT 1 FROM recovery_codes WHERE user_id = ?)", (user_id,)
    )
    return bool(row and row[0])


async def unused_count(reader: Reader, user_id: int) -> int:
    row = await fetchone(
        reader,
        "SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL",
        (user_id,),
    )
    return int(row[0]) if row else 0


async def use_code(conn: aiosqlite.Connection, user_id: int, code_hash: str, now: float) -> bool:
    """Mark the unused code with ``code_hash`` used; False when there is none (wrong or used)."""
    cursor = await conn.execute(
        "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL",
        (now, user_id, code_hash),
    )
    return cursor.rowcount == 1

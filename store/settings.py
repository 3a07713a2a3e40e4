"""The settings stored data was judged with (``applied_settings``), to notice when they change."""

from __future__ import annotations

import aiosqlite

from store.db import Reader, fetchone


async def applied_setting(reader: Reader, name: str) -> str | None:
    """The value ``name`` had when the data depending on it was last judged (None: never)."""
    row = await fetchone(reader, "SELECT value FROM applied_settings WHERE name = ?", (name,))
    return None if row is None else str(row[0])


async def record_applied_setting(
    conn: aiosqlite.Connection, name: str, value: str, now: float
) -> None:
    await conn.execute(
        "INSERT INTO applied_settings (name, value, applied_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET value = excluded.value, applied_at = excluded.applied_at",
        (name, value, now),
    )

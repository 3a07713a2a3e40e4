"""The audit log and the delivery outbox: append-only records."""

from __future__ import annotations

import aiosqlite

from store.db import Database
from store.models import AuditEvent, OutboxMessage


async def record(
    conn: aiosqlite.Connection,
    at: float,
    event: str,
    *,
    actor_id: int | None = None,
    subject_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Append one audit event inside the caller's transaction."""
    await conn.execute(
        "INSERT INTO audit_events (at, actor_id, subject_id, event, detail) VALUES (?, ?, ?, ?, ?)",
        (at, actor_id, subject_id, event, detail),
    )


async def events(db: Database, subject_id: int | None = None, limit: int = 200) -> list[AuditEvent]:
    if subject_id is None:
        rows = await db.fetchall("SELECT * FROM audit_events ORDER BY id DESC LIMIT ?", (limit,))
    else:
        rows = await db.fetchall(
            "SELECT * FROM audit_events WHERE subject_id = ? ORDER BY id DESC LIMIT ?",
            (subject_id, limit),
        )
    return [AuditEvent.from_row(row) for row in rows]


async def log_delivery(
    conn: aiosqlite.Connection,
    at: float,
    channel: str,
    recipient: str,
    subject: str,
    body: str | None,
    error: str | None,
) -> int:
    cursor = await conn.execute(
        "INSERT INTO outbox (channel, recipient, subject, body, sent_at, error)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (channel, recipient, subject, body, at, error),
    )
    return int(cursor.lastrowid or 0)


async def outbox(db: Database, limit: int = 100, after_id: int = 0) -> list[OutboxMessage]:
    """Delivered messages, newest first."""
    rows = await db.fetchall(
        "SELECT * FROM outbox WHERE id > ? ORDER BY id DESC LIMIT ?", (after_id, limit)
    )
    return [OutboxMessage.from_row(row) for row in rows]

"""The audit log and the delivery outbox: append-only records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which events to read; every field left at None matches everything."""

    user_id: int | None = None
    """Events where this user is the subject or the actor."""
    kind: str | None = None
    """The part of the event before the dot (``signin``, ``mfa``, ``user``, ``admin``, ...)."""
    event: str | None = None
    """One exact event (``signin.failed``)."""
    since: float | None = None
    """Only events at or after this time."""
    until: float | None = None
    """Only events before this time."""


@dataclass(frozen=True, slots=True)
class AuditRow:
    """An audit event with the addresses of its actor and subject (None: no such user now)."""

    id: int
    at: float
    event: str
    detail: str | None
    actor_id: int | None
    subject_id: int | None
    actor_email: str | None
    subject_email: str | None


async def events_page(
    db: Database,
    where: AuditFilter,
    *,
    before: tuple[float, int] | None = None,
    limit: int = 200,
) -> list[AuditRow]:
    """Up to ``limit`` events matching ``where``, newest first, older than ``before`` (at, id).

    Keyset paging on (at, id): each page is one range scan of an index on time (migration 0005:
    by time, by kind, by event, by subject, by actor), never an ``OFFSET``.
    """
    clauses: list[str] = []
    params: list[Any] = []
    if where.user_id is not None:
        clauses.append("(e.subject_id = ? OR e.actor_id = ?)")
        params += [where.user_id, where.user_id]
    for clause, value in (
        ("e.kind = ?", where.kind),
        ("e.event = ?", where.event),
        ("e.at >= ?", where.since),
        ("e.at < ?", where.until),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if before is not None:
        clauses.append("(e.at, e.id) < (?, ?)")
        params += [before[0], before[1]]
    condition = " AND ".join(clauses) or "1"
    rows = await db.fetchall(
        "SELECT e.id, e.at, e.event, e.detail, e.actor_id, e.subject_id,"
        " a.email AS actor_email, s.email AS subject_email"
        " FROM audit_events e"
        " LEFT JOIN users a ON a.id = e.actor_id"
        " LEFT JOIN users s ON s.id = e.subject_id"
        f" WHERE {condition} ORDER BY e.at DESC, e.id DESC LIMIT ?",
        (*params, limit),
    )
    return [
        AuditRow(
            id=int(row["id"]),
            at=float(row["at"]),
            event=row["event"],
            detail=row["detail"],
            actor_id=row["actor_id"],
            subject_id=row["subject_id"],
            actor_email=row["actor_email"],
            subject_email=row["subject_email"],
        )
        for row in rows
    ]


async def kinds(db: Database) -> list[str]:
    """The kinds of event present (a skip over the kind index: one probe per kind)."""
    found: list[str] = []
    last = ""
    while True:
        row = await db.fetchone(
            "SELECT kind FROM audit_events WHERE kind > ? ORDER BY kind LIMIT 1", (last,)
        )
        if row is None or row[0] is None:
            return found
        last = row[0]
        found.append(last)


async def any_before(db: Database, cutoff: float) -> bool:
    row = await db.fetchone("SELECT EXISTS (SELECT 1 FROM audit_events WHERE at < ?)", (cutoff,))
    return bool(row and row[0])


async def prune_before(conn: aiosqlite.Connection, cutoff: float, batch: int) -> int:
    """Delete up to ``batch`` of the oldest events before ``cutoff``; returns how many went."""
    cursor = await conn.execute(
        "DELETE FROM audit_events WHERE id IN"
        " (SELECT id FROM audit_events WHERE at < ? ORDER BY at LIMIT ?)",
        (cutoff, batch),
    )
    return cursor.rowcount


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

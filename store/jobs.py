"""Queries for the MFA process: the ``mfa_jobs`` row of each run and its ``mfa_job_items``.

A job has one item per user it covers, worked through in batches: :func:`pending_batch` reads
what the domain needs to decide a batch, and :func:`record_decisions` records the verdicts, each a
handful of statements inside the caller's ``BEGIN IMMEDIATE`` transaction, so the items, the
users' ``mfa_required`` flags and the job's counters always move together: a crash loses a whole
batch or none of it, and never counts a user twice. Which users succeed, and why the others fail,
``mfa.mfa_process`` decides.

Functions that take ``conn`` run inside the caller's write transaction; functions that take a
``Database`` are plain reads.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from typing import Any

import aiosqlite

from store.db import Database, Reader, fetchone

RUNNING = "running"
COMPLETE = "complete"


@dataclass(frozen=True, slots=True)
class JobRow:
    """One run of the MFA process over some users of a subscription."""

    id: int
    subscription_id: int
    kind: str
    """``enable`` (every user of the subscription) or ``retry`` (the failed users of the last job)."""
    status: str
    total: int
    succeeded: int
    failed: int
    started_by: int | None
    started_at: float
    finished_at: float | None
    lease_owner: str | None
    """The process working on the job; another process may take over once the lease expires."""
    lease_expires_at: float | None

    @property
    def processed(self) -> int:
        return self.succeeded + self.failed

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JobRow:
        return cls(**{field.name: row[field.name] for field in fields(cls)})


@dataclass(frozen=True, slots=True)
class PendingUser:
    """What the MFA process decides a pending item on: the facts stored with its user."""

    user_id: int
    status: str
    email_deliverable: bool
    email_problem: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict on one item: succeeded when ``reason`` is None, failed for ``reason`` otherwise."""

    user_id: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class FailedItem:
    """A user the job could not enable, with the reason recorded for it."""

    user_id: int
    email: str
    display_name: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch did: how many items it decided and how many of them succeeded."""

    processed: int
    succeeded: int

    @property
    def failed(self) -> int:
        return self.processed - self.succeeded


async def job_by_id(reader: Reader, job_id: int) -> JobRow | None:
    row = await fetchone(reader, "SELECT * FROM mfa_jobs WHERE id = ?", (job_id,))
    return JobRow.from_row(row) if row else None


async def running_job(reader: Reader, subscription_id: int) -> JobRow | None:
    """The subscription's running job (at most one: a partial unique index sees to it)."""
    row = await fetchone(
        reader,
        "SELECT * FROM mfa_jobs WHERE subscription_id = ? AND status = 'running'",
        (subscription_id,),
    )
    return JobRow.from_row(row) if row else None


async def latest_job(
    reader: Reader, subscription_id: int, *, kind: str | None = None, up_to_id: int | None = None
) -> JobRow | None:
    """The subscription's newest job (of ``kind``, and not newer than ``up_to_id``, when given)."""
    sql = "SELECT * FROM mfa_jobs WHERE subscription_id = ?"
    params: list[Any] = [subscription_id]
    if kind is not None:
        sql += " AND kind = ?"
        params.append(kind)
    if up_to_id is not None:
        sql += " AND id <= ?"
        params.append(up_to_id)
    row = await fetchone(reader, sql + " ORDER BY id DESC LIMIT 1", tuple(params))
    return JobRow.from_row(row) if row else None


async def insert_job(
    conn: aiosqlite.Connection,
    subscription_id: int,
    kind: str,
    started_by: int | None,
    now: float,
) -> int:
    """Create a running job without items or lease. Fails while another job of the subscription runs."""
    cursor = await conn.execute(
        "INSERT INTO mfa_jobs (subscription_id, kind, status, started_by, started_at)"
        " VALUES (?, ?, 'running', ?, ?)",
        (subscription_id, kind, started_by, now),
    )
    return int(cursor.lastrowid or 0)


async def add_items_for_subscription(
    conn: aiosqlite.Connection, job_id: int, subscription_id: int
) -> int:
    """One pending item for every user of the subscription, in one statement; sets the job's total."""
    cursor = await conn.execute(
        "INSERT INTO mfa_job_items (job_id, user_id)"
        " SELECT ?, id FROM users WHERE subscription_id = ? ORDER BY id",
        (job_id, subscription_id),
    )
    return await _set_total(conn, job_id, cursor.rowcount)


async def add_items_for_failed(
    conn: aiosqlite.Connection, job_id: int, previous_job_id: int
) -> int:
    """One pending item for every user that failed in ``previous_job_id``; sets the job's total."""
    cursor = await conn.execute(
        "INSERT INTO mfa_job_items (job_id, user_id)"
        " SELECT ?, user_id FROM mfa_job_items WHERE job_id = ? AND status = 'failed'"
        " ORDER BY user_id",
        (job_id, previous_job_id),
    )
    return await _set_total(conn, job_id, cursor.rowcount)


async def _set_total(conn: aiosqlite.Connection, job_id: int, total: int) -> int:
    await conn.execute("UPDATE mfa_jobs SET total = ? WHERE id = ?", (total, job_id))
    return total


async def take_lease(
    conn: aiosqlite.Connection, job_id: int, owner: str, expires_at: float
) -> bool:
    """Make ``owner`` the job's worker until ``expires_at``. The caller has decided it may."""
    cursor = await conn.execute(
        "UPDATE mfa_jobs SET lease_owner = ?, lease_expires_at = ?"
        " WHERE id = ? AND status = 'running'",
        (owner, expires_at, job_id),
    )
    return cursor.rowcount == 1


async def renew_lease(
    conn: aiosqlite.Connection, job_id: int, owner: str, expires_at: float
) -> bool:
    """Extend the lease when ``owner`` still holds it; False when another process took over."""
    cursor = await conn.execute(
        "UPDATE mfa_jobs SET lease_expires_at = ?"
        " WHERE id = ? AND status = 'running' AND lease_owner = ?",
        (expires_at, job_id, owner),
    )
    return cursor.rowcount == 1


async def pending_batch(
    conn: aiosqlite.Connection, job_id: int, batch_size: int
) -> list[PendingUser]:
    """The job's next ``batch_size`` pending items in user order, with their users' stored facts."""
    async with conn.execute(
        "SELECT users.id, users.status, users.email_deliverable, users.email_problem"
        " FROM mfa_job_items JOIN users ON users.id = mfa_job_items.user_id"
        " WHERE mfa_job_items.job_id = ? AND mfa_job_items.status = 'pending'"
        " ORDER BY mfa_job_items.user_id LIMIT ?",
        (job_id, batch_size),
    ) as cursor:
        rows = await cursor.fetchall()
    return [PendingUser(row[0], row[1], bool(row[2]), row[3]) for row in rows]


async def record_decisions(
    conn: aiosqlite.Connection, job_id: int, decisions: list[Decision]
) -> BatchResult:
    """Record the verdicts on pending items, in the caller's transaction.

    Each item becomes ``succeeded`` or ``failed`` (with its reason); the users that succeeded are
    marked as required to set up MFA at the next sign-in. Nothing else about a user changes.
    """
    succeeded = [(decision.user_id,) for decision in decisions if decision.reason is None]
    await conn.executemany(
        "UPDATE users SET mfa_required = 1 WHERE id = ? AND mfa_required = 0", succeeded
    )
    cursor = await conn.executemany(
        "UPDATE mfa_job_items SET"
        " status = CASE WHEN ?1 IS NULL THEN 'succeeded' ELSE 'failed' END,"
        " reason = ?1, attempts = attempts + 1"
        " WHERE job_id = ?2 AND user_id = ?3 AND status = 'pending'",
        [(decision.reason, job_id, decision.user_id) for decision in decisions],
    )
    if cursor.rowcount != len(decisions):
        raise sqlite3.IntegrityError(
            f"MFA job {job_id}: a batch decided {cursor.rowcount} items, expected {len(decisions)}"
        )
    return BatchResult(len(decisions), len(succeeded))


async def has_pending(conn: aiosqlite.Connection, job_id: int) -> bool:
    async with conn.execute(
        "SELECT EXISTS (SELECT 1 FROM mfa_job_items WHERE job_id = ? AND status = 'pending')",
        (job_id,),
    ) as cursor:
        row = await cursor.fetchone()
    return bool(row and row[0])


async def record_batch(
    conn: aiosqlite.Connection,
    job_id: int,
    owner: str,
    result: BatchResult,
    lease_expires_at: float,
    finished_at: float | None,
) -> JobRow | None:
    """Add a batch to the job's counters, renew the lease, and complete the job when ``finished_at``.

    Returns the updated job, or None when ``owner`` no longer holds the lease (the caller must then
    roll the whole transaction back).
    """
    async with conn.execute(
        "UPDATE mfa_jobs SET succeeded = succeeded + :succeeded, failed = failed + :failed,"
        " status = CASE WHEN :finished_at IS NULL THEN 'running' ELSE 'complete' END,"
        " finished_at = :finished_at,"
        " lease_owner = CASE WHEN :finished_at IS NULL THEN lease_owner END,"
        " lease_expires_at = CASE WHEN :finished_at IS NULL THEN :lease_expires_at END"
        " WHERE id = :job_id AND status = 'running' AND lease_owner = :owner"
        " RETURNING *",
        {
            "succeeded": result.succeeded,
            "failed": result.failed,
            "finished_at": finished_at,
            "lease_expires_at": lease_expires_at,
            "job_id": job_id,
            "owner": owner,
        },
    ) as cursor:
        row = await cursor.fetchone()
    return JobRow.from_row(row) if row else None


async def failed_items(
    db: Database, job_id: int, *, limit: int = -1, offset: int = 0
) -> list[FailedItem]:
    """The job's failed users in address order (``limit`` -1: all of them)."""
    rows = await db.fetchall(
        "SELECT users.id, users.email, users.display_name, mfa_job_items.reason"
        " FROM mfa_job_items JOIN users ON users.id = mfa_job_items.user_id"
        " WHERE mfa_job_items.job_id = ? AND mfa_job_items.status = 'failed'"
        " ORDER BY users.email LIMIT ? OFFSET ?",
        (job_id, limit, offset),
    )
    return [FailedItem(row[0], row[1], row[2], row[3]) for row in rows]


async def set_subscription_mfa(
    conn: aiosqlite.Connection, subscription_id: int, enabled: bool
) -> None:
    await conn.execute(
        "UPDATE subscriptions SET mfa_enabled = ? WHERE id = ?", (int(enabled), subscription_id)
    )


async def clear_mfa_required(conn: aiosqlite.Connection, subscription_id: int) -> int:
    """Stop requiring MFA of every user of the subscription; their methods stay. Returns the count."""
    cursor = await conn.execute(
        "UPDATE users SET mfa_required = 0 WHERE subscription_id = ? AND mfa_required = 1",
        (subscription_id,),
    )
    return cursor.rowcount

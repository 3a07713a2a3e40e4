"""Queries for the MFA process: the ``mfa_jobs`` row of each run and the users it failed.

A job covers a set of users in user-id order and keeps a cursor in its row: every user up to
``cursor_user_id`` has been decided. An ``enable`` job covers the subscription's users up to
``last_user_id`` (its users when it began); a ``retry`` job covers the users that failed in the job
``retry_of``. Only failures get a row (``mfa_job_failures``, with the reason), so what a job
stores grows with the users it could not enable, not with the subscription.

:func:`decide_next` decides the next users after the cursor and records the verdicts, and
:func:`record_batch` moves the cursor and the counters, all inside the caller's ``BEGIN IMMEDIATE``
transaction, so the users' ``mfa_required`` flags, the failures, the cursor and the counters always
move together: a crash loses a whole transaction or none of it, and never counts a user twice.
``decide_next`` applies the success rule to a whole range of users in SQL (see its docstring): a
job over 100,000 users then costs about what the same updates in committed batches cost, where
reading each user into Python cost twice that. When to decide, how long a transaction goes on and
the words of the reasons are ``mfa.mfa_process``'s.

Functions that take ``conn`` run inside the caller's write transaction; functions that take a
``Database`` are plain reads.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from typing import Any, NamedTuple

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
    cursor_user_id: int
    """Every user of the job with an id up to this one has been decided."""
    last_user_id: int
    """An ``enable`` job covers the subscription's users with ids up to this one."""
    retry_of: int | None
    """A ``retry`` job covers the users that failed in this job."""

    @property
    def processed(self) -> int:
        return self.succeeded + self.failed

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> JobRow:
        return cls(**{field.name: row[field.name] for field in fields(cls)})


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
    *,
    retry_of: int | None = None,
) -> int:
    """Create a running job without users or lease. Fails while another job of the subscription runs."""
    cursor = await conn.execute(
        "INSERT INTO mfa_jobs (subscription_id, kind, status, started_by, started_at, retry_of)"
        " VALUES (?, ?, 'running', ?, ?, ?)",
        (subscription_id, kind, started_by, now, retry_of),
    )
    return int(cursor.lastrowid or 0)


async def cover_subscription(conn: aiosqlite.Connection, job_id: int, subscription_id: int) -> int:
    """Make the job cover every user the subscription has now; sets and returns its total."""
    async with conn.execute(
        "UPDATE mfa_jobs SET (total, last_user_id) ="
        " (SELECT count(*), coalesce(max(id), 0) FROM users WHERE subscription_id = ?)"
        " WHERE id = ? RETURNING total",
        (subscription_id, job_id),
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def cover_failures(conn: aiosqlite.Connection, job_id: int, previous_job_id: int) -> int:
    """Make the job cover the users that failed in ``previous_job_id``; sets and returns its total."""
    async with conn.execute(
        "UPDATE mfa_jobs SET retry_of = :previous, total ="
        " (SELECT count(*) FROM mfa_job_failures WHERE job_id = :previous)"
        " WHERE id = :job RETURNING total",
        {"previous": previous_job_id, "job": job_id},
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


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
) -> JobRow | None:
    """Extend the lease when ``owner`` still holds it and return the job as it is now; None when
    another process took over."""
    async with conn.execute(
        "UPDATE mfa_jobs SET lease_expires_at = ?"
        " WHERE id = ? AND status = 'running' AND lease_owner = ? RETURNING *",
        (expires_at, job_id, owner),
    ) as cursor:
        row = await cursor.fetchone()
    return JobRow.from_row(row) if row else None


class Reasons(NamedTuple):
    """The words recorded for a user the MFA process fails; the domain (``mfa.mfa_process``) owns them."""

    disabled: str
    """For a user whose account is not active."""
    undeliverable: str
    """For an address that can't receive codes and has no problem stored with it."""


_COVERED = {
    # The job's users with an id in (after, upto]: a retry's come from its source's failures.
    "enable": (
        "SELECT users.id, users.status, users.email_deliverable, users.email_problem FROM users"
        " WHERE users.subscription_id = :subscription AND users.id > :after AND users.id <= :upto"
    ),
    "retry": (
        "SELECT users.id, users.status, users.email_deliverable, users.email_problem"
        " FROM mfa_job_failures AS source JOIN users ON users.id = source.user_id"
        " WHERE source.job_id = :source AND source.user_id > :after AND source.user_id <= :upto"
    ),
}
_NEXT_IDS = {
    # The ids of the job's ``size``-th user after ``after`` and of the one after it, if any.
    "enable": (
        "SELECT id FROM users WHERE subscription_id = :subscription AND id > :after"
        " AND id <= :last ORDER BY id LIMIT 2 OFFSET :size - 1"
    ),
    "retry": (
        "SELECT user_id FROM mfa_job_failures WHERE job_id = :source AND user_id > :after"
        " ORDER BY user_id LIMIT 2 OFFSET :size - 1"
    ),
}
_LAST_ID = {
    "enable": ":last",
    "retry": "(SELECT coalesce(max(user_id), 0) FROM mfa_job_failures WHERE job_id = :source)",
}


async def decide_next(
    conn: aiosqlite.Connection, job: JobRow, after_user_id: int, size: int, reasons: Reasons
) -> tuple[int, BatchResult, bool]:
    """Decide the job's next ``size`` users after ``after_user_id`` (in id order), in the caller's
    transaction. Returns the new cursor (every user of the job up to it is decided), how many were
    decided and succeeded, and whether the job has no users left after them.

    The MFA process's rule, applied to the whole range at once (a row at a time through Python
    costs more than the database's own work): a user succeeds when the account is active and its
    address can receive codes, as stored when the address was written. Every user decided, the
    failed ones too, is marked as required to use MFA (a user whose address can't receive mail sets
    up another method at the next sign-in); each failed user gets a failure row with its reason:
    ``reasons.disabled``, else the problem stored with the address, else ``reasons.undeliverable``
    (a second row for the same user and job is refused by the primary key: nobody is decided
    twice). Nothing else about a user changes.
    """
    params = {
        "subscription": job.subscription_id,
        "source": job.retry_of,
        "last": job.last_user_id,
        "after": after_user_id,
        "size": size,
        "job": job.id,
        "disabled": reasons.disabled,
        "undeliverable": reasons.undeliverable,
    }
    async with conn.execute(_NEXT_IDS[job.kind], params) as cursor:
        ids = [row[0] for row in await cursor.fetchall()]
    done = len(ids) < 2  # nobody after the ``size``-th user
    if not ids:  # fewer than ``size`` left: the range runs to the job's last user
        row = await fetchone(conn, f"SELECT {_LAST_ID[job.kind]}", params)
        ids = [row[0] if row else 0]
    upto = max(int(ids[0]), after_user_id)
    params["upto"] = upto
    covered = _COVERED[job.kind]
    counted = await fetchone(conn, f"SELECT count(*) FROM ({covered})", params)
    decided = int(counted[0]) if counted else 0
    if decided == 0:
        return upto, BatchResult(0, 0), done
    await conn.execute(
        f"UPDATE users SET mfa_required = 1 WHERE id IN (SELECT id FROM ({covered}))"
        " AND mfa_required = 0",
        params,
    )
    failures = await conn.execute(
        "INSERT INTO mfa_job_failures (job_id, user_id, reason)"
        " SELECT :job, id, CASE WHEN status != 'active' THEN :disabled"
        " ELSE coalesce(email_problem, :undeliverable) END"
        f" FROM ({covered}) WHERE status != 'active' OR email_deliverable = 0",
        params,
    )
    return upto, BatchResult(decided, decided - failures.rowcount), done


async def record_batch(
    conn: aiosqlite.Connection,
    job_id: int,
    owner: str,
    result: BatchResult,
    cursor_user_id: int,
    lease_expires_at: float,
    finished_at: float | None,
) -> JobRow | None:
    """Move the cursor past the decided users, add them to the counters, renew the lease, and
    complete the job when ``finished_at``.

    Returns the updated job, or None when ``owner`` no longer holds the lease or the cursor is
    already past ``cursor_user_id`` (the caller must then roll the whole transaction back).
    """
    async with conn.execute(
        "UPDATE mfa_jobs SET succeeded = succeeded + :succeeded, failed = failed + :failed,"
        " cursor_user_id = max(cursor_user_id, :cursor),"
        " status = CASE WHEN :finished_at IS NULL THEN 'running' ELSE 'complete' END,"
        " finished_at = :finished_at,"
        " lease_owner = CASE WHEN :finished_at IS NULL THEN lease_owner END,"
        " lease_expires_at = CASE WHEN :finished_at IS NULL THEN :lease_expires_at END"
        " WHERE id = :job_id AND status = 'running' AND lease_owner = :owner"
        " AND (cursor_user_id < :cursor OR :processed = 0)"
        " RETURNING *",
        {
            "succeeded": result.succeeded,
            "failed": result.failed,
            "processed": result.processed,
            "cursor": cursor_user_id,
            "finished_at": finished_at,
            "lease_expires_at": lease_expires_at,
            "job_id": job_id,
            "owner": owner,
        },
    ) as cursor:
        row = await cursor.fetchone()
    return JobRow.from_row(row) if row else None


async def prune(conn: aiosqlite.Connection, subscription_id: int, finished_before: float) -> int:
    """Delete the subscription's complete jobs finished before ``finished_before``, with their
    failures, except the ones still read: the newest job (its failures are the failure table and
    what Retry covers), the newest ``enable`` job (the counts after a retry start from it) and a
    job a running retry covers. Returns how many jobs were deleted."""
    cursor = await conn.execute(
        "DELETE FROM mfa_jobs WHERE subscription_id = :subscription AND status = 'complete'"
        " AND finished_at < :before"
        " AND id != (SELECT max(id) FROM mfa_jobs WHERE subscription_id = :subscription)"
        " AND id != (SELECT coalesce(max(id), 0) FROM mfa_jobs"
        "            WHERE subscription_id = :subscription AND kind = 'enable')"
        " AND id NOT IN (SELECT retry_of FROM mfa_jobs"
        "                WHERE status = 'running' AND retry_of IS NOT NULL)",
        {"subscription": subscription_id, "before": finished_before},
    )
    return cursor.rowcount


async def failed_items(
    db: Database, job_id: int, *, limit: int = -1, offset: int = 0
) -> list[FailedItem]:
    """The job's failed users in address order (``limit`` -1: all of them)."""
    rows = await db.fetchall(
        "SELECT users.id, users.email, users.display_name, mfa_job_failures.reason"
        " FROM mfa_job_failures JOIN users ON users.id = mfa_job_failures.user_id"
        " WHERE mfa_job_failures.job_id = ?"
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

"""Test helpers for the MFA process: subscriptions of many users, inserted in bulk, and checks.

Users are inserted with ``executemany`` (no password hashing, no address checking per row): every
``undeliverable_every``-th user has an address that can't receive codes and every
``disabled_every``-th account is disabled, with the verdicts the address check would have stored.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from mfa.services import Services
from store import accounts as account_store

UNDELIVERABLE_PROBLEM = "email address is not valid (the part after the @-sign is not valid)"


def user_rows(
    subscription_id: int, count: int, undeliverable_every: int, disabled_every: int, prefix: str
) -> list[tuple[object, ...]]:
    rows = []
    for n in range(1, count + 1):
        undeliverable = undeliverable_every > 0 and n % undeliverable_every == 0
        disabled = disabled_every > 0 and n % disabled_every == 0
        rows.append(
            (
                subscription_id,
                f"{prefix}{n}@plant{n}" if undeliverable else f"{prefix}{n}@example.com",
                0 if undeliverable else 1,
                UNDELIVERABLE_PROBLEM if undeliverable else None,
                f"{prefix.title()} {n}",
                "disabled" if disabled else "active",
            )
        )
    return rows


INSERT_USER = (
    "INSERT INTO users (subscription_id, email, email_deliverable, email_problem, display_name,"
    " status, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, '!no-password-set', 0)"
)


async def add_subscription_with_users(
    services: Services,
    name: str,
    count: int,
    *,
    undeliverable_every: int = 0,
    disabled_every: int = 0,
) -> int:
    """A new subscription with ``count`` users; returns its id."""
    async with services.db.write() as conn:
        subscription_id = await account_store.create_subscription(conn, name, [], services.now())
        await conn.executemany(
            INSERT_USER,
            user_rows(subscription_id, count, undeliverable_every, disabled_every, name.lower()),
        )
    return subscription_id


def add_subscription_with_users_sync(
    path: Path, name: str, count: int, *, undeliverable_every: int = 0, disabled_every: int = 0
) -> int:
    """The same for a migrated database file, without an event loop (for process-level tests)."""
    with sqlite3.connect(path) as conn:
        cursor = conn.execute("INSERT INTO subscriptions (name, created_at) VALUES (?, 0)", (name,))
        subscription_id = int(cursor.lastrowid or 0)
        conn.executemany(
            INSERT_USER,
            user_rows(subscription_id, count, undeliverable_every, disabled_every, name.lower()),
        )
    return subscription_id


@dataclass(frozen=True)
class JobAudit:
    """What a finished ``enable`` job left in the database, for checking "exactly once".

    A job stores a cursor and a row per failed user: every user must be behind the cursor, counted
    once in the job's counters, flagged iff it could be enabled, and have a failure row iff not.
    """

    users: int
    failures: int
    distinct_failures: int
    failures_of_enableable: int
    not_enableable: int
    cursor_user_id: int
    last_user_id: int
    max_user_id: int
    job_succeeded: int
    job_failed: int
    required_users: int
    enableable_users: int
    required_but_not_enableable: int

    @property
    def items_failed(self) -> int:
        return self.failures

    @property
    def items_succeeded(self) -> int:
        return self.users - self.failures


ENABLEABLE = "status = 'active' AND email_deliverable = 1"


def audit_job(conn: sqlite3.Connection, subscription_id: int, job_id: int) -> JobAudit:
    def one(sql: str, *params: object) -> int:
        return int(conn.execute(sql, params).fetchone()[0])

    return JobAudit(
        users=one("SELECT count(*) FROM users WHERE subscription_id = ?", subscription_id),
        failures=one("SELECT count(*) FROM mfa_job_failures WHERE job_id = ?", job_id),
        distinct_failures=one(
            "SELECT count(DISTINCT user_id) FROM mfa_job_failures WHERE job_id = ?", job_id
        ),
        failures_of_enableable=one(
            "SELECT count(*) FROM mfa_job_failures JOIN users ON users.id = user_id"
            f" WHERE job_id = ? AND {ENABLEABLE}",
            job_id,
        ),
        not_enableable=one(
            f"SELECT count(*) FROM users WHERE subscription_id = ? AND NOT ({ENABLEABLE})",
            subscription_id,
        ),
        cursor_user_id=one("SELECT cursor_user_id FROM mfa_jobs WHERE id = ?", job_id),
        last_user_id=one("SELECT last_user_id FROM mfa_jobs WHERE id = ?", job_id),
        max_user_id=one("SELECT max(id) FROM users WHERE subscription_id = ?", subscription_id),
        job_succeeded=one("SELECT succeeded FROM mfa_jobs WHERE id = ?", job_id),
        job_failed=one("SELECT failed FROM mfa_jobs WHERE id = ?", job_id),
        required_users=one(
            "SELECT count(*) FROM users WHERE subscription_id = ? AND mfa_required = 1",
            subscription_id,
        ),
        enableable_users=one(
            f"SELECT count(*) FROM users WHERE subscription_id = ? AND {ENABLEABLE}",
            subscription_id,
        ),
        required_but_not_enableable=one(
            "SELECT count(*) FROM users WHERE subscription_id = ? AND mfa_required = 1"
            f" AND NOT ({ENABLEABLE})",
            subscription_id,
        ),
    )


def assert_processed_exactly_once(audit: JobAudit) -> None:
    """Every user decided once, counted once, flagged iff it could be enabled, a failure row iff
    it could not."""
    assert audit.cursor_user_id == audit.last_user_id == audit.max_user_id
    assert audit.failures == audit.distinct_failures == audit.not_enableable
    assert audit.failures_of_enableable == 0
    assert audit.job_failed == audit.failures
    assert audit.job_succeeded + audit.job_failed == audit.users
    assert audit.required_users == audit.enableable_users == audit.job_succeeded
    assert audit.required_but_not_enableable == 0

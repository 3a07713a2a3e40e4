"""What the MFA process stores: a cursor in the job row and a row per failed user, never a row per
user; old jobs pruned after ``database.keep_mfa_jobs_days``; transactions measured by time, not a
pause after every few hundred users; a database of the earlier schema migrated mid-job."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from mfa import mfa_process
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.services import Services, open_services
from store.db import _migrations, _split_sql
from tests.mfa.job_helpers import (
    INSERT_USER,
    add_subscription_with_users,
    add_subscription_with_users_sync,
    assert_processed_exactly_once,
    audit_job,
)

USERS = 3_000
UNDELIVERABLE_EVERY = 30  # 100 users fail


def _rows(db_path: Path, sql: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute(sql).fetchone()[0])


async def _run(services: Services, subscription_id: int) -> None:
    job, _ = await mfa_process.begin(services, subscription_id)
    await mfa_process.follow(services, job.job_id)
    await mfa_process.disable(services, subscription_id)


async def test_a_job_stores_only_its_failures_and_old_jobs_are_pruned(
    config: Config, clock: ManualClock, db_path: Path
) -> None:
    kept_for_a_day = config.replace("database", keep_mfa_jobs_days=1)
    services = await open_services(kept_for_a_day, clock=clock)
    try:
        subscription_id = await add_subscription_with_users(
            services, "Big", USERS, undeliverable_every=UNDELIVERABLE_EVERY
        )
        failing = USERS // UNDELIVERABLE_EVERY
        tables = {
            row[0]
            for row in await services.db.fetchall(
                "SELECT name FROM sqlite_master WHERE type='table'"
            )
        }
        assert not any(name.startswith("mfa_job_items") for name in tables)
        await _run(services, subscription_id)
        assert _rows(db_path, "SELECT count(*) FROM mfa_job_failures") == failing
        for _ in range(4):  # the same day: every job is kept
            await _run(services, subscription_id)
        assert _rows(db_path, "SELECT count(*) FROM mfa_job_failures") == 5 * failing
        clock.advance(2 * 86_400)
        await _run(services, subscription_id)  # begins by pruning the jobs older than a day
        # The newest of those five is kept as well (it was the newest when the sixth began).
        assert _rows(db_path, "SELECT count(*) FROM mfa_jobs") == 2
        assert _rows(db_path, "SELECT count(*) FROM mfa_job_failures") == 2 * failing
        latest = await mfa_process.latest_job(services, subscription_id)
        assert latest is not None
        failed = await mfa_process.failed_users(services, latest.job_id)
        assert len(failed) == failing
    finally:
        await services.close()


async def test_a_retry_keeps_the_job_it_retries_and_the_counts(
    config: Config, clock: ManualClock, db_path: Path
) -> None:
    services = await open_services(config.replace("database", keep_mfa_jobs_days=0), clock=clock)
    try:
        subscription_id = await add_subscription_with_users(
            services, "Big", 300, undeliverable_every=UNDELIVERABLE_EVERY
        )
        job, _ = await mfa_process.begin(services, subscription_id)
        await mfa_process.follow(services, job.job_id)
        async with services.db.write() as conn:  # two addresses fixed
            await conn.execute(
                "UPDATE users SET email_deliverable = 1, email_problem = NULL WHERE id IN"
                " (SELECT user_id FROM mfa_job_failures ORDER BY user_id LIMIT 2)"
            )
        clock.advance(86_400)
        retried = await mfa_process.retry(services, subscription_id)
        assert retried is not None
        final = await mfa_process.follow(services, retried[0].job_id)
        assert (final.total, final.succeeded, final.failed) == (10, 2, 8)
        assert await mfa_process.outcome(services, final.job_id) == mfa_process.Outcome(292, 8)
        clock.advance(86_400)
        again = await mfa_process.retry(services, subscription_id)
        assert again is not None
        last = await mfa_process.follow(services, again[0].job_id)
        assert (last.total, last.failed) == (8, 8)
        assert await mfa_process.outcome(services, last.job_id) == mfa_process.Outcome(292, 8)
        assert _rows(db_path, "SELECT count(*) FROM mfa_jobs") == 3  # pruning comes at the start
        clock.advance(86_400)
        third = await mfa_process.retry(services, subscription_id)
        assert third is not None
        await mfa_process.follow(services, third[0].job_id)
        assert await mfa_process.outcome(services, third[0].job_id) == mfa_process.Outcome(292, 8)
        # Kept: the enable job (the counts start from it), the job just retried and the newest;
        # the first retry is gone with its failures.
        with sqlite3.connect(db_path) as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM mfa_jobs ORDER BY id")]
        assert ids == [job.job_id, again[0].job_id, third[0].job_id]
        assert _rows(db_path, "SELECT count(*) FROM mfa_job_failures") == 10 + 8 + 8
    finally:
        await services.close()


async def test_a_transaction_works_by_time_not_by_a_batch_and_a_pause(
    services: Services,
) -> None:
    subscription_id = await add_subscription_with_users(services, "Quick", USERS)
    job, _ = await mfa_process.begin(services, subscription_id)
    seen: list[mfa_process.JobProgress] = []
    await mfa_process.follow(services, job.job_id, on_progress=seen.append)
    # 3,000 users take a few milliseconds: one transaction (before: six batches of 500 and a
    # pause after each).
    assert [p.processed for p in seen] == [0, USERS]


async def test_another_writer_gets_in_while_a_long_job_runs(
    config: Config, clock: ManualClock
) -> None:
    services = await open_services(config, clock=clock)
    other = await open_services(config, clock=clock)
    try:
        subscription_id = await add_subscription_with_users(services, "Long", 200_000)
        job, _ = await mfa_process.begin(services, subscription_id)
        running = asyncio.ensure_future(mfa_process.follow(services, job.job_id))
        await asyncio.sleep(0.02)
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with other.db.write() as conn:
            await conn.execute("INSERT INTO audit_events (at, event) VALUES (0, 'other writer')")
        waited = loop.time() - started
        assert not running.done(), "the job should still be running: make it longer"
        await running
        assert waited < 0.5, f"another writer waited {waited:.2f} s"
    finally:
        await other.close()
        await services.close()


async def test_a_database_of_the_earlier_schema_is_migrated_mid_job(tmp_path: Path) -> None:
    db_path = tmp_path / "old.db"
    with sqlite3.connect(db_path) as conn:
        for version, _name, sql in _migrations():
            if version >= 3:
                break
            for statement in _split_sql(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")
    subscription_id = add_subscription_with_users_sync(db_path, "Old", 100, undeliverable_every=10)
    with sqlite3.connect(db_path) as conn:  # a job of the old kind, decided up to user 40
        conn.execute(
            "INSERT INTO mfa_jobs (id, subscription_id, kind, status, total, succeeded, failed,"
            " started_at) VALUES (1, ?, 'enable', 'running', 100, 36, 4, 0)",
            (subscription_id,),
        )
        conn.execute(
            "INSERT INTO mfa_job_items (job_id, user_id, status, reason, attempts)"
            " SELECT 1, id, CASE WHEN id > 40 THEN 'pending' WHEN email_deliverable = 1"
            " THEN 'succeeded' ELSE 'failed' END, CASE WHEN id <= 40 AND email_deliverable = 0"
            " THEN email_problem END, CASE WHEN id > 40 THEN 0 ELSE 1 END FROM users"
        )
        conn.execute("UPDATE users SET mfa_required = 1 WHERE id <= 40 AND email_deliverable = 1")
    services = await open_services(Config().with_database(db_path))
    try:
        final = await mfa_process.follow(services, 1)
        assert (final.total, final.succeeded, final.failed) == (100, 90, 10)
        assert len(await mfa_process.failed_users(services, 1)) == 10
    finally:
        await services.close()
    with sqlite3.connect(db_path) as conn:
        assert_processed_exactly_once(audit_job(conn, subscription_id, 1))


async def test_chunks_decide_exactly_the_jobs_users_whatever_lies_between_them(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two subscriptions' users interleaved by id, users deleted mid-job, chunks and transactions
    that end anywhere: each of the job's users is decided once, by the rule, and nobody else."""
    monkeypatch.setattr(mfa_process, "CHUNK_SIZE", 7)
    ours = await add_subscription_with_users(services, "Ours", 0)
    theirs = await add_subscription_with_users(services, "Theirs", 0)
    async with services.db.write() as conn:
        for n in range(1, 101):  # ids alternate between the two subscriptions
            for subscription, prefix in ((ours, "ours"), (theirs, "theirs")):
                await conn.execute(
                    INSERT_USER,
                    (
                        subscription, f"{prefix}{n}@example.com", int(n % 9 != 0),
                        "no mail server answers for example.com" if n % 18 == 0 else None,
                        f"{prefix} {n}", "disabled" if n % 10 == 0 else "active",
                    ),
                )  # fmt: skip
    job, _ = await mfa_process.begin(services, ours)
    run = mfa_process.progress_of(services, job.job_id, batch_size=20)
    first = await anext(run)  # nothing decided yet
    assert first.processed == 0 and first.total == 100
    second = await anext(run)
    assert second.processed == 20
    # Users deleted after the job began: both before and after its cursor.
    async with services.db.write() as conn:
        await conn.execute(
            "DELETE FROM users WHERE subscription_id = ? AND email IN (?, ?, ?)",
            (ours, "ours2@example.com", "ours50@example.com", "ours51@example.com"),
        )
    reports = [progress async for progress in run]
    final = reports[-1]
    assert final.is_complete and final.processed == 98

    with sqlite3.connect(services.db.path) as conn:
        required = dict(conn.execute("SELECT email, mfa_required FROM users").fetchall())
        failures = dict(
            conn.execute(
                "SELECT users.email, reason FROM mfa_job_failures JOIN users ON id = user_id"
                " WHERE job_id = ?",
                (job.job_id,),
            ).fetchall()
        )
    kept = [n for n in range(1, 101) if n not in (50, 51)]  # 2 was decided before it went
    assert all(required[f"ours{n}@example.com"] == 1 for n in kept if n != 2)
    assert not any(required[f"theirs{n}@example.com"] for n in range(1, 101))
    expected: dict[str, str] = {}
    for n in kept:
        if n % 10 == 0:
            expected[f"ours{n}@example.com"] = mfa_process.ACCOUNT_DISABLED
        elif n % 18 == 0:
            expected[f"ours{n}@example.com"] = "no mail server answers for example.com"
        elif n % 9 == 0:
            expected[f"ours{n}@example.com"] = mfa_process.ADDRESS_NOT_VALID
    assert failures == expected
    assert final.failed == len(expected) and final.succeeded == 98 - len(expected)

    # A retry goes over exactly those failures, in chunks too, and decides them again.
    async with services.db.write() as conn:
        await conn.execute("UPDATE users SET status = 'active' WHERE subscription_id = ?", (ours,))
    retried, started = await mfa_process.retry(services, ours) or (None, False)
    assert started and retried is not None and retried.total == len(expected)
    done = await mfa_process.follow(services, retried.job_id, batch_size=3)
    assert done.processed == len(expected)
    assert done.failed == len([n for n in kept if n % 9 == 0])  # 90 is active now, still no mail

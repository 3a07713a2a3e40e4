"""The MFA process job: decisions, reasons, progress, one job per subscription, retry, disable,
leases (watching, taking over an abandoned job), and "exactly once" accounting."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mfa import accounts, demo, mfa_process
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.mfa_process import JobProgress, MfaProcessError
from mfa.services import Services, open_services
from store import accounts as account_store
from store import audit
from tests.mfa.job_helpers import (
    add_subscription_with_users,
    assert_processed_exactly_once,
    audit_job,
)

OWNER_A = "host-a.example/101/aaaa"
OWNER_B = "host-b.example/202/bbbb"
"""Lease owners on other hosts: never taken for dead, so only an expired lease frees them."""


@pytest.fixture
async def demo_services(services: Services) -> Services:
    await demo.seed(services)
    return services


@pytest.fixture
async def other_services(config: Config, clock: ManualClock) -> AsyncIterator[Services]:
    """A second connection to the same file: another admin's session."""
    opened = await open_services(config, clock=clock)
    try:
        yield opened
    finally:
        await opened.close()


async def _subscription_id(services: Services) -> int:
    subscription = await accounts.require_subscription(services, demo.SUBSCRIPTION)
    return subscription.id


def _audit(db_path: Path, subscription_id: int, job_id: int):  # type: ignore[no-untyped-def]
    with sqlite3.connect(db_path) as conn:
        return audit_job(conn, subscription_id, job_id)


async def test_the_demo_subscription_enables_22_users_and_reports_3_with_reasons(
    demo_services: Services, db_path: Path
) -> None:
    subscription_id = await _subscription_id(demo_services)
    job, started = await mfa_process.begin(demo_services, subscription_id)
    assert started and job == JobProgress(job.job_id, "running", 25, 0, 0, 0)
    final = await mfa_process.follow(demo_services, job.job_id)
    assert final == JobProgress(job.job_id, "complete", 25, 25, 22, 3)
    failed = await mfa_process.failed_users(demo_services, job.job_id)
    assert [user.email for user in failed] == ["dock@warehouse", "locker-bay@kiosk3", "ops@plant7"]
    assert [user.display_name for user in failed] == [
        "Warehouse Dock",
        "Kiosk 3 Locker Bay",
        "Plant 7 Operations",
    ]
    assert all(user.reason == "email address has no domain" for user in failed)
    subscription = await account_store.subscription_by_id(demo_services.db, subscription_id)
    assert subscription is not None and subscription.mfa_enabled
    users = await account_store.users_of(demo_services.db, subscription_id)
    # Everyone is required, the 3 that failed too: they set up another method at the next sign-in
    # (nobody signs in with a password alone while MFA is on for them).
    assert all(u.mfa_required for u in users) and len(users) == 25
    assert_processed_exactly_once(_audit(db_path, subscription_id, job.job_id))
    assert await mfa_process.outcome(demo_services, job.job_id) == mfa_process.Outcome(22, 3)


async def test_the_job_never_creates_a_factor(demo_services: Services) -> None:
    subscription_id = await _subscription_id(demo_services)
    job, _ = await mfa_process.begin(demo_services, subscription_id)
    await mfa_process.follow(demo_services, job.job_id)
    row = await demo_services.db.fetchone("SELECT count(*) FROM mfa_methods")
    assert row is not None and row[0] == 0


async def test_a_disabled_account_fails_with_account_disabled(demo_services: Services) -> None:
    subscription_id = await _subscription_id(demo_services)
    async with demo_services.db.write() as conn:
        await conn.execute(
            "UPDATE users SET status = 'disabled' WHERE email = 'sam.patel@acme-logistics.com'"
        )
    job, _ = await mfa_process.begin(demo_services, subscription_id)
    final = await mfa_process.follow(demo_services, job.job_id)
    assert (final.succeeded, final.failed) == (21, 4)
    reasons = {u.email: u.reason for u in await mfa_process.failed_users(demo_services, job.job_id)}
    assert reasons["sam.patel@acme-logistics.com"] == "account disabled"
    sam = await account_store.user_by_email(demo_services.db, "sam.patel@acme-logistics.com")
    assert sam is not None and sam.mfa_required  # required should the account be enabled again


async def test_progress_is_reported_after_every_batch_through_a_callback_or_an_iterator(
    services: Services,
) -> None:
    subscription_id = await add_subscription_with_users(
        services, "Batches", 23, undeliverable_every=5
    )
    job, _ = await mfa_process.begin(services, subscription_id)
    seen: list[JobProgress] = []
    final = await mfa_process.follow(services, job.job_id, on_progress=seen.append, batch_size=5)
    assert [p.processed for p in seen] == [0, 5, 10, 15, 20, 23]
    assert [p.failed for p in seen] == [0, 1, 2, 3, 4, 4]
    assert seen[-1] == final and final.is_complete
    assert all(not p.is_complete for p in seen[:-1])

    again, _ = await mfa_process.begin(services, subscription_id)
    iterated = [p async for p in mfa_process.progress_of(services, again.job_id, batch_size=10)]
    assert [p.processed for p in iterated] == [0, 10, 20, 23]


async def test_an_async_callback_is_awaited(services: Services) -> None:
    subscription_id = await add_subscription_with_users(services, "Async", 4)
    job, _ = await mfa_process.begin(services, subscription_id)
    seen: list[int] = []

    async def record(progress: JobProgress) -> None:
        await asyncio.sleep(0)
        seen.append(progress.processed)

    await mfa_process.follow(services, job.job_id, on_progress=record, batch_size=2)
    assert seen == [0, 2, 4]


async def test_a_subscription_without_users_completes_at_once(services: Services) -> None:
    subscription_id = await add_subscription_with_users(services, "Empty", 0)
    job, _ = await mfa_process.begin(services, subscription_id)
    final = await mfa_process.follow(services, job.job_id)
    assert final == JobProgress(job.job_id, "complete", 0, 0, 0, 0)


async def test_begin_while_a_job_runs_joins_it(demo_services: Services) -> None:
    subscription_id = await _subscription_id(demo_services)
    first, first_started = await mfa_process.begin(demo_services, subscription_id)
    second, second_started = await mfa_process.begin(demo_services, subscription_id)
    assert first_started and not second_started
    assert second.job_id == first.job_id
    rows = await demo_services.db.fetchall("SELECT id FROM mfa_jobs")
    assert [row[0] for row in rows] == [first.job_id]


async def test_two_sessions_pressing_begin_at_once_get_one_job(
    demo_services: Services, other_services: Services
) -> None:
    subscription_id = await _subscription_id(demo_services)
    (job_a, started_a), (job_b, started_b) = await asyncio.gather(
        mfa_process.begin(demo_services, subscription_id),
        mfa_process.begin(other_services, subscription_id),
    )
    assert job_a.job_id == job_b.job_id
    assert sorted([started_a, started_b]) == [False, True]
    finals = await asyncio.gather(
        mfa_process.follow(demo_services, job_a.job_id, batch_size=4, poll_seconds=0.01),
        mfa_process.follow(other_services, job_b.job_id, batch_size=4, poll_seconds=0.01),
    )
    assert finals[0] == finals[1] == JobProgress(job_a.job_id, "complete", 25, 25, 22, 3)


async def test_the_database_refuses_a_second_running_job(demo_services: Services) -> None:
    subscription_id = await _subscription_id(demo_services)
    await mfa_process.begin(demo_services, subscription_id)
    with pytest.raises(sqlite3.IntegrityError):
        async with demo_services.db.write() as conn:
            await conn.execute(
                "INSERT INTO mfa_jobs (subscription_id, kind, status, started_at)"
                " VALUES (?, 'enable', 'running', 0)",
                (subscription_id,),
            )


async def test_retry_runs_only_the_failed_users_and_counts_add_up(
    demo_services: Services, db_path: Path
) -> None:
    subscription_id = await _subscription_id(demo_services)
    job, _ = await mfa_process.begin(demo_services, subscription_id)
    await mfa_process.follow(demo_services, job.job_id)
    ops = await account_store.user_by_email(demo_services.db, "ops@plant7")
    assert ops is not None
    await accounts.set_email(demo_services, ops.id, "ops@plant7.acme-logistics.com")

    retried = await mfa_process.retry(demo_services, subscription_id)
    assert retried is not None
    retry_job, started = retried
    assert started and retry_job.total == 3
    final = await mfa_process.follow(demo_services, retry_job.job_id)
    assert (final.total, final.succeeded, final.failed) == (3, 1, 2)
    assert await mfa_process.outcome(demo_services, retry_job.job_id) == mfa_process.Outcome(23, 2)
    still_failing = await mfa_process.failed_users(demo_services, retry_job.job_id)
    assert [u.email for u in still_failing] == ["dock@warehouse", "locker-bay@kiosk3"]
    ops_now = await account_store.user_by_id(demo_services.db, ops.id)
    assert ops_now is not None and ops_now.mfa_required
    latest = await mfa_process.latest_job(demo_services, subscription_id)
    assert latest is not None and latest.job_id == retry_job.job_id


async def test_retry_without_failures_has_nothing_to_do(services: Services) -> None:
    subscription_id = await add_subscription_with_users(services, "Clean", 5)
    job, _ = await mfa_process.begin(services, subscription_id)
    await mfa_process.follow(services, job.job_id)
    assert await mfa_process.retry(services, subscription_id) is None


async def test_retry_needs_mfa_on(demo_services: Services) -> None:
    subscription_id = await _subscription_id(demo_services)
    with pytest.raises(MfaProcessError, match="MFA is OFF"):
        await mfa_process.retry(demo_services, subscription_id)


async def test_users_added_after_mfa_is_on_are_required_to_set_it_up(
    demo_services: Services,
) -> None:
    subscription_id = await _subscription_id(demo_services)
    job, _ = await mfa_process.begin(demo_services, subscription_id)
    await mfa_process.follow(demo_services, job.job_id)
    subscription = await account_store.subscription_by_id(demo_services.db, subscription_id)
    assert subscription is not None
    newcomer, _ = await accounts.add_user(
        demo_services, subscription, "new.hire@acme-logistics.com", "New Hire", "user", None
    )
    assert newcomer.mfa_required


async def test_disable_stops_requiring_mfa_and_keeps_methods(demo_services: Services) -> None:
    subscription_id = await _subscription_id(demo_services)
    job, _ = await mfa_process.begin(demo_services, subscription_id)
    await mfa_process.follow(demo_services, job.job_id)
    jordan = await account_store.user_by_email(demo_services.db, "jordan.lee@acme-logistics.com")
    assert jordan is not None
    async with demo_services.db.write() as conn:
        await conn.execute(
            "INSERT INTO mfa_methods (user_id, kind, destination, secret, verified_at, created_at)"
            " VALUES (?, 'email', ?, x'00', 1, 1)",
            (jordan.id, jordan.email),
        )
    released = await mfa_process.disable(demo_services, subscription_id)
    assert released == 25  # the 3 the process failed were required too
    subscription = await account_store.subscription_by_id(demo_services.db, subscription_id)
    assert subscription is not None and not subscription.mfa_enabled
    users = await account_store.users_of(demo_services.db, subscription_id)
    assert not any(u.mfa_required for u in users)
    methods = await demo_services.db.fetchall("SELECT user_id, kind FROM mfa_methods")
    assert [tuple(row) for row in methods] == [(jordan.id, "email")]
    events = [e.event for e in await audit.events(demo_services.db)]
    assert "mfa.disabled" in events


async def test_disable_is_refused_while_the_process_runs(demo_services: Services) -> None:
    subscription_id = await _subscription_id(demo_services)
    await mfa_process.begin(demo_services, subscription_id)
    with pytest.raises(MfaProcessError, match="running"):
        await mfa_process.disable(demo_services, subscription_id)


async def _run_one_batch_as(services: Services, job_id: int, owner: str, batch_size: int) -> None:
    """Work one batch under ``owner`` and then stop, as a process that dies would."""
    generator = mfa_process.progress_of(services, job_id, batch_size=batch_size, owner=owner)
    reports = 0
    async for progress in generator:
        if progress.processed > 0:
            break
        reports += 1
    await generator.aclose()


async def test_an_abandoned_job_is_watched_until_its_lease_expires_then_resumed(
    services: Services, other_services: Services, clock: ManualClock, db_path: Path
) -> None:
    subscription_id = await add_subscription_with_users(
        services, "Resume", 40, undeliverable_every=7
    )
    job, _ = await mfa_process.begin(services, subscription_id)
    await _run_one_batch_as(services, job.job_id, OWNER_A, batch_size=10)

    watcher = mfa_process.progress_of(
        other_services, job.job_id, batch_size=10, owner=OWNER_B, poll_seconds=0.001
    )
    first = await anext(watcher)
    assert (first.status, first.processed) == ("running", 10)
    polled = asyncio.ensure_future(anext(watcher))
    await asyncio.sleep(0.05)
    assert not polled.done(), "a live lease is watched, not taken"
    row = await services.db.fetchone("SELECT lease_owner FROM mfa_jobs WHERE id = ?", (job.job_id,))
    assert row is not None and row[0] == OWNER_A

    clock.advance(mfa_process.LEASE_SECONDS + 1)
    resumed = await polled
    assert resumed.processed == 20
    rest = [p async for p in watcher]
    assert rest[-1] == JobProgress(job.job_id, "complete", 40, 40, 35, 5)
    assert_processed_exactly_once(_audit(db_path, subscription_id, job.job_id))
    events = await audit.events(services.db)
    assert any(e.event == "mfa.process_resumed" and OWNER_A in (e.detail or "") for e in events)


async def test_a_process_that_lost_its_lease_stops_working_and_watches(
    services: Services, other_services: Services, clock: ManualClock, db_path: Path
) -> None:
    subscription_id = await add_subscription_with_users(services, "Handover", 30)
    job, _ = await mfa_process.begin(services, subscription_id)
    slow = mfa_process.progress_of(
        services, job.job_id, batch_size=10, owner=OWNER_A, poll_seconds=0.001
    )
    assert (await anext(slow)).processed == 0
    assert (await anext(slow)).processed == 10
    # Process A stalls longer than its lease; B takes the job over and finishes it.
    clock.advance(mfa_process.LEASE_SECONDS + 1)
    final_b = await mfa_process.follow(other_services, job.job_id, batch_size=10, owner=OWNER_B)
    assert final_b.processed == 30
    # A wakes up: its next batch finds the lease gone, so it does nothing more and sees the end.
    rest_a = [p async for p in slow]
    assert rest_a[-1] == final_b
    assert_processed_exactly_once(_audit(db_path, subscription_id, job.job_id))


async def test_a_watcher_sees_the_same_live_progress_as_the_runner(
    services: Services, other_services: Services, db_path: Path
) -> None:
    subscription_id = await add_subscription_with_users(
        services, "Live", 2_000, undeliverable_every=9
    )
    job, _ = await mfa_process.begin(services, subscription_id)
    runner_seen: list[JobProgress] = []
    watcher_seen: list[JobProgress] = []

    async def watch() -> JobProgress:
        await asyncio.sleep(0.01)  # the runner takes the lease first
        return await mfa_process.follow(
            other_services, job.job_id, on_progress=watcher_seen.append,
            owner=OWNER_B, poll_seconds=0.001,
        )  # fmt: skip

    runner = mfa_process.follow(
        services, job.job_id, on_progress=runner_seen.append, batch_size=20, owner=OWNER_A
    )
    final_runner, final_watcher = await asyncio.gather(runner, watch())
    assert final_runner == final_watcher
    assert len(runner_seen) == 101
    assert len(watcher_seen) >= 2, "the watcher saw progress while the job ran"
    assert all(p in runner_seen for p in watcher_seen), "every watched state was a real one"
    processed = [p.processed for p in watcher_seen]
    assert processed == sorted(processed)
    row = await services.db.fetchone(
        "SELECT count(*) FROM audit_events WHERE event = 'mfa.process_resumed'"
    )
    assert row is not None and row[0] == 0, "a live runner is never taken over"
    assert_processed_exactly_once(_audit(db_path, subscription_id, job.job_id))


async def test_a_job_cancelled_in_this_process_is_resumed_by_the_next_follower(
    services: Services, db_path: Path
) -> None:
    subscription_id = await add_subscription_with_users(services, "Cancel", 3_000)
    job, _ = await mfa_process.begin(services, subscription_id)
    started = asyncio.Event()

    def on_progress(progress: JobProgress) -> None:
        if progress.processed >= 100:
            started.set()

    task = asyncio.create_task(
        mfa_process.follow(services, job.job_id, on_progress=on_progress, batch_size=10)
    )
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    interrupted = await mfa_process.job_progress(services, job.job_id)
    assert interrupted is not None and interrupted.status == "running"
    assert 0 < interrupted.processed < 3_000
    final = await mfa_process.follow(services, job.job_id)
    assert final.processed == 3_000
    assert_processed_exactly_once(_audit(db_path, subscription_id, job.job_id))


async def test_unknown_jobs_and_subscriptions_are_reported(services: Services) -> None:
    with pytest.raises(MfaProcessError, match="no MFA process"):
        await mfa_process.follow(services, 999)
    with pytest.raises(MfaProcessError, match="no subscription"):
        await mfa_process.begin(services, 999)

"""The MFA process: require every user of a subscription to set up MFA, as a resumable SQLite job.

The General Preferences screen and ``mfa-tui admin mfa ...`` both use this module:

- :func:`begin` turns MFA on for the subscription and creates a job over all of its users (or
  returns the job that is already running: one job per subscription, across processes);
- :func:`follow` works through the job in user-id order, each ``BEGIN IMMEDIATE`` transaction
  deciding users for about :data:`WORK_SECONDS` and moving the job's cursor past them, and reports
  :class:`JobProgress` after every transaction. When another process holds the job's lease it
  watches instead, reporting the same progress, and takes the job over when that process has died
  or its lease has run out, so an interrupted job resumes where its cursor stopped;
- :func:`retry` runs the users that failed in the latest job again; :func:`disable` turns MFA off.

A user succeeds when the account is active and its address can receive codes: the verdict stored
when the address was written (see ``mfa.addresses``), so the job itself checks nothing slowly
and applies the rule to thousands of users per statement (``store.jobs.decide_next``, with the
reasons' words from :data:`REASONS`); when ``[email] internal_domains`` has changed since the verdicts were judged,
:func:`begin` and :func:`retry` judge the affected ones again first (``mfa.address_recheck``).
Every user the job decides, failed ones included, is then required to use MFA: a user whose
address can't receive mail sets up another method (SMS) at the next sign-in instead of signing
in with a password alone (:data:`STILL_REQUIRED` says so to admins). The job never creates a
factor. "Succeeded" and "failed" are the user guide's words: failed means MFA could not be set up
as planned for that user (email codes can't reach them), not that MFA is off for them.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypedDict, Unpack

from mfa.address_recheck import recheck_if_changed
from mfa.services import Services
from store import accounts as account_store
from store import audit
from store import jobs as job_store
from store.db import Transaction
from store.jobs import COMPLETE, RUNNING, BatchResult, JobRow

__all__ = [
    "ACCOUNT_DISABLED",
    "ADDRESS_NOT_VALID",
    "BATCH_SIZE",
    "COMPLETE",
    "LEASE_SECONDS",
    "PAUSE_SECONDS",
    "POLL_SECONDS",
    "RUNNING",
    "STILL_REQUIRED",
    "WORK_SECONDS",
    "FailedUser",
    "JobProgress",
    "MfaProcessError",
    "Outcome",
    "Pace",
    "ProgressCallback",
    "begin",
    "disable",
    "failed_users",
    "follow",
    "job_progress",
    "latest_job",
    "mfa_enabled",
    "outcome",
    "process_owner_id",
    "progress_of",
    "retry",
    "running_job",
]

BATCH_SIZE = 100_000
"""The most users one transaction decides; by default WORK_SECONDS ends a transaction first."""
CHUNK_SIZE = 5_000
"""Users decided by one set of statements inside a transaction; WORK_SECONDS is checked after each."""
WORK_SECONDS = 0.05
"""How long one transaction goes on deciding users before it commits: long enough that commits
cost little, short enough that other writers wait at most about this long."""
LEASE_SECONDS = 10.0
"""How long a job stays with its process without a heartbeat; each transaction renews it."""
POLL_SECONDS = 0.25
"""How often a watcher (another admin, another process) reads the job's progress."""
PAUSE_SECONDS = 0.01
"""The gap left after each transaction. Without it the job would hold the write lock almost all the
time and other processes' writers (sign-ins, another admin pressing Begin), whose SQLite busy
handler only retries every few milliseconds, would wait until the whole job ends."""

ACCOUNT_DISABLED = "account disabled"
"""The reason given for a user whose account is disabled."""
STILL_REQUIRED = (
    "MFA is still required of the users who failed: at the next sign-in they set up a method "
    "other than email (or their address is fixed and the MFA process retried)."
)
"""What admins are told about the users the MFA process failed."""
ADDRESS_NOT_VALID = "email address is not valid"
"""The reason given when an address can't receive codes and no detail was stored with it."""
REASONS = job_store.Reasons(disabled=ACCOUNT_DISABLED, undeliverable=ADDRESS_NOT_VALID)
"""The words ``store.jobs.decide_next`` records for the users the rule fails."""


class MfaProcessError(Exception):
    """The MFA process can't do what was asked; the message says why."""


@dataclass(frozen=True, slots=True)
class JobProgress:
    """Where a job stands; what the progress bar and the counts show."""

    job_id: int
    status: str
    """``running`` or ``complete``."""
    total: int
    processed: int
    succeeded: int
    failed: int

    @property
    def is_complete(self) -> bool:
        return self.status == COMPLETE

    @classmethod
    def of(cls, job: JobRow) -> JobProgress:
        return cls(job.id, job.status, job.total, job.processed, job.succeeded, job.failed)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of the MFA process for a subscription, counting retries in.

    After a retry, ``succeeded`` counts the users enabled by the original run and by every retry
    since, and ``failed`` the users that still fail.
    """

    succeeded: int
    failed: int

    @property
    def total(self) -> int:
        return self.succeeded + self.failed


@dataclass(frozen=True, slots=True)
class FailedUser:
    """A user the job could not enable, with the reason in words a person understands."""

    user_id: int
    email: str
    display_name: str
    reason: str


ProgressCallback = Callable[[JobProgress], Awaitable[None] | None]

_owner: tuple[int, str] | None = None
_active_runs: set[tuple[str, int, str]] = set()
"""(database, job, owner) of the jobs this process is working on right now."""


def process_owner_id() -> str:
    """This process's lease owner id: ``host/pid/random``; a new one after a fork."""
    global _owner
    pid = os.getpid()
    if _owner is None or _owner[0] != pid:
        _owner = (pid, f"{socket.gethostname()}/{pid}/{secrets.token_hex(6)}")
    return _owner[1]


def _owner_has_died(owner: str) -> bool:
    """True only when ``owner`` is a process on this host that no longer exists.

    Lets the next caller resume a killed process's job at once instead of waiting for its lease to
    run out. Anything uncertain (another host, a pid in use, no permission) counts as alive.
    """
    host, _, rest = owner.partition("/")
    pid_text = rest.partition("/")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _run_key(services: Services, job_id: int, owner: str) -> tuple[str, int, str]:
    return (str(services.db.path.resolve()), job_id, owner)


def _may_take(job: JobRow, owner: str, key: tuple[str, int, str], now: float) -> bool:
    if job.status != RUNNING:
        return False
    if job.lease_owner == owner:
        return key not in _active_runs
    return (
        job.lease_owner is None
        or job.lease_expires_at is None
        or job.lease_expires_at <= now
        or _owner_has_died(job.lease_owner)
    )


async def _subscription_exists(services: Services, subscription_id: int) -> None:
    if await account_store.subscription_by_id(services.db, subscription_id) is None:
        raise MfaProcessError(f"There is no subscription with id {subscription_id}.")


async def begin(
    services: Services, subscription_id: int, *, started_by: int | None = None
) -> tuple[JobProgress, bool]:
    """Turn MFA on for the subscription and start the MFA process over all of its users.

    Returns the job and True, or, when a job of the subscription is running already (started by
    another admin, maybe in another process), that job and False. Run it with :func:`follow`.
    """
    await _subscription_exists(services, subscription_id)
    # Verdicts judged with another email.internal_domains are judged again before they count.
    await recheck_if_changed(services)
    # Joining a running job needs no write lock: look first, then check again under the lock.
    running = await job_store.running_job(services.db, subscription_id)
    if running is not None:
        return JobProgress.of(running), False
    async with services.db.write() as conn:
        running = await job_store.running_job(conn, subscription_id)
        if running is not None:
            return JobProgress.of(running), False
        now = services.now()
        await job_store.set_subscription_mfa(conn, subscription_id, True)
        await _prune(services, conn, subscription_id, now)
        job_id = await job_store.insert_job(conn, subscription_id, "enable", started_by, now)
        total = await job_store.cover_subscription(conn, job_id, subscription_id)
        await audit.record(
            conn, now, "mfa.process_started", actor_id=started_by,
            detail=f"job {job_id}: enable for {total} users",
        )  # fmt: skip
    return JobProgress(job_id, RUNNING, total, 0, 0, 0), True


async def _prune(services: Services, conn: Transaction, subscription_id: int, now: float) -> None:
    """Forget the subscription's jobs older than ``database.keep_mfa_jobs_days`` (never the ones
    still read: see ``store.jobs.prune``)."""
    days = services.config.database.keep_mfa_jobs_days
    await job_store.prune(conn, subscription_id, now - days * 86_400)


async def retry(
    services: Services, subscription_id: int, *, started_by: int | None = None
) -> tuple[JobProgress, bool] | None:
    """Run the MFA process again for the users that failed in the latest job.

    Returns the new job and True; the running job and False when one is running; None when the
    latest job had no failures (nothing to retry).
    """
    await _subscription_exists(services, subscription_id)
    await recheck_if_changed(services)
    async with services.db.write() as conn:
        running = await job_store.running_job(conn, subscription_id)
        if running is not None:
            return JobProgress.of(running), False
        subscription = await account_store.subscription_by_id(conn, subscription_id)
        if subscription is None or not subscription.mfa_enabled:
            raise MfaProcessError("MFA is OFF for this subscription: turn it on first.")
        latest = await job_store.latest_job(conn, subscription_id)
        if latest is None or latest.failed == 0:
            return None
        now = services.now()
        await _prune(services, conn, subscription_id, now)
        job_id = await job_store.insert_job(
            conn, subscription_id, "retry", started_by, now, retry_of=latest.id
        )
        total = await job_store.cover_failures(conn, job_id, latest.id)
        await audit.record(
            conn, now, "mfa.process_started", actor_id=started_by,
            detail=f"job {job_id}: retry of job {latest.id} for {total} users",
        )  # fmt: skip
    return JobProgress(job_id, RUNNING, total, 0, 0, 0), True


async def disable(services: Services, subscription_id: int, *, actor_id: int | None = None) -> int:
    """Turn MFA off: no user of the subscription is required to use it any more.

    Users keep the methods they have set up. Refused while the MFA process runs. Returns how many
    users were required to use MFA before.
    """
    await _subscription_exists(services, subscription_id)
    async with services.db.write() as conn:
        if await job_store.running_job(conn, subscription_id) is not None:
            raise MfaProcessError(
                "The MFA process is running. Wait for MFA settings complete, then turn MFA off."
            )
        await job_store.set_subscription_mfa(conn, subscription_id, False)
        released = await job_store.clear_mfa_required(conn, subscription_id)
        await audit.record(
            conn, services.now(), "mfa.disabled", actor_id=actor_id,
            detail=f"MFA no longer required of {released} users",
        )  # fmt: skip
    return released


async def job_progress(services: Services, job_id: int) -> JobProgress | None:
    job = await job_store.job_by_id(services.db, job_id)
    return JobProgress.of(job) if job else None


async def latest_job(services: Services, subscription_id: int) -> JobProgress | None:
    """The subscription's newest job, running or complete; None before the first."""
    job = await job_store.latest_job(services.db, subscription_id)
    return JobProgress.of(job) if job else None


async def running_job(services: Services, subscription_id: int) -> JobProgress | None:
    """The subscription's running job (maybe interrupted, waiting to be resumed)."""
    job = await job_store.running_job(services.db, subscription_id)
    return JobProgress.of(job) if job else None


async def mfa_enabled(services: Services, subscription_id: int) -> bool | None:
    """Whether MFA is ON for the subscription; None when the subscription no longer exists."""
    subscription = await account_store.subscription_by_id(services.db, subscription_id)
    return bool(subscription.mfa_enabled) if subscription is not None else None


async def outcome(services: Services, job_id: int) -> Outcome:
    """How many users of the subscription succeeded and failed, once ``job_id`` is complete.

    A retry only covers the users the job before it failed, so the users still failing are the
    retry's failures, and everybody else the original run covered has succeeded.
    """
    job = await job_store.job_by_id(services.db, job_id)
    if job is None:
        raise MfaProcessError(f"There is no MFA process {job_id}.")
    if job.kind == "enable":
        return Outcome(job.succeeded, job.failed)
    original = await job_store.latest_job(
        services.db, job.subscription_id, kind="enable", up_to_id=job.id
    )
    covered = original.total if original else job.total
    return Outcome(max(covered - job.failed, 0), job.failed)


async def failed_users(
    services: Services, job_id: int, *, limit: int | None = None, offset: int = 0
) -> list[FailedUser]:
    """The users the job could not enable, with the reason, in address order."""
    items = await job_store.failed_items(
        services.db, job_id, limit=-1 if limit is None else limit, offset=offset
    )
    return [
        FailedUser(item.user_id, item.email, item.display_name, item.reason or ADDRESS_NOT_VALID)
        for item in items
    ]


async def _claim(
    services: Services, job_id: int, owner: str, key: tuple[str, int, str], lease_seconds: float
) -> tuple[JobRow | None, bool]:
    """Take the job's lease when it is free; returns the job and whether this caller now owns it."""
    async with services.db.write() as conn:
        job = await job_store.job_by_id(conn, job_id)
        now = services.now()
        if job is None or not _may_take(job, owner, key, now):
            return job, False
        await job_store.take_lease(conn, job_id, owner, now + lease_seconds)
        if job.lease_owner not in (None, owner):
            await audit.record(
                conn, now, "mfa.process_resumed",
                detail=f"job {job_id} at {job.processed}/{job.total}, from {job.lease_owner}",
            )  # fmt: skip
        return job, True


async def _run_batch(
    services: Services,
    job_id: int,
    owner: str,
    batch_size: int,
    lease_seconds: float,
    work_seconds: float = WORK_SECONDS,
) -> JobRow | None:
    """One transaction: up to ``batch_size`` users decided, for about ``work_seconds`` at most,
    then the cursor and the counters moved past them. None when another process has taken the
    job over."""
    async with services.db.write() as conn:
        started = time.monotonic()
        now = services.now()
        job = await job_store.renew_lease(conn, job_id, owner, now + lease_seconds)
        if job is None:
            return None
        cursor, processed, succeeded, done = job.cursor_user_id, 0, 0, False
        while not done:
            size = min(CHUNK_SIZE, batch_size - processed)
            cursor, result, done = await job_store.decide_next(conn, job, cursor, size, REASONS)
            processed += result.processed
            succeeded += result.succeeded
            if processed >= batch_size or time.monotonic() - started >= work_seconds:
                break
        job = await job_store.record_batch(
            conn, job_id, owner, BatchResult(processed, succeeded), cursor,
            now + lease_seconds, now if done else None,
        )  # fmt: skip
        if job is None:  # impossible while this transaction holds the write lock
            raise MfaProcessError(f"The MFA process {job_id} lost its lease mid-batch.")
        if job.status == COMPLETE:
            await audit.record(
                conn, now, "mfa.process_completed",
                detail=f"job {job_id}: {job.succeeded} succeeded, {job.failed} failed",
            )  # fmt: skip
        return job


async def progress_of(
    services: Services,
    job_id: int,
    *,
    batch_size: int = BATCH_SIZE,
    lease_seconds: float = LEASE_SECONDS,
    poll_seconds: float = POLL_SECONDS,
    pause_seconds: float = PAUSE_SECONDS,
    work_seconds: float = WORK_SECONDS,
    owner: str | None = None,
) -> AsyncIterator[JobProgress]:
    """Run or watch the job until it is complete, yielding its progress whenever it changes.

    The caller works on the job when its lease is free (a new job, or one whose process died or
    went quiet for ``lease_seconds``); otherwise it watches the job's row every ``poll_seconds``,
    ready to take over. Each transaction decides at most ``batch_size`` users for about
    ``work_seconds`` (see :data:`WORK_SECONDS`); between transactions it pauses ``pause_seconds``
    (:data:`PAUSE_SECONDS`).
    ``owner`` defaults to :func:`process_owner_id`.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    owner = owner or process_owner_id()
    key = _run_key(services, job_id, owner)
    reported: JobProgress | None = None
    while True:
        job = await job_store.job_by_id(services.db, job_id)
        owned = False
        if job is not None and _may_take(job, owner, key, services.now()):
            job, owned = await _claim(services, job_id, owner, key, lease_seconds)
        if job is None:
            raise MfaProcessError(f"There is no MFA process {job_id}.")
        progress = JobProgress.of(job)
        if progress != reported:
            reported = progress
            yield progress
        if progress.is_complete:
            return
        if not owned:
            await asyncio.sleep(poll_seconds)
            continue
        _active_runs.add(key)
        try:
            while True:
                worked = await _run_batch(
                    services, job_id, owner, batch_size, lease_seconds, work_seconds
                )
                if worked is None:
                    break  # another process took over: go back to watching
                reported = JobProgress.of(worked)
                yield reported
                if reported.is_complete:
                    return
                await asyncio.sleep(pause_seconds)  # other writers' turn, and the event loop's
        finally:
            _active_runs.discard(key)


class Pace(TypedDict, total=False):
    """:func:`progress_of`'s keywords, which :func:`follow` passes on (defaults there)."""

    batch_size: int
    lease_seconds: float
    poll_seconds: float
    pause_seconds: float
    work_seconds: float
    owner: str | None


async def follow(
    services: Services,
    job_id: int,
    *,
    on_progress: ProgressCallback | None = None,
    **pace: Unpack[Pace],
) -> JobProgress:
    """Run or watch the job to completion (see :func:`progress_of`, whose keywords it takes);
    returns the final progress."""
    final: JobProgress | None = None
    generator = progress_of(services, job_id, **pace)
    try:
        async for progress in generator:
            final = progress
            if on_progress is not None:
                result = on_progress(progress)
                if inspect.isawaitable(result):
                    await result
    finally:
        await generator.aclose()
    assert final is not None
    return final

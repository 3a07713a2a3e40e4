"""The database file: migrations, pragmas, refusal of newer files, several writing processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from store import DatabaseTooNew, open_database
from store.db import schema_version


async def test_migrates_an_empty_file_and_records_the_version(db_path: Path) -> None:
    db = await open_database(db_path)
    try:
        row = await db.fetchone("PRAGMA user_version")
        assert row[0] == schema_version() >= 1
        tables = {
            r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert {"users", "subscriptions", "mfa_methods", "mfa_jobs", "mfa_job_failures"} <= tables
        assert {"otp_challenges", "recovery_codes", "audit_events", "outbox", "products"} <= tables
    finally:
        await db.close()


async def test_migrating_again_changes_nothing(db_path: Path) -> None:
    db = await open_database(db_path)
    async with db.write() as conn:
        await conn.execute("INSERT INTO subscriptions (name, created_at) VALUES ('S', 0)")
    await db.close()
    db = await open_database(db_path)
    try:
        assert await db.migrate() == schema_version()
        rows = await db.fetchall("SELECT name FROM subscriptions")
        assert [r["name"] for r in rows] == ["S"]
    finally:
        await db.close()


async def test_pragmas_are_set_on_every_connection(db_path: Path) -> None:
    db = await open_database(db_path)
    try:
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
        assert (await db.fetchone("PRAGMA synchronous"))[0] == 2  # FULL
        assert (await db.fetchone("PRAGMA busy_timeout"))[0] >= 1000
    finally:
        await db.close()


async def test_a_newer_database_is_refused_with_a_clear_message(db_path: Path) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.execute(f"PRAGMA user_version = {schema_version() + 5}")
    with pytest.raises(DatabaseTooNew) as caught:
        await open_database(db_path)
    assert "newer version of mfa-tui" in str(caught.value)
    assert str(db_path) in str(caught.value)


async def test_a_failed_transaction_leaves_nothing_behind(db_path: Path) -> None:
    db = await open_database(db_path)
    try:
        with pytest.raises(RuntimeError):
            async with db.write() as conn:
                await conn.execute("INSERT INTO subscriptions (name, created_at) VALUES ('S', 0)")
                raise RuntimeError("stop half-way")
        assert await db.fetchall("SELECT * FROM subscriptions") == []
    finally:
        await db.close()


WRITES_PER_PROCESS = 150


def _writer(path: str, name: str) -> None:
    async def work() -> None:
        db = await open_database(path)
        try:
            for i in range(WRITES_PER_PROCESS):
                # A read-then-write: the classic case where a deferred transaction fails with BUSY.
                async with db.write() as conn:
                    async with conn.execute("SELECT count(*) FROM audit_events") as cursor:
                        (count,) = await cursor.fetchone()
                    await conn.execute(
                        "INSERT INTO audit_events (at, event, detail) VALUES (?, ?, ?)",
                        (count, name, str(i)),
                    )
        finally:
            await db.close()

    asyncio.run(work())


async def test_two_processes_writing_at_once_lose_nothing(db_path: Path) -> None:
    await (await open_database(db_path)).close()  # create and migrate first
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_writer, args=(str(db_path), n)) for n in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        await asyncio.to_thread(worker.join, 120)
    assert [w.exitcode for w in workers] == [0, 0]
    with sqlite3.connect(db_path) as raw:
        counts = dict(raw.execute("SELECT event, count(*) FROM audit_events GROUP BY event"))
        assert counts == {"a": WRITES_PER_PROCESS, "b": WRITES_PER_PROCESS}
        # Each insert saw every earlier one: the read and the write were one transaction.
        seen = sorted(row[0] for row in raw.execute("SELECT at FROM audit_events"))
        assert seen == list(range(2 * WRITES_PER_PROCESS))
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


HOLD_WRITE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO audit_events (at, event) VALUES (0, 'held')")
print("holding", flush=True)
time.sleep(60)
"""


@pytest.fixture
def write_lock_holder(db_path: Path):  # type: ignore[no-untyped-def]
    """Another process in the middle of a write transaction on ``db_path`` (then stopped)."""
    import subprocess
    import sys

    asyncio.run(_create(db_path))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(db_path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    try:
        yield holder
    finally:
        holder.kill()
        holder.wait(timeout=30)


async def _create(path: Path) -> None:
    await (await open_database(path)).close()


async def test_opening_and_reading_need_no_write_lock(db_path: Path, write_lock_holder) -> None:  # type: ignore[no-untyped-def]
    import time

    started = time.monotonic()
    db = await open_database(db_path, busy_timeout_ms=20_000)
    try:
        rows = await db.fetchall("SELECT event FROM audit_events")
    finally:
        await db.close()
    assert rows == []  # the holder's insert isn't committed
    assert time.monotonic() - started < 2.0


async def test_a_write_that_gives_up_names_the_stopped_process_and_the_remedy(
    db_path: Path,
    write_lock_holder,  # type: ignore[no-untyped-def]
) -> None:
    import os
    import signal

    from store import DatabaseBusy

    os.kill(write_lock_holder.pid, signal.SIGSTOP)
    db = await open_database(db_path, busy_timeout_ms=50, busy_retries=1)
    try:
        with pytest.raises(DatabaseBusy) as caught:
            async with db.write() as conn:
                await conn.execute("INSERT INTO audit_events (at, event) VALUES (1, 'mine')")
    finally:
        await db.close()
        os.kill(write_lock_holder.pid, signal.SIGCONT)
    message = str(caught.value)
    assert "\n" not in message
    assert f"process {write_lock_holder.pid}" in message and "is stopped" in message
    assert f"kill -CONT {write_lock_holder.pid}" in message
    assert "nothing was changed" in message


async def test_reads_go_on_while_a_write_waits_for_another_process(
    db_path: Path,
    write_lock_holder,  # type: ignore[no-untyped-def]
) -> None:
    """One connection per process: a task waiting for the write lock must not stop the screens'
    reads (a job waiting on another admin's process while the UI shows the users)."""
    db = await open_database(db_path, busy_timeout_ms=5_000, busy_retries=1)
    try:
        waiting = asyncio.create_task(_insert(db, "mine"))
        await asyncio.sleep(0.2)
        assert not waiting.done()  # still waiting for the holder's lock
        rows = await asyncio.wait_for(db.fetchall("SELECT event FROM audit_events"), timeout=2)
        assert rows == []
        write_lock_holder.kill()  # the holder goes: its transaction is rolled back
        write_lock_holder.wait(timeout=30)
        await asyncio.wait_for(waiting, timeout=10)
        events = [row[0] for row in await db.fetchall("SELECT event FROM audit_events")]
        assert events == ["mine"]
    finally:
        await db.close()


async def _insert(db, event: str) -> None:  # type: ignore[no-untyped-def]
    async with db.write() as conn:
        await conn.execute("INSERT INTO audit_events (at, event) VALUES (1, ?)", (event,))


async def test_a_write_cancelled_while_it_waits_leaves_the_connection_usable(
    db_path: Path,
    write_lock_holder,  # type: ignore[no-untyped-def]
) -> None:
    """A screen closed while its write waits for another process: the task is cancelled between
    attempts or in one; the connection must come back free and outside any transaction."""
    db = await open_database(db_path, busy_timeout_ms=5_000, busy_retries=1)
    try:
        for delay in (0.0, 0.001, 0.005, 0.05, 0.2):
            waiting = asyncio.create_task(_insert(db, "cancelled"))
            await asyncio.sleep(delay)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert not db.connection.in_transaction
        write_lock_holder.kill()
        write_lock_holder.wait(timeout=30)
        await asyncio.wait_for(_insert(db, "after"), timeout=10)
        events = [row[0] for row in await db.fetchall("SELECT event FROM audit_events")]
        assert events == ["after"]
    finally:
        await db.close()

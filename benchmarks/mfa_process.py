"""Time the MFA process over a database of N users (default 100,000).

Builds a fresh database (3 % of addresses can't receive codes, 1 % of accounts disabled), then:

1. runs the MFA process (begin + follow, as the screen and ``mfa-tui admin mfa enable`` do) and
   prints its time and users per second;
2. runs it again under ``tracemalloc`` and prints the peak of Python memory it allocated, which
   should not grow with N (compare ``--users 10000`` with the default);
3. times a plain bulk SQL ``UPDATE`` of the same rows, in one transaction and in committed batches
   of 500, as the floor the job is compared with.

    .venv/bin/python benchmarks/mfa_process.py [--users N] [--batch-size B] [--db FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sqlite3
import tempfile
import time
import tracemalloc
from pathlib import Path

from mfa import mfa_process
from mfa.config import Config
from mfa.services import Services, open_services

UNDELIVERABLE_EVERY = 33
DISABLED_EVERY = 100


def build_database(path: Path, users: int) -> int:
    """Create the schema and a subscription of ``users`` users; returns the subscription id."""
    asyncio.run(_migrate(path))
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        cursor = conn.execute(
            "INSERT INTO subscriptions (name, created_at) VALUES ('Benchmark', 0)"
        )
        subscription_id = int(cursor.lastrowid or 0)
        conn.executemany(
            "INSERT INTO users (subscription_id, email, email_deliverable, email_problem,"
            " display_name, status, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, 'x', 0)",
            (
                (
                    subscription_id,
                    f"user{n}@example.com" if n % UNDELIVERABLE_EVERY else f"user{n}@plant{n}",
                    int(bool(n % UNDELIVERABLE_EVERY)),
                    None if n % UNDELIVERABLE_EVERY else "email address is not valid (no domain)",
                    f"User {n}",
                    "disabled" if n % DISABLED_EVERY == 0 else "active",
                )
                for n in range(1, users + 1)
            ),
        )
    return subscription_id


async def _migrate(path: Path) -> None:
    services = await open_services(Config().with_database(path))
    await services.close()


async def _run_job(services: Services, subscription_id: int, batch_size: int) -> float:
    started = time.perf_counter()
    job, _ = await mfa_process.begin(services, subscription_id)
    final = await mfa_process.follow(services, job.job_id, batch_size=batch_size)
    elapsed = time.perf_counter() - started
    assert final.processed == final.total
    return elapsed


async def measure_job(path: Path, subscription_id: int, users: int, batch_size: int) -> None:
    services = await open_services(Config().with_database(path))
    try:
        elapsed = await _run_job(services, subscription_id, batch_size)
        job = await mfa_process.latest_job(services, subscription_id)
        assert job is not None
        print(
            f"MFA process: {users:,} users in {elapsed:.3f} s = {users / elapsed:,.0f} users/s"
            f" ({job.succeeded:,} succeeded, {job.failed:,} failed, batches of {batch_size})"
        )
        await mfa_process.disable(services, subscription_id)
        tracemalloc.start()
        await _run_job(services, subscription_id, batch_size)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"peak Python memory allocated during the job: {peak / 1024:,.0f} KiB (tracemalloc)")
    finally:
        await services.close()


def measure_plain_update(path: Path, subscription_id: int) -> None:
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("UPDATE users SET mfa_required = 0")
        ids = [row[0] for row in conn.execute("SELECT id FROM users ORDER BY id")]
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE users SET mfa_required = 1 WHERE subscription_id = ?"
            " AND status = 'active' AND email_deliverable = 1",
            (subscription_id,),
        )
        conn.execute("COMMIT")
        single = time.perf_counter() - started
        conn.execute("UPDATE users SET mfa_required = 0")
        started = time.perf_counter()
        for start in range(0, len(ids), 500):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "UPDATE users SET mfa_required = 1 WHERE id BETWEEN ? AND ?"
                " AND status = 'active' AND email_deliverable = 1",
                (ids[start], ids[min(start + 499, len(ids) - 1)]),
            )
            conn.execute("COMMIT")
        batched = time.perf_counter() - started
    print(f"plain bulk UPDATE, one transaction: {single:.3f} s")
    print(f"plain bulk UPDATE, committed batches of 500: {batched:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=mfa_process.BATCH_SIZE)
    parser.add_argument("--db", type=Path, help="where to build the database (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.db or Path(scratch) / "bench.db"
        if path.exists():
            raise SystemExit(f"{path} exists; give a new file")
        started = time.perf_counter()
        subscription_id = build_database(path, args.users)
        print(f"built {args.users:,} users in {time.perf_counter() - started:.1f} s ({path})")
        asyncio.run(measure_job(path, subscription_id, args.users, args.batch_size))
        measure_plain_update(path, subscription_id)
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"peak resident memory of the whole benchmark process: {peak_rss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()

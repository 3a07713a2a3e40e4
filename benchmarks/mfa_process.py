"""Time the MFA process against the floor of committed batches, and measure what it stores.

For each size (default 100,000 and 1,000,000 users) a database is built once (3 % of addresses
can't receive codes, 1 % of accounts disabled) and checkpointed; then, for ``--rounds`` rounds,
alternately:

- the floor: on a fresh copy of that file, a plain SQL ``UPDATE`` of the same users in committed
  batches of 500 (``BEGIN IMMEDIATE`` ... ``COMMIT``, ``synchronous = FULL``, WAL), as the least a
  resumable job that commits as it goes could cost;
- the job: on another fresh copy, the MFA process (begin + follow, as the screen and
  ``mfa-tui admin mfa enable`` do).

The floor and the job alternate, each on a clean copy, so neither runs on the other's WAL or on a
warmer cache. The medians and their ratio are printed (the budget is 2x), then the peak of Python
memory the job allocated (``tracemalloc``, in a separate run: it should not grow with the users).

Last, the size of the database file after ``--size-runs`` runs (enable, then disable) over
``--size-users`` users (default ten runs over 300,000), against its size before.

    .venv/bin/python benchmarks/mfa_process.py [--users 100000,1000000] [--rounds 3]
        [--size-users 300000] [--size-runs 10] [--dir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from mfa import mfa_process
from mfa.config import Config
from mfa.services import open_services

UNDELIVERABLE_EVERY = 33
DISABLED_EVERY = 100
FLOOR_BATCH = 500
BUDGET = 2.0


def build_database(path: Path, users: int) -> int:
    """Create the schema and a subscription of ``users`` users; returns the subscription id."""
    asyncio.run(_migrate(path))
    with sqlite3.connect(path) as conn:
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
                    None if n % UNDELIVERABLE_EVERY else "email address has no domain",
                    f"User {n}",
                    "disabled" if n % DISABLED_EVERY == 0 else "active",
                )
                for n in range(1, users + 1)
            ),
        )
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return subscription_id


async def _migrate(path: Path) -> None:
    services = await open_services(Config().with_database(path))
    await services.close()


def fresh_copy(source: Path, scratch: Path, name: str) -> Path:
    target = scratch / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def floor_seconds(path: Path, subscription_id: int) -> float:
    """The same users' flags set by plain SQL in committed batches of 500, on ``path``."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        ids = [row[0] for row in conn.execute("SELECT id FROM users ORDER BY id")]
        started = time.perf_counter()
        for start in range(0, len(ids), FLOOR_BATCH):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "UPDATE users SET mfa_required = 1 WHERE subscription_id = ? AND id BETWEEN ? AND ?"
                " AND status = 'active' AND email_deliverable = 1",
                (subscription_id, ids[start], ids[min(start + FLOOR_BATCH - 1, len(ids) - 1)]),
            )
            conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


async def _job(path: Path, subscription_id: int, *, traced: bool = False) -> tuple[float, int]:
    services = await open_services(Config().with_database(path))
    try:
        if traced:
            tracemalloc.start()
        started = time.perf_counter()
        job, _ = await mfa_process.begin(services, subscription_id)
        final = await mfa_process.follow(services, job.job_id)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if traced else 0
        if traced:
            tracemalloc.stop()
        assert final.processed == final.total
        return elapsed, peak
    finally:
        await services.close()


def job_seconds(path: Path, subscription_id: int) -> float:
    return asyncio.run(_job(path, subscription_id))[0]


def measure_size(users: int, scratch: Path, rounds: int) -> None:
    source = scratch / f"built-{users}.db"
    started = time.perf_counter()
    subscription_id = build_database(source, users)
    print(f"{users:,} users: built in {time.perf_counter() - started:.1f} s")
    floors, jobs = [], []
    for _ in range(rounds):
        floors.append(floor_seconds(fresh_copy(source, scratch, "run.db"), subscription_id))
        jobs.append(job_seconds(fresh_copy(source, scratch, "run.db"), subscription_id))
    floor, job = statistics.median(floors), statistics.median(jobs)
    ratio = job / floor
    print(f"  floor (committed batches of {FLOOR_BATCH}): {_seconds(floors)}, median {floor:.3f} s")
    print(f"  MFA process: {_seconds(jobs)}, median {job:.3f} s = {users / job:,.0f} users/s")
    verdict = "within" if ratio <= BUDGET else "OVER"
    print(f"  ratio to the floor: {ratio:.2f}x ({verdict} the {BUDGET:g}x budget)")
    _, peak = asyncio.run(_job(fresh_copy(source, scratch, "run.db"), subscription_id, traced=True))
    print(f"  peak Python memory allocated by the job: {peak / 1024:,.0f} KiB (tracemalloc)")
    for path in scratch.glob("*.db*"):
        path.unlink()


async def _runs(path: Path, subscription_id: int, runs: int) -> None:
    services = await open_services(Config().with_database(path))
    try:
        for _ in range(runs):
            job, _ = await mfa_process.begin(services, subscription_id)
            await mfa_process.follow(services, job.job_id)
            await mfa_process.disable(services, subscription_id)
    finally:
        await services.close()


def _file_size(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def measure_growth(users: int, runs: int, scratch: Path) -> None:
    path = scratch / "growth.db"
    subscription_id = build_database(path, users)
    before = _file_size(path)
    asyncio.run(_runs(path, subscription_id, runs))
    after = _file_size(path)
    with sqlite3.connect(path) as conn:
        failures = conn.execute("SELECT count(*) FROM mfa_job_failures").fetchone()[0]
    print(
        f"database after {runs} runs over {users:,} users: {after / 2**20:.1f} MiB"
        f" (before: {before / 2**20:.1f} MiB; {failures:,} failure rows kept)"
    )


def _seconds(values: list[float]) -> str:
    return ", ".join(f"{value:.3f}" for value in values) + " s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", default="100000,1000000", help="comma-separated sizes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size-users", type=int, default=300_000)
    parser.add_argument("--size-runs", type=int, default=10)
    parser.add_argument("--dir", type=Path, help="scratch directory (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as name:
        scratch = Path(name)
        for users in (int(text) for text in args.users.split(",") if text):
            measure_size(users, scratch, args.rounds)
        if args.size_runs:
            measure_growth(args.size_users, args.size_runs, scratch)


if __name__ == "__main__":
    main()

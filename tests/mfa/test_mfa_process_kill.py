"""The MFA process survives real processes dying: SIGKILL at several points, a new process resumes,
and every user ends up processed exactly once. Two processes pressing Begin at once share one job.

These tests run the installed ``mfa-tui admin mfa ...`` in separate OS processes over a few thousand
users, with small batches so that a kill lands in the middle of the job.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mfa.config import Config
from mfa.services import open_services
from tests.mfa.job_helpers import (
    add_subscription_with_users_sync,
    assert_processed_exactly_once,
    audit_job,
)

EXE = shutil.which("mfa-tui", path=str(Path(sys.executable).parent)) or "mfa-tui"
USERS = 4_000
BATCH = "8"
PERCENT = re.compile(r"MFA settings processing: (\d+)%")


def _env() -> dict[str, str]:
    # The real password-hash settings (the configuration refuses weaker ones); no host config file.
    env = {**os.environ, "MFA_TUI_CONFIG": ""}
    return env


def _start(db: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [EXE, "--db", str(db), "admin", "mfa", *args, "--subscription", "Plant"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )


@pytest.fixture
def plant_db(tmp_path: Path) -> tuple[Path, int]:
    db = tmp_path / "kill.db"

    async def migrate() -> None:
        services = await open_services(Config().with_database(db))
        await services.close()

    asyncio.run(migrate())
    subscription_id = add_subscription_with_users_sync(
        db, "Plant", USERS, undeliverable_every=13, disabled_every=50
    )
    return db, subscription_id


def _kill_when_progress_reaches(process: subprocess.Popen[str], percent: int) -> int:
    """Read the progress lines until one shows ``percent`` or more, then SIGKILL the process."""
    assert process.stderr is not None
    for line in process.stderr:
        match = PERCENT.search(line)
        if match and int(match.group(1)) >= percent:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            return int(match.group(1))
    process.wait(timeout=30)
    raise AssertionError(f"the process ended (exit {process.returncode}) before {percent}%")


def _job_state(db: Path) -> tuple[int, str, int, int]:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT id, status, succeeded + failed, total FROM mfa_jobs").fetchone()
    return int(row[0]), str(row[1]), int(row[2]), int(row[3])


def test_sigkill_at_several_points_then_a_new_process_resumes_exactly_once(
    plant_db: tuple[Path, int],
) -> None:
    db, subscription_id = plant_db
    processed_at_kill = []
    # Kill the process that started the job, then two that resumed it (`status` and `enable`
    # both resume an interrupted job), each at a later point.
    for command, percent in (("enable", 10), ("status", 40), ("enable", 70)):
        process = _start(db, command, "--batch-size", BATCH)
        _kill_when_progress_reaches(process, percent)
        assert process.returncode == -signal.SIGKILL
        job_id, status, processed, total = _job_state(db)
        assert status == "running" and total == USERS
        assert processed >= total * percent // 100 and processed < total
        processed_at_kill.append(processed)
    assert processed_at_kill == sorted(processed_at_kill)

    # One more kill at an arbitrary moment, whatever the process is doing (maybe mid-transaction).
    process = _start(db, "status", "--batch-size", BATCH)
    time.sleep(0.6)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    finished = subprocess.run(
        [EXE, "--db", str(db), "admin", "mfa", "status", "--subscription", "Plant"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM mfa_jobs").fetchone()[0] == 1
        state = audit_job(conn, subscription_id, job_id)
        resumed = conn.execute(
            "SELECT count(*) FROM audit_events WHERE event = 'mfa.process_resumed'"
        ).fetchone()[0]
    assert_processed_exactly_once(state)
    assert resumed >= 3
    assert finished.returncode == 1, finished.stderr
    summary = f"MFA settings complete: {state.items_succeeded:,} succeeded, {state.items_failed:,} failed."
    assert summary in finished.stdout


def test_two_processes_pressing_begin_at_once_share_one_job(
    plant_db: tuple[Path, int],
) -> None:
    db, subscription_id = plant_db
    first = _start(db, "enable", "--batch-size", BATCH)
    second = _start(db, "enable", "--batch-size", BATCH)
    outputs = [process.communicate(timeout=120) for process in (first, second)]
    with sqlite3.connect(db) as conn:
        jobs = conn.execute("SELECT id FROM mfa_jobs").fetchall()
        assert len(jobs) == 1
        state = audit_job(conn, subscription_id, jobs[0][0])
    assert_processed_exactly_once(state)
    summary = f"MFA settings complete: {state.items_succeeded:,} succeeded, {state.items_failed:,} failed."
    for process, (stdout, _) in zip((first, second), outputs, strict=True):
        assert process.returncode == 1
        assert summary in stdout
    stderrs = [stderr for _, stderr in outputs]
    assert sum("Started the MFA process" in text for text in stderrs) == 1
    assert sum("is already running" in text for text in stderrs) == 1

"""The installed ``mfa-tui admin mfa ...`` commands on the demo data: headless (no TTY) and on a
real pseudo-terminal (the progress bar, the confirmation before turning MFA off)."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from admin_cli.output import ProgressPrinter
from mfa import demo
from mfa.config import Config
from mfa.mfa_process import JobProgress
from mfa.services import open_services
from tests.conftest import FAST_SECURITY

EXE = shutil.which("mfa-tui", path=str(Path(sys.executable).parent)) or "mfa-tui"
FAILED_ADDRESSES = ["dock@warehouse", "locker-bay@kiosk3", "ops@plant7"]


def _env() -> dict[str, str]:
    # The real password-hash settings (the configuration refuses weaker ones); no host config file.
    env = {**os.environ, "MFA_TUI_CONFIG": ""}
    return env


def run(db: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, "--db", str(db), "admin", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
    )


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    db = tmp_path / "demo.db"

    async def seed() -> None:
        services = await open_services(Config(security=FAST_SECURITY).with_database(db))
        try:
            await demo.seed(services)
        finally:
            await services.close()

    asyncio.run(seed())
    return db


def test_enable_reports_the_failed_users_and_exits_1(demo_db: Path) -> None:
    result = run(demo_db, "mfa", "enable", "--subscription", demo.SUBSCRIPTION)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "MFA settings complete: 22 succeeded, 3 failed."
    failed = [line.strip() for line in lines[2:]]
    assert [line.split(" ")[0] for line in failed] == FAILED_ADDRESSES
    assert all(line.endswith(": email address has no domain") for line in failed)
    assert "(Plant 7 Operations)" in failed[2]
    progress = [line for line in result.stderr.splitlines() if "processing" in line]
    assert progress[-1] == "MFA settings processing: 100%, 25/25 users (22 succeeded, 3 failed)"
    assert "\r" not in result.stderr, "no bar without a terminal"


def test_fix_retry_status_and_disable(demo_db: Path) -> None:
    assert run(demo_db, "mfa", "enable").returncode == 1
    status = run(demo_db, "mfa", "status")
    assert status.returncode == 1
    assert status.stdout.splitlines()[:2] == [
        "MFA is ON for Acme Logistics.",
        "MFA settings complete: 22 succeeded, 3 failed.",
    ]

    for address in FAILED_ADDRESSES[:2]:
        fixed = run(demo_db, "users", "set-email", address, f"{address}.example.com")
        assert fixed.returncode == 0, fixed.stderr
    retried = run(demo_db, "mfa", "retry")
    assert retried.returncode == 1
    assert retried.stdout.splitlines()[0] == "MFA settings complete: 24 succeeded, 1 failed."
    assert "Retrying the MFA process for the 3 users of Acme Logistics that failed." in (
        retried.stderr
    )

    assert (
        run(demo_db, "users", "set-email", "ops@plant7", "ops@plant7.example.com").returncode == 0
    )
    clean = run(demo_db, "mfa", "retry")
    assert clean.returncode == 0
    assert clean.stdout.strip() == "MFA settings complete: 25 succeeded, 0 failed."
    nothing = run(demo_db, "mfa", "retry")
    assert nothing.returncode == 0
    assert "Nothing to retry" in nothing.stdout

    refused = run(demo_db, "mfa", "disable")
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    off = run(demo_db, "mfa", "disable", "--yes")
    assert off.returncode == 0, off.stderr
    assert "MFA is OFF for Acme Logistics: 25 users" in off.stdout
    assert run(demo_db, "mfa", "status").stdout.strip() == "MFA is OFF for Acme Logistics."
    listed = run(demo_db, "users", "list").stdout.splitlines()[1:]
    assert all(line.split("\t")[4] == "no" for line in listed), "nobody is required any more"


def test_retry_while_mfa_is_off_is_refused(demo_db: Path) -> None:
    result = run(demo_db, "mfa", "retry")
    assert result.returncode == 1
    assert "MFA is OFF for this subscription" in result.stderr


def test_an_unknown_subscription_is_named(demo_db: Path) -> None:
    result = run(demo_db, "mfa", "enable", "--subscription", "Nope")
    assert result.returncode == 1
    assert "There is no subscription called 'Nope'" in result.stderr


def test_on_a_terminal_a_bar_is_drawn_and_disable_asks_first(demo_db: Path) -> None:
    def spawn(*args: str) -> pexpect.spawn:
        return pexpect.spawn(
            EXE, ["--db", str(demo_db), "admin", "mfa", *args],
            env=_env(), encoding="utf-8", timeout=30, dimensions=(24, 80),
        )  # fmt: skip

    enable = spawn("enable")
    enable.expect(
        r"MFA settings processing \[#+\] 100%  25/25 users \(22 succeeded, 3 failed\)\r?\n"
    )
    enable.expect("MFA settings complete: 22 succeeded, 3 failed.")
    enable.expect(pexpect.EOF)
    enable.close()
    assert enable.exitstatus == 1

    keep = spawn("disable")
    keep.expect(r"Turn MFA off for Acme Logistics\?.*\[y/N\] ")
    keep.sendline("n")
    keep.expect("MFA left as it was.")
    keep.expect(pexpect.EOF)
    keep.close()
    assert keep.exitstatus == 1
    assert run(demo_db, "mfa", "status").stdout.startswith("MFA is ON")

    off = spawn("disable")
    off.expect(r"\[y/N\] ")
    off.sendline("y")
    off.expect("MFA is OFF for Acme Logistics")
    off.expect(pexpect.EOF)
    off.close()
    assert off.exitstatus == 0


def test_plain_progress_lines_come_every_ten_percent() -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream)
    for processed in range(0, 1_001, 5):
        status = "complete" if processed == 1_000 else "running"
        printer(JobProgress(1, status, 1_000, processed, processed, 0))
    lines = stream.getvalue().splitlines()
    assert [line.split(":")[1].split(",")[0].strip() for line in lines] == [
        f"{percent}%" for percent in range(0, 101, 10)
    ]


def test_methods_shows_and_sets_the_methods_users_may_use(demo_db: Path) -> None:
    shown = run(demo_db, "mfa", "methods")
    assert shown.returncode == 0, shown.stderr
    assert "email,sms,totp" in shown.stdout  # the demo allows all three

    changed = run(demo_db, "mfa", "methods", "email,totp")
    assert changed.returncode == 0, changed.stderr
    assert "email,totp (Email, Authenticator app)" in changed.stdout
    assert "email,totp" in run(demo_db, "mfa", "methods").stdout

    for bad, says in (("fax", "Unknown method 'fax'"), (",", "at least one")):
        refused = run(demo_db, "mfa", "methods", bad)
        assert refused.returncode == 1
        assert says in refused.stderr
    assert "email,totp" in run(demo_db, "mfa", "methods").stdout  # unchanged by the refusals

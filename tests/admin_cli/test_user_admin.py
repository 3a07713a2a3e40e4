"""``mfa-tui admin users show|unlock|reset-mfa|disable|enable`` and ``mfa-tui admin audit``,
run headless against a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from mfa.config import Config
from mfa.services import open_services
from mfa.signin import INCORRECT, sign_in
from tests.admin_cli.test_users import run

PASSWORD = "kims own sturdy secret"


@pytest.fixture
def with_kim(tmp_path: Path) -> Path:
    db = tmp_path / "cli.db"
    made = run(
        db, "init", "--subscription", "Acme", "--email", "boss@example.com",
        stdin="a sturdy admin passphrase\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    added = run(db, "users", "add", "kim@example.com", "--name", "Kim", stdin=PASSWORD)
    assert added.returncode == 0, added.stderr
    # A name with an escape sequence, as an older version could have stored it.
    sql(db, "UPDATE users SET display_name = ? WHERE email = 'kim@example.com'", "Kim \x1b[31mRed")
    return db


def sql(db: Path, statement: str, *params: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(statement, params).fetchall()


def try_sign_in(db: Path, email: str, password: str) -> str:
    async def attempt() -> str:
        services = await open_services(Config().with_database(db))
        try:
            return (await sign_in(services, email, password)).outcome.value
        finally:
            await services.close()

    return asyncio.run(attempt())


def test_show_prints_the_state_with_control_characters_made_visible(with_kim: Path) -> None:
    shown = run(with_kim, "users", "show", "kim@example.com")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "email: kim@example.com",
        "name: Kim ^[[31mRed",
        "role: user",
        "status: active",
        "mfa: not required: not set up yet",
        "recovery codes left: 0",
        "locked: no",
    ]
    missing = run(with_kim, "users", "show", "nobody@example.com")
    assert missing.returncode == 1
    assert "There is no account with the address nobody@example.com." in missing.stderr


def test_a_locked_user_is_unlocked_and_signs_in(with_kim: Path) -> None:
    sql(with_kim, "UPDATE users SET failed_attempts = 100 WHERE email = 'kim@example.com'")
    assert try_sign_in(with_kim, "kim@example.com", PASSWORD) == "rejected"
    shown = run(with_kim, "users", "show", "kim@example.com")
    assert "locked: locked after 100 failures (unlock with 'users unlock')" in shown.stdout
    unlocked = run(with_kim, "users", "unlock", "kim@example.com")
    assert unlocked.returncode == 0 and unlocked.stdout == "Unlocked kim@example.com.\n"
    assert try_sign_in(with_kim, "kim@example.com", PASSWORD) == "signed in"


def test_set_password_also_unlocks(with_kim: Path) -> None:
    sql(with_kim, "UPDATE users SET failed_attempts = 100 WHERE email = 'kim@example.com'")
    done = run(with_kim, "users", "set-password", "kim@example.com", stdin="a brand new secret\n")
    assert done.returncode == 0, done.stderr
    assert try_sign_in(with_kim, "kim@example.com", "a brand new secret") == "signed in"


def test_disable_enable_and_the_last_admin(with_kim: Path) -> None:
    disabled = run(with_kim, "users", "disable", "kim@example.com")
    assert disabled.returncode == 0 and "Disabled kim@example.com." in disabled.stdout
    assert try_sign_in(with_kim, "kim@example.com", PASSWORD) == "rejected"
    assert sql(
        with_kim, "SELECT detail FROM audit_events WHERE event = 'signin.failed' ORDER BY id DESC"
    )[0] == ("account disabled",)
    assert INCORRECT  # the same message as for everyone (mfa.signin)
    assert run(with_kim, "users", "enable", "kim@example.com").returncode == 0
    assert try_sign_in(with_kim, "kim@example.com", PASSWORD) == "signed in"
    last = run(with_kim, "users", "disable", "boss@example.com")
    assert last.returncode == 1 and "last active administrator" in last.stderr


def test_reset_mfa_removes_methods_and_codes(with_kim: Path) -> None:
    sql(with_kim, "UPDATE subscriptions SET mfa_enabled = 1")
    sql(with_kim, "UPDATE users SET mfa_required = 1")
    kim = sql(with_kim, "SELECT id FROM users WHERE email = 'kim@example.com'")[0][0]
    sql(
        with_kim,
        "INSERT INTO mfa_methods (user_id, kind, destination, secret, verified_at, created_at)"
        " VALUES (?, 'sms', '+14155550100', x'00', 1, 1)",
        kim,
    )
    sql(with_kim, "INSERT INTO recovery_codes (user_id, hash) VALUES (?, 'h')", kim)
    assert "mfa: required: SMS" in run(with_kim, "users", "show", "kim@example.com").stdout
    assert try_sign_in(with_kim, "kim@example.com", PASSWORD) == "needs MFA verification"
    reset = run(with_kim, "users", "reset-mfa", "kim@example.com")
    assert reset.returncode == 0, reset.stderr
    assert reset.stdout == (
        "Reset MFA for kim@example.com: the user sets up MFA again at the next sign-in.\n"
    )
    assert sql(with_kim, "SELECT count(*) FROM mfa_methods") == [(0,)]
    assert sql(with_kim, "SELECT count(*) FROM recovery_codes") == [(0,)]
    assert try_sign_in(with_kim, "kim@example.com", PASSWORD) == "needs MFA setup"


def test_audit_lists_newest_first_with_filters_as_table_and_json(with_kim: Path) -> None:
    run(with_kim, "users", "unlock", "kim@example.com")
    # Older than every other event, but within the retention period (a year).
    sql(
        with_kim,
        "INSERT INTO audit_events (at, event, detail)"
        " VALUES (unixepoch() - 864000, 'signin.failed', 'old \x1b[2J')",
    )
    table = run(with_kim, "audit")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "time (UTC)\tevent\tactor\tsubject\tdetail"
    assert lines[1].split("\t")[1:4] == ["admin.user_unlocked", "system", "kim@example.com"]
    assert lines[-1].endswith("\tsignin.failed\tsystem\tsystem\told ^[[2J")

    kim = run(with_kim, "audit", "--user", "kim@example.com", "--format", "json")
    events = [json.loads(line) for line in kim.stdout.splitlines()]
    assert [e["event"] for e in events] == ["admin.user_unlocked", "user.added"]
    assert all(e["subject"] == "kim@example.com" for e in events)

    signins = run(with_kim, "audit", "--kind", "signin", "--format", "json")
    assert [json.loads(line)["detail"] for line in signins.stdout.splitlines()] == ["old \x1b[2J"]
    recent = run(with_kim, "audit", "--since", "2100-01-01")
    assert recent.stdout.splitlines()[1:] == []
    bad = run(with_kim, "audit", "--since", "yesterday")
    assert bad.returncode == 1 and "isn't a date" in bad.stderr


def test_old_events_are_pruned_when_an_admin_command_runs(with_kim: Path, tmp_path: Path) -> None:
    sql(with_kim, "INSERT INTO audit_events (at, event) VALUES (1, 'signin.failed')")
    config = tmp_path / "c.toml"
    config.write_text("[audit]\nretention_days = 30\n")
    import os
    import subprocess

    from tests.admin_cli.test_users import EXE

    listed = subprocess.run(
        [EXE, "--config", str(config), "--db", str(with_kim), "admin", "audit", "--kind", "audit"],
        capture_output=True, text=True, env={**os.environ, "MFA_TUI_CONFIG": ""}, timeout=60,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert "1 event older than 30 days" in listed.stdout
    assert sql(with_kim, "SELECT count(*) FROM audit_events WHERE at = 1") == [(0,)]

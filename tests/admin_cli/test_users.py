"""The installed ``mfa-tui admin`` commands, run headless: no TTY, password on stdin."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

EXE = shutil.which("mfa-tui", path=str(Path(sys.executable).parent)) or "mfa-tui"


def run(db: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    # The real password-hash settings (the configuration refuses weaker ones); no host config file.
    env = {**os.environ, "MFA_TUI_CONFIG": ""}
    return subprocess.run(
        [EXE, "--db", str(db), "admin", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture
def initialised(tmp_path: Path) -> Path:
    db = tmp_path / "cli.db"
    result = run(
        db, "init", "--subscription", "Acme", "--email", "boss@example.com",
        "--product", "PitneyShip Pro", stdin="a sturdy admin passphrase\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Created subscription Acme with admin boss@example.com." in result.stdout
    return db


def test_add_and_list_users_without_a_terminal(initialised: Path) -> None:
    added = run(
        initialised, "users", "add", "kim@example.com", "--name", "Kim", stdin="kims own secret\n"
    )
    assert added.returncode == 0, added.stderr
    listed = run(initialised, "users", "list")
    lines = listed.stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["email", "name", "role"]
    assert [line.split("\t")[0] for line in lines[1:]] == ["boss@example.com", "kim@example.com"]


def test_the_password_is_never_taken_from_argv(initialised: Path) -> None:
    result = run(initialised, "users", "add", "x@example.com", "--name", "X", "--password", "p")
    assert result.returncode == 2
    assert "unrecognized arguments: --password" in result.stderr


def test_a_weak_password_on_stdin_is_refused_with_the_reason(initialised: Path) -> None:
    result = run(initialised, "users", "add", "x@example.com", "--name", "X", stdin="qwerty\n")
    assert result.returncode == 1
    assert "at least 8 characters" in result.stderr


def test_import_reports_bad_rows_by_line_and_exits_non_zero(
    initialised: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("email,name,role\nok@example.com,Ok,user\nnope@example.com,Nope,king\n")
    result = run(initialised, "users", "import", str(bad))
    assert result.returncode == 1
    assert "line 3: unknown role 'king'" in result.stderr
    assert "Nothing imported" in result.stderr
    good = tmp_path / "good.csv"
    good.write_text("email,name,role\nok@example.com,Ok,user\nops@plant7,Ops,user\n")
    result = run(initialised, "users", "import", str(good))
    assert result.returncode == 0, result.stderr
    assert "Imported 2 user(s)" in result.stdout
    assert "warning" in result.stderr and "ops@plant7" in result.stderr


def test_a_bad_config_file_is_reported_with_its_key(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[email]\nport = 'smtp'\n")
    result = subprocess.run(
        [EXE, "--config", str(config), "admin", "users", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "email.port must be a whole number" in result.stderr


HOLD_WRITE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE users SET display_name = 'held'")
print("holding", flush=True)
time.sleep(60)
"""


def test_listing_works_at_once_while_another_process_holds_the_write_lock(
    initialised: Path,
) -> None:
    import time

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(initialised)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        listed = run(initialised, "users", "list")
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert listed.returncode == 0, listed.stderr
    assert "boss@example.com" in listed.stdout
    assert elapsed < 10  # no 5 s busy wait: before, it waited ~50 s for the lock and failed


def test_a_refused_init_creates_nothing_and_can_be_run_again(tmp_path: Path) -> None:
    db = tmp_path / "init.db"
    init = ("init", "--subscription", "Acme", "--email", "admin@example.com")
    refused = run(db, *init, stdin="admin\n")
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM subscriptions").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    bad_address = run(db, *init[:3], "--email", "not an address", stdin="a sturdy passphrase\n")
    assert bad_address.returncode == 1
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM subscriptions").fetchone()[0] == 0
    again = run(db, *init, stdin="correct horse battery staple\n")
    assert again.returncode == 0, again.stderr
    assert "Created subscription Acme with admin admin@example.com." in again.stdout


def run_bytes(
    db: Path, *args: bytes, stdin: bytes = b"", locale: str = "C.UTF-8"
) -> subprocess.CompletedProcess[bytes]:
    """Arguments and stdin as raw bytes, as a terminal in another encoding would pass them."""
    env = {**os.environ, "MFA_TUI_CONFIG": "", "LC_ALL": locale, "PYTHONIOENCODING": ""}
    return subprocess.run(
        [EXE.encode(), b"--db", str(db).encode(), b"admin", *args],
        input=stdin, capture_output=True, env=env, timeout=60,
    )  # fmt: skip


def test_admin_init_refuses_a_control_character_before_creating_anything(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    refused = run(
        db, "init", "--subscription", "Acme", "--email", "boss@example.com",
        "--name", "Boss\x1b]0;owned\x07", stdin="a sturdy admin passphrase\n",
    )  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "\x1b" not in refused.stderr
    assert "U+001B" in refused.stderr
    again = run(
        db, "init", "--subscription", "Acme", "--email", "boss@example.com",
        stdin="a sturdy admin passphrase\n",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr


def test_set_email_refuses_a_nul_and_names_it(initialised: Path) -> None:
    result = run(initialised, "users", "set-email", "boss@example.com", "boss\x01@example.com")
    assert result.returncode == 1
    assert "U+0001" in result.stderr and "\x01" not in result.stderr
    listed = run(initialised, "users", "list")
    assert "boss@example.com" in listed.stdout


def test_undecodable_bytes_in_arguments_and_stdin_get_one_line(initialised: Path) -> None:
    for args in (
        (b"users", b"add", b"k\xe4@example.com", b"--name", b"K", b"--no-password"),
        (b"users", b"add", b"k@example.com", b"--name", b"K\xe4", b"--no-password"),
        (b"users", b"set-email", b"boss@example.com", b"b\xe4@example.com"),
        (b"users", b"set-email", b"b\xe4ss@example.com", b"b@example.com"),
        (b"users", b"list", b"--subscription", b"Ac\xe4me"),
    ):
        result = run_bytes(initialised, *args)
        assert result.returncode == 1, result.stderr
        assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr
        assert b"can't be read" in result.stderr, result.stderr
    for locale in ("C.UTF-8", "C"):
        result = run_bytes(
            initialised,
            b"users",
            b"set-password",
            b"boss@example.com",
            stdin=b"pass\xe4word long\n",
            locale=locale,
        )
        assert result.returncode == 1, result.stderr
        assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr


def test_init_allows_every_method_including_the_authenticator_app(tmp_path: Path) -> None:
    db = tmp_path / "mfa.db"
    result = run(
        db, "init", "--subscription", "Acme", "--email", "admin@acme.com",
        stdin="a long and unusual passphrase\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    shown = run(db, "mfa", "methods")
    assert shown.returncode == 0, shown.stderr
    assert "app" in shown.stdout.lower() or "totp" in shown.stdout.lower()

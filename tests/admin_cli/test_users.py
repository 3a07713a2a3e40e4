"""The installed ``mfa-tui admin`` commands, run headless: no TTY, password on stdin."""

from __future__ import annotations

import os
import shutil
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
    added = run(initialised, "users", "add", "kim@example.com", "--name", "Kim", stdin="kims own secret\n")
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


def test_import_reports_bad_rows_by_line_and_exits_non_zero(initialised: Path, tmp_path: Path) -> None:
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
        [EXE, "--config", str(config), "admin", "users", "list"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "email.port must be a whole number" in result.stderr

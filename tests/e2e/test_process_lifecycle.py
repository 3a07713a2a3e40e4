"""The installed ``mfa-tui`` as a process: no terminal, a remote command, a hang-up, a closed
terminal, and kiosk mode, where the end of the session ends the program (and the SSH session)."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.terminal import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    EXE,
    UNSET,
    Terminal,
    demo_database,
    demo_env,
    sign_in,
    start_demo,
)

pytestmark = pytest.mark.e2e

REFUSAL_SECONDS = 3.0
"""Generous for a loaded machine: the refusal itself takes about 0.2 s (interpreter start-up)."""


def run_without_terminal(
    tmp_path: Path, *args: str, stdin: int = subprocess.DEVNULL, **env: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    environ = {name: value for name, value in os.environ.items() if name not in UNSET}
    environ.update(demo_env(tmp_path, **env))
    started = time.monotonic()
    result = subprocess.run(
        [EXE, "--db", str(tmp_path / "mfa.db"), *args],
        stdin=stdin,
        capture_output=True,
        text=True,
        env=environ,
        timeout=30,
    )
    return result, time.monotonic() - started


@pytest.mark.parametrize(
    "args",
    [
        pytest.param((), id="mfa-tui"),
        pytest.param(("--demo",), id="mfa-tui --demo"),
        pytest.param(("gate", "--", "true"), id="gate"),
    ],
)
@pytest.mark.parametrize(
    "stdin",
    [pytest.param(subprocess.DEVNULL, id="dev-null"), pytest.param(subprocess.PIPE, id="pipe")],
)
def test_without_a_terminal_the_ui_refuses_at_once_with_one_line(
    tmp_path: Path, args: tuple[str, ...], stdin: int
) -> None:
    result, seconds = run_without_terminal(tmp_path, *args, stdin=stdin)
    assert result.returncode == 2
    assert result.stdout == ""  # no escape codes written into the pipe
    assert result.stderr.count("\n") == 1 and "no terminal" in result.stderr
    assert seconds < REFUSAL_SECONDS
    assert not (tmp_path / "mfa.db").exists()  # not even the database was opened


@pytest.mark.parametrize("args", [(), ("gate", "--", "true")], ids=["mfa-tui", "gate"])
def test_a_remote_command_is_refused_with_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    result, _ = run_without_terminal(tmp_path, *args, SSH_ORIGINAL_COMMAND="scp -f /etc/passwd")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "runs no remote commands" in result.stderr


def test_a_setting_lets_a_remote_command_through_to_the_terminal_check(tmp_path: Path) -> None:
    result, _ = run_without_terminal(
        tmp_path,
        "gate",
        "--",
        "true",
        SSH_ORIGINAL_COMMAND="lmm --report",
        MFA_TUI__SESSION__ALLOW_REMOTE_COMMAND="true",
    )
    assert result.returncode == 2
    assert "no terminal" in result.stderr


# ---------------------------------------------------------------------------------- hang-up


def seconds_until_gone(terminal: Terminal, limit: float = 5.0) -> float:
    started = time.monotonic()
    while terminal.child.isalive() and time.monotonic() - started < limit:
        time.sleep(0.01)
    return time.monotonic() - started


def session_ends(database: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        rows = connection.execute(
            "SELECT detail FROM audit_events WHERE event = 'session.ended' ORDER BY id"
        ).fetchall()
    return [detail for (detail,) in rows]


def test_a_hang_up_ends_the_program_within_a_second(tmp_path: Path) -> None:
    terminal = start_demo(tmp_path)
    sign_in(terminal, ADMIN_EMAIL, ADMIN_PASSWORD)
    terminal.child.kill(signal.SIGHUP)
    gone_after = seconds_until_gone(terminal)
    terminal.child.close()
    assert gone_after < 1.0
    assert terminal.child.exitstatus == 128 + signal.SIGHUP
    assert session_ends(demo_database(tmp_path)) == ["hang-up"]


def test_a_closed_terminal_ends_the_program_within_a_second(tmp_path: Path) -> None:
    terminal = start_demo(tmp_path)
    sign_in(terminal, ADMIN_EMAIL, ADMIN_PASSWORD)
    os.close(terminal.child.child_fd)  # the terminal emulator (or sshd) lets go of the pty
    gone_after = seconds_until_gone(terminal)
    assert gone_after < 1.0
    with contextlib.suppress(OSError):
        terminal.child.close()


# ---------------------------------------------------------------------------------- kiosk mode


def test_in_kiosk_mode_signing_out_ends_the_program(tmp_path: Path) -> None:
    terminal = start_demo(tmp_path, env=demo_env(tmp_path, MFA_TUI__SESSION__KIOSK="1"))
    sign_in(terminal, ADMIN_EMAIL, ADMIN_PASSWORD)
    terminal.child.send("o")  # (not press: the program may end before press's pause is over)
    gone_after = seconds_until_gone(terminal)
    terminal.child.close()
    assert gone_after < 5.0
    assert terminal.child.exitstatus == 0
    assert session_ends(demo_database(tmp_path)) == ["signed out"]

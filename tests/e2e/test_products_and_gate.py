"""The installed ``mfa-tui`` launching products in a real pty: from home (the app steps aside and
comes back), through ``mfa-tui gate -- COMMAND`` (exec only after MFA), and the demo's
stand-ins. Each launched program is a small script that records its environment and pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.e2e.terminal import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    EXE,
    UNSET,
    USER_EMAIL,
    USER_PASSWORD,
    Terminal,
    demo_database,
    demo_env,
    keep_recovery_codes,
    read_code,
    sign_in,
    start_demo,
)

pytestmark = pytest.mark.e2e

LOCKER = "Locker Management Module"
TECH_EMAIL = "kim.tech@example.com"
TECH_PASSWORD = "a sturdy kiosk passphrase"

RECORDER = """\
import json, os, sys
with open(sys.argv[1], "w") as out:
    json.dump({"pid": os.getpid(), "env": dict(os.environ)}, out)
sys.exit(int(sys.argv[2]))
"""


def inherited() -> dict[str, str]:
    """The environment the tests run in, less what would change how the app draws."""
    return {name: value for name, value in os.environ.items() if name not in UNSET}


def recorder(folder: Path) -> Path:
    """A script that writes its pid and environment to the file named first, then exits with the
    status named second."""
    script = folder / "record_env.py"
    script.write_text(RECORDER)
    return script


def recorded(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def audit_rows(database: Path, prefix: str) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        rows = connection.execute(
            "SELECT event, detail FROM audit_events WHERE event LIKE ? ORDER BY id", (prefix + "%",)
        ).fetchall()
    return [(event, detail) for event, detail in rows]


def turn_mfa_on_in(database: Path) -> None:
    """What the MFA process leaves behind: MFA on for the subscription, required of everyone."""
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("UPDATE subscriptions SET mfa_enabled = 1")
        connection.execute("UPDATE users SET mfa_required = 1")


def wait_for_exit(terminal: Terminal, timeout: float = 20.0) -> int | None:
    """Wait for the program to end on its own; its exit status."""
    terminal.child.expect(pexpect.EOF, timeout=timeout)
    terminal.child.close()
    return terminal.child.exitstatus


# ---------------------------------------------------------------------------------- from home


@pytest.fixture
def kiosk_host(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """A configured host (not the demo): a subscription whose Locker Management Module runs the
    recording script. Returns the environment to run mfa-tui in, the database and the record."""
    database = tmp_path / "kiosk.db"
    record = tmp_path / "locker.json"
    config = tmp_path / "config.toml"
    config.write_text(
        f"[database]\npath = {json.dumps(str(database))}\n"
        f'[products."{LOCKER}"]\n'
        f"command = {json.dumps([sys.executable, str(recorder(tmp_path)), str(record), '0'])}\n"
    )
    env = demo_env(tmp_path, MFA_TUI_CONFIG=str(config))
    created = subprocess.run(
        [EXE, "admin", "init", "--subscription", "Acme Kiosks", "--email", TECH_EMAIL,
         "--name", "Kim Tech", "--product", "PitneyShip Pro", "--product", LOCKER],
        input=TECH_PASSWORD + "\n", capture_output=True, text=True, timeout=60,
        env={**inherited(), **env},
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    return env, database, record


def test_a_product_runs_in_the_terminal_and_home_comes_back(
    kiosk_host: tuple[dict[str, str], Path, Path],
) -> None:
    env, database, record = kiosk_host
    terminal = Terminal(env=env)
    try:
        terminal.wait_for_all("Sign In", "Email address")
        home = sign_in(terminal, TECH_EMAIL, TECH_PASSWORD, then=f"1 {LOCKER}")
        assert "• PitneyShip Pro" in home  # no command: plain text
        terminal.press("1")
        terminal.wait_until(lambda _text: record.exists(), "the product writing its record")

        # mfa-tui is back and answers keys: Security settings, and Escape home again.
        terminal.press("s")
        terminal.wait_for("Change password")
        terminal.press("escape")
        terminal.wait_for(f"1 {LOCKER}")
    finally:
        status = terminal.close()
    assert status == 0  # quit while signed in

    seen = recorded(record)
    assert seen["pid"] != terminal.child.pid  # a child of mfa-tui, which went on running
    product_env = seen["env"]
    assert product_env["MFA_TUI_USER_EMAIL"] == TECH_EMAIL
    assert product_env["MFA_TUI_USER_NAME"] == "Kim Tech"
    assert product_env["MFA_TUI_USER_ROLE"] == "admin"
    assert product_env["MFA_TUI_SUBSCRIPTION"] == "Acme Kiosks"
    assert product_env["MFA_TUI_PRODUCT"] == LOCKER
    assert re.fullmatch("[0-9a-f]{16}", product_env["MFA_TUI_SESSION_ID"])
    assert "MFA_TUI_CONFIG" not in product_env  # mfa-tui's own settings stay with it
    assert product_env["TERM"] == "xterm-256color"  # the terminal is the product's now

    session = product_env["MFA_TUI_SESSION_ID"]
    assert audit_rows(database, "product.") == [
        (
            "product.launched",
            f"{LOCKER} (session {session}): {sys.executable} {recorder_path(record)} {record} 0",
        ),
        ("product.exited", f"{LOCKER} (session {session}): exit status 0"),
    ]


def recorder_path(record: Path) -> Path:
    return record.parent / "record_env.py"


def test_the_demo_products_are_stand_ins_that_show_who_launched_them(tmp_path: Path) -> None:
    terminal = start_demo(tmp_path)
    try:
        sign_in(terminal, ADMIN_EMAIL, ADMIN_PASSWORD, then=f"4 {LOCKER}")
        terminal.press("4")
        page = terminal.wait_for("Press any key to go back to mfa-tui.")
        assert f"{LOCKER} (demo stand-in)" in page
        assert ADMIN_EMAIL in page and "Avery Admin" in page and "Acme Logistics" in page
        terminal.press("x")
        terminal.wait_for_gone("demo stand-in")
        terminal.wait_for_all("Signed in as", f"4 {LOCKER}")
    finally:
        status = terminal.close()
    assert status == 0
    launched = audit_rows(demo_database(tmp_path), "product.")
    assert [event for event, _ in launched] == ["product.launched", "product.exited"]


# ---------------------------------------------------------------------------------- the gate


def gate(folder: Path, *command: str, reset: bool = False) -> Terminal:
    """``mfa-tui --demo gate -- COMMAND`` on the demo database in ``folder``."""
    args = ["--demo", "--db", str(folder / "mfa.db"), "gate", "--", *command]
    if reset:
        args.insert(1, "--reset")
    terminal = Terminal(*args, env=demo_env(folder))
    terminal.wait_for_all("Sign In", "Email address")
    return terminal


def test_the_gate_execs_its_command_only_after_mfa(tmp_path: Path) -> None:
    # The demo database, with MFA on for everyone; Ctrl+Q before signing in exits 1.
    first = start_demo(tmp_path)
    assert first.close() == 1
    turn_mfa_on_in(demo_database(tmp_path))

    record = tmp_path / "gate.json"
    terminal = gate(tmp_path, sys.executable, str(recorder(tmp_path)), str(record), "7")
    codes: set[str] = set()
    sign_in(terminal, USER_EMAIL, USER_PASSWORD, then="Select the Setup button")
    assert not record.exists()
    terminal.press("enter")  # the Email card's Setup
    terminal.wait_for("Send me the code")
    terminal.press("enter")
    terminal.wait_for("We sent a code to")
    terminal.type(read_code(terminal, USER_EMAIL, not_one_of=codes))
    terminal.press("enter")  # Verify
    keep_recovery_codes(terminal)  # the first method brings recovery codes
    terminal.wait_for("Multi-factor authentication is set up.")
    assert not record.exists()  # still nothing launched
    terminal.press("enter")  # Continue: the sign-in is complete

    assert wait_for_exit(terminal) == 7  # the command's own status: mfa-tui became it
    seen = recorded(record)
    assert seen["pid"] == terminal.child.pid  # exec, not a child
    assert seen["env"]["MFA_TUI_USER_EMAIL"] == USER_EMAIL
    assert seen["env"]["MFA_TUI_MFA"] == "verified"
    assert "MFA_TUI_PRODUCT" not in seen["env"]
    session = seen["env"]["MFA_TUI_SESSION_ID"]
    launched = audit_rows(demo_database(tmp_path), "product.")
    assert launched == [
        (
            "product.launched",
            f"gate (session {session}): {sys.executable} {recorder(tmp_path)} {record} 7",
        )
    ]
    assert (
        "session.started",
        f"session {session} with MFA",
    ) in audit_rows(demo_database(tmp_path), "session.")


def test_quitting_the_gate_exits_1_and_launches_nothing(tmp_path: Path) -> None:
    record = tmp_path / "gate.json"
    terminal = gate(tmp_path, sys.executable, str(recorder(tmp_path)), str(record), "0", reset=True)
    terminal.press("ctrl+q")
    assert wait_for_exit(terminal) == 1
    assert not record.exists()


def test_a_gate_command_that_does_not_exist_is_refused_before_sign_in(tmp_path: Path) -> None:
    child = pexpect.spawn(
        EXE, ["--demo", "--db", str(tmp_path / "mfa.db"), "gate", "--", "no-such-kiosk-program"],
        env={**inherited(), **demo_env(tmp_path)}, timeout=10,
    )  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 127
    assert "can't find the command 'no-such-kiosk-program'" in child.before.decode()

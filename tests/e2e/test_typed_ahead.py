"""Keys that arrive in one read keep their meaning (a fast typist over a laggy link, a password
manager, a barcode scanner): each test writes a whole answer to the terminal in ONE write.

``email<Tab>password<Enter>`` signs in (the Tab moves to the password field before the password
arrives), and a code followed by Enter on the Verify screen verifies.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.terminal import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    USER_EMAIL,
    USER_PASSWORD,
    Terminal,
    keep_recovery_codes,
    read_code,
    sign_in,
    sign_out,
    start_demo,
    turn_mfa_on,
)

pytestmark = pytest.mark.e2e


def write_at_once(terminal: Terminal, text: str) -> None:
    """Everything in ``text`` goes to the terminal in a single write."""
    written = terminal.child.send(text)
    assert written == len(text.encode())


def test_email_tab_password_enter_in_one_write_signs_in(tmp_path: Path) -> None:
    terminal = start_demo(tmp_path)
    try:
        write_at_once(terminal, f"{ADMIN_EMAIL}\t{ADMIN_PASSWORD}\r")
        home = terminal.wait_for("Signed in as")
        assert "Avery Admin" in home
        assert ADMIN_PASSWORD not in home
        sign_out(terminal)

        # Enter in the email field moves on too, also when the rest is already typed.
        write_at_once(terminal, f"{ADMIN_EMAIL}\r{ADMIN_PASSWORD}\r")
        terminal.wait_for("Signed in as")
    finally:
        status = terminal.close()
    assert status == 0


def test_a_code_and_enter_in_one_write_verifies(tmp_path: Path) -> None:
    codes: set[str] = set()
    terminal = start_demo(tmp_path)
    try:
        turn_mfa_on(terminal)

        # Set up email: the code from the Demo inbox and Enter, in one write.
        sign_in(terminal, USER_EMAIL, USER_PASSWORD, then="Select the Setup button")
        terminal.press("enter")  # Setup, on the Email card
        terminal.wait_for("Send me the code")
        terminal.press("enter")
        terminal.wait_for("We sent a code to")
        write_at_once(terminal, read_code(terminal, USER_EMAIL, not_one_of=codes) + "\r")
        keep_recovery_codes(terminal)
        terminal.wait_for("Multi-factor authentication is set up.")
        terminal.press("enter")  # Continue
        terminal.wait_for("Signed in as")
        sign_out(terminal)

        # Sign in again: the whole sign-in in one write, then the code and Enter in another.
        write_at_once(terminal, f"{USER_EMAIL}\t{USER_PASSWORD}\r")
        terminal.wait_for("We sent a code to")
        write_at_once(terminal, read_code(terminal, USER_EMAIL, not_one_of=codes) + "\r")
        home = terminal.wait_for("Signed in as")
        assert "Jordan Lee" in home
    finally:
        status = terminal.close()
    assert status == 0

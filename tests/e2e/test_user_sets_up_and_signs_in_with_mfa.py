"""A user meets MFA in the installed demo: sets up email and SMS, then signs in with a code.

The user guide's "Setting up multi-factor authentication (users)" and "Signing in with
multi-factor authentication (users)", step by step, with every code read off the Demo inbox
(Ctrl+O) the way a person reads it. The admin turns MFA on first, through the same demo.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.terminal import (
    USER_EMAIL,
    USER_PASSWORD,
    Terminal,
    keep_recovery_codes,
    read_code,
    shows,
    sign_in,
    sign_out,
    start_demo,
    turn_mfa_on,
    type_credentials,
)

pytestmark = pytest.mark.e2e

MOBILE = "+1 201 555 0123"
MOBILE_E164 = "+12015550123"
MOBILE_MASKED = "+1 ***-***-0123"
EMAIL_MASKED = "j***@acme-logistics.com"


def field_under(screen: str, label: str) -> str:
    """The text in the input field drawn under ``label`` on the sign-in form."""
    lines = screen.splitlines()
    row = next(number for number, line in enumerate(lines) if f"│ {label}" in line)
    inside = lines[row + 2].split("▊", 1)[1].split("▎", 1)[0]
    return inside.strip()


def set_up_email(terminal: Terminal, codes: set[str]) -> None:
    """On the Setup screen, focus on the Email card's Setup: the email method, verified."""
    terminal.press("enter")  # Setup
    terminal.wait_for("Send me the code")
    terminal.press("enter")
    terminal.wait_for("We sent a code to")
    code = read_code(terminal, USER_EMAIL, not_one_of=codes)
    terminal.write(code)
    terminal.press("enter")  # Verify
    codes_screen = keep_recovery_codes(terminal)  # the first method brings recovery codes
    assert "Your recovery codes" in codes_screen
    terminal.wait_for("Multi-factor authentication is set up.")


def test_a_user_sets_up_email_and_sms_then_signs_in_with_the_other_method(
    tmp_path: Path,
) -> None:
    codes: set[str] = set()
    terminal = start_demo(tmp_path)
    try:
        turn_mfa_on(terminal)

        setup = sign_in(terminal, USER_EMAIL, USER_PASSWORD, then="Select the Setup button")
        assert "Email" in setup and "SMS" in setup
        assert setup.count("Setup") >= 2  # a Setup button below each method

        set_up_email(terminal, codes)
        done = terminal.wait_for("Email is set up: codes can go to")
        assert EMAIL_MASKED in done
        assert shows(done, "(Optional) To set up a second method")
        assert "Continue" in done

        terminal.press("tab")  # from Continue to the SMS card's Setup
        terminal.press("enter")
        terminal.wait_for("Mobile phone number")
        terminal.type(MOBILE)  # key by key: one journey types like a person
        terminal.press("enter")  # Send code
        terminal.wait_for(f"We sent a code to {MOBILE_MASKED}.")
        code = read_code(terminal, MOBILE_E164, not_one_of=codes)
        terminal.write(code)
        terminal.press("enter")  # Verify
        both = terminal.wait_for("SMS is set up")
        assert shows(both, "Select Continue to finish signing in.")
        terminal.press("enter")  # Continue (it has the focus)
        terminal.wait_for("Signed in as")
        sign_out(terminal)

        # Again: the code goes to the last method used, SMS.
        type_credentials(terminal, USER_EMAIL, USER_PASSWORD)
        verify = terminal.wait_for_all(
            f"We sent a code to {MOBILE_MASKED}.", f"SMS ({MOBILE_MASKED})"
        )
        assert shows(verify, "To use a different method, select the drop-down arrow")
        assert shows(verify, "Enter the code you receive and select Verify.")
        read_code(terminal, MOBILE_E164, not_one_of=codes)  # it did arrive; not used

        # Choose Email in the drop-down instead.
        terminal.press("shift+tab")  # from the code field to the drop-down
        terminal.press("enter")
        terminal.wait_for(f"Email ({EMAIL_MASKED})")
        terminal.press("up")
        terminal.press("enter")
        terminal.wait_for(f"We sent a code to {EMAIL_MASKED}.")
        code = read_code(terminal, USER_EMAIL, not_one_of=codes)
        terminal.write(code)
        terminal.press("enter")  # Verify
        home = terminal.wait_for("Signed in as")
        assert "Jordan Lee" in home
    finally:
        assert terminal.close() == 0


def test_bad_input_loses_nothing(tmp_path: Path) -> None:
    codes: set[str] = set()
    terminal = start_demo(tmp_path)
    try:
        turn_mfa_on(terminal)
        sign_in(terminal, USER_EMAIL, USER_PASSWORD, then="Select the Setup button")
        set_up_email(terminal, codes)
        terminal.press("enter")  # Continue
        terminal.wait_for("Signed in as")
        sign_out(terminal)

        # A wrong password: the generic refusal; the address stays, the password field is empty.
        type_credentials(terminal, USER_EMAIL, "sunny kiosk evening")
        refused = terminal.wait_for("Incorrect email or password.")
        assert field_under(refused, "Email address") == USER_EMAIL
        assert field_under(refused, "Password") == ""
        terminal.write(USER_PASSWORD)  # the focus is back in the password field
        terminal.press("enter")

        # The Verify screen: a wrong code says how many tries remain; the right one still works.
        terminal.wait_for(f"We sent a code to {EMAIL_MASKED}.")
        code = read_code(terminal, USER_EMAIL, not_one_of=codes)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        terminal.write(wrong)
        terminal.press("enter")
        message = terminal.wait_for("That code isn't right.")
        assert shows(message, "You have 4 tries left for this code.")
        terminal.write(code)  # the field was emptied for the next try
        terminal.press("enter")
        terminal.wait_for("Signed in as")
    finally:
        assert terminal.close() == 0

"""The admin turns MFA on in the installed demo, as the user guide tells them to.

"Select Settings > General Preferences. Select the slider ... from OFF to ON. Select Begin MFA
Process. Wait until the message changes from MFA settings processing to MFA settings complete."
Three demo users have sign-in names that can't receive mail, so the run ends with failures; the
admin fixes one address from the table and selects Retry MFA Process.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.terminal import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    begin_mfa_process,
    mfa_switch_state,
    open_general_preferences,
    sign_in,
    start_demo,
)

pytestmark = pytest.mark.e2e

FAILED_ADDRESSES = ["dock@warehouse", "locker-bay@kiosk3", "ops@plant7"]
FIXED_ADDRESS = "ops@plant7.acme-logistics.com"


def table_order(screen: str, addresses: list[str]) -> list[str]:
    """``addresses`` in the order their rows appear on ``screen`` (the first word of a row)."""
    rows = [line.split()[0] for line in screen.splitlines() if line.split()]
    return [row for row in rows if row in addresses]


def test_admin_turns_mfa_on_sees_the_failures_fixes_an_address_and_retries(
    tmp_path: Path,
) -> None:
    terminal = start_demo(tmp_path)
    try:
        home = sign_in(terminal, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert "Settings > General Preferences" in home

        page = open_general_preferences(terminal)
        assert mfa_switch_state(page) == "OFF"
        assert "Begin MFA Process" not in page  # only once the switch is ON

        begin_mfa_process(terminal)
        done = terminal.wait_for("22 users succeeded and 3 users failed.")
        assert mfa_switch_state(done) == "ON"
        assert "Retry MFA Process" in done
        assert "Press e on a user to fix their email address, then Retry MFA Process." in done
        rows = table_order(done, FAILED_ADDRESSES)
        assert sorted(rows) == sorted(FAILED_ADDRESSES)
        assert done.count("email address has no domain") == 3

        # The table has the focus, its cursor on the first row: down to ops@plant7, then "e".
        terminal.press(*["down"] * rows.index("ops@plant7"))
        terminal.press("e")
        dialog = terminal.wait_for("Fix the email address")
        assert "Plant 7 Operations" in dialog
        terminal.press("end")  # the address is selected: go to its end rather than replace it
        terminal.type(".acme-logistics.com")
        terminal.wait_for(FIXED_ADDRESS)
        terminal.press("enter")
        fixed = terminal.wait_until(
            lambda text: "Fix the email address" not in text and FIXED_ADDRESS in text,
            "the dialog closing with the address fixed in the table",
        )
        assert "address fixed" in fixed
        assert "22 users succeeded and 3 users failed." in fixed  # nothing retried yet

        terminal.press("tab")  # from the table to Retry MFA Process
        terminal.press("enter")
        retried = terminal.wait_for("23 users succeeded and 2 users failed.")
        assert "MFA settings complete" in retried
        assert table_order(retried, [*FAILED_ADDRESSES, FIXED_ADDRESS]) == [
            "dock@warehouse",
            "locker-bay@kiosk3",
        ]
    finally:
        assert terminal.close() == 0

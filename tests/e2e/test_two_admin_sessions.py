"""Two admins, two terminals, one demo database: the MFA process runs once.

The design: "one job per subscription at a time, also across processes; a second admin watching in
another session sees the same live progress". The second terminal starts without ``--reset``, so
both work on the same file. The demo's 25 users are processed in a blink, so the second admin
sees the job complete rather than processing.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.terminal import (
    ABOUT_MFA,
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    Terminal,
    begin_mfa_process,
    demo_database,
    mfa_switch_state,
    open_general_preferences,
    sign_in,
    start_demo,
)

pytestmark = pytest.mark.e2e


def enable_jobs(database: Path) -> int:
    """How many MFA process jobs that turn MFA on the database holds."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM mfa_jobs WHERE kind = 'enable'"
        ).fetchone()
    return count


@pytest.fixture
def two_admins(tmp_path: Path) -> Iterator[tuple[Terminal, Terminal]]:
    """Two demo terminals on one database, the admin signed in on General Preferences in each."""
    first = start_demo(tmp_path)
    second: Terminal | None = None
    try:
        second = start_demo(tmp_path, reset=False)  # the same file, seeded by the first
        for terminal in (first, second):
            sign_in(terminal, ADMIN_EMAIL, ADMIN_PASSWORD)
            page = open_general_preferences(terminal)
            assert mfa_switch_state(page) == "OFF"
        yield first, second
    finally:
        statuses = [first.close(), second.close() if second is not None else 0]
    assert statuses == [0, 0]


def test_an_admin_who_comes_back_to_the_page_sees_the_job_another_admin_ran(
    tmp_path: Path, two_admins: tuple[Terminal, Terminal]
) -> None:
    first, second = two_admins
    begin_mfa_process(first)
    first.wait_for("22 users succeeded and 3 users failed.")

    second.press("escape")  # home, and back to Settings > General Preferences
    second.wait_for("Signed in as")
    open_general_preferences(second)
    page = second.wait_for("22 users succeeded and 3 users failed.")
    assert "MFA settings complete" in page
    assert mfa_switch_state(page) == "ON"
    assert "Begin MFA Process" not in page
    assert "Retry MFA Process" in page

    assert enable_jobs(demo_database(tmp_path)) == 1


def test_an_admin_whose_page_is_open_sees_the_job_another_admin_ran(
    tmp_path: Path, two_admins: tuple[Terminal, Terminal]
) -> None:
    first, second = two_admins
    begin_mfa_process(first)
    first.wait_for("22 users succeeded and 3 users failed.")

    # The second admin's page was open all along: no key is pressed there, it catches up.
    page = second.wait_for("22 users succeeded and 3 users failed.", timeout=10)
    assert "MFA settings complete" in page
    assert mfa_switch_state(page) == "ON"
    assert "Begin MFA Process" not in page
    assert ABOUT_MFA not in page

    assert enable_jobs(demo_database(tmp_path)) == 1

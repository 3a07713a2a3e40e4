"""The Change password screen under Pilot: opened from the Security page with its key, a change
that signs in afterwards, the refusals shown beside the form, Escape, and snapshots at 80x24."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from mfa.accounts import CURRENT_PASSWORD_WRONG
from mfa.clock import ManualClock
from mfa.signin import SignInOutcome
from mfa.signin import sign_in as check_sign_in
from store import accounts as account_store
from tests.tui.helpers import (
    DEMO_USER,
    demo_app,
    fill,
    running_app,
    settle,
    shown,
    sign_in,
    steady,
    temp_config,
    type_text,
)
from tui.app import MfaApp
from tui.screens.change_password import (
    CHANGED,
    PASSWORDS_DIFFER,
    ChangePasswordScreen,
)
from tui.screens.home import HomeScreen
from tui.screens.security import SecurityScreen

USER_EMAIL, USER_PASSWORD = DEMO_USER
NEW_PASSWORD = "harbour lantern at dusk"


async def open_change_password(pilot: Pilot[None]) -> tuple[SecurityScreen, ChangePasswordScreen]:
    """Signed in as the demo user, on the Security page, then its key for Change password."""
    app = pilot.app
    await sign_in(pilot, *DEMO_USER)
    assert isinstance(app.screen, HomeScreen)
    await pilot.press("s")
    await settle(pilot)
    security = app.screen
    assert isinstance(security, SecurityScreen)
    await pilot.press("p")
    await settle(pilot)
    assert isinstance(app.screen, ChangePasswordScreen)
    return security, app.screen


async def fill_in(
    pilot: Pilot[None], current: str, new: str, repeat: str, *, typed: bool = False
) -> None:
    """Fill in the three fields, Enter after each (the last Enter submits).

    ``typed=True`` types every character as a key (slow); by default each field is filled at once.
    """
    for selector, text in (
        ("#current-password", current),
        ("#new-password", new),
        ("#repeat-password", repeat),
    ):
        if typed:
            await type_text(pilot, text)
            await pilot.press("enter")
        else:
            await fill(pilot, selector, text, submit=False)
            await pilot.press("enter")
    await settle(pilot)


def refusal(screen: ChangePasswordScreen) -> str:
    """The message beside the form, as shown."""
    return shown(screen.query_one("#change-password-message"))


def notifications(app: MfaApp) -> list[str]:
    """The messages of the notifications the app holds (run_test doesn't draw toasts)."""
    return [note.message for note in app._notifications]


async def test_a_changed_password_signs_in_and_the_security_page_is_back(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        security, screen = await open_change_password(pilot)
        assert app.focused is screen.query_one("#current-password", Input)
        assert all(field.password for field in screen.query(Input))
        assert shown(screen.query_one("#change-password-rules")) == (
            "At least 8 characters; no common passwords; no composition rules."
        )
        await fill_in(pilot, USER_PASSWORD, NEW_PASSWORD, NEW_PASSWORD, typed=True)

        assert app.screen is security
        assert CHANGED in notifications(app)
        services = app.services
        assert (await check_sign_in(services, USER_EMAIL, NEW_PASSWORD)).accepted
        old = await check_sign_in(services, USER_EMAIL, USER_PASSWORD)
        assert old.outcome is SignInOutcome.REJECTED


async def test_two_new_passwords_that_differ_are_caught_before_anything_is_checked(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        _security, screen = await open_change_password(pilot)
        await fill_in(pilot, USER_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!")

        assert app.screen is screen
        assert refusal(screen) == PASSWORDS_DIFFER
        repeat = screen.query_one("#repeat-password", Input)
        assert app.focused is repeat and repeat.value == ""
        assert (await check_sign_in(app.services, USER_EMAIL, USER_PASSWORD)).accepted

        # Filling in the repeat again is enough.
        await fill(pilot, "#repeat-password", NEW_PASSWORD)
        assert CHANGED in notifications(app)


async def test_a_wrong_current_password_is_shown_and_counted(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        _security, screen = await open_change_password(pilot)
        await fill_in(pilot, "not my password", NEW_PASSWORD, NEW_PASSWORD)

        assert app.screen is screen
        assert refusal(screen) == CURRENT_PASSWORD_WRONG
        current = screen.query_one("#current-password", Input)
        assert app.focused is current and current.value == ""
        user = await account_store.user_by_email(app.services.db, USER_EMAIL)
        assert user is not None and user.failed_attempts == 1


async def test_a_rule_is_named_and_escape_goes_back_unchanged(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        security, screen = await open_change_password(pilot)
        await fill_in(pilot, USER_PASSWORD, "short", "short")
        rule = "Use at least 8 characters (this one has 5)."
        assert refusal(screen) == rule
        assert app.focused is screen.query_one("#new-password", Input)

        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is security
        assert (await check_sign_in(app.services, USER_EMAIL, USER_PASSWORD)).accepted


async def test_the_rules_line_follows_the_configured_minimum(
    tmp_path: Path, clock: ManualClock
) -> None:
    config = temp_config(tmp_path).replace("security", min_password_length=12)
    async with running_app(tmp_path, clock, config=config) as (_app, pilot):
        _security, screen = await open_change_password(pilot)
        assert shown(screen.query_one("#change-password-rules")) == (
            "At least 12 characters; no common passwords; no composition rules."
        )
        await fill_in(pilot, USER_PASSWORD, "eleven char", "eleven char")
        assert refusal(screen) == "Use at least 12 characters (this one has 11)."


# --------------------------------------------------------------------------------- snapshots


async def _on_the_form(pilot: Pilot[None]) -> None:
    await open_change_password(pilot)
    steady(pilot)


async def _refused(pilot: Pilot[None]) -> None:
    await open_change_password(pilot)
    await fill_in(pilot, USER_PASSWORD, "password1", "password1")
    steady(pilot)


def test_snapshot_change_password_form(snap_compare, tmp_path: Path) -> None:
    with demo_app(tmp_path) as app:
        assert snap_compare(app, terminal_size=(80, 24), run_before=_on_the_form)


def test_snapshot_change_password_refused(snap_compare, tmp_path: Path) -> None:
    with demo_app(tmp_path) as app:
        assert snap_compare(app, terminal_size=(80, 24), run_before=_refused)

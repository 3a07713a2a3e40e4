"""The Security page under Pilot: the methods listed, adding one over real SMTP, changing the phone,
removing (refused for the last one while MFA is required), the default method, and snapshots."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select

from mfa import factors
from mfa.clock import ManualClock
from mfa.services import Services
from store import accounts as account_store
from store import audit
from store.models import User
from tests.mfa.factor_helpers import (
    MOBILE_E164,
    OTHER_MOBILE,
    OTHER_MOBILE_E164,
    mailed_codes,
    set_up_email,
    set_up_sms,
    texted_code,
)
from tests.smtp_server import SmtpSink
from tests.tui.helpers import (
    DEMO_USER,
    demo_app,
    fill,
    running_app,
    seeded_services,
    settle,
    shown,
    steady,
    temp_config,
)
from tui.app import MfaApp
from tui.screens.dialogs import ConfirmDialog
from tui.screens.home import HomeScreen
from tui.screens.security import LAST_USED, MethodSetupScreen, SecurityScreen
from tui.widgets.method_cards import CardStage

USER_EMAIL = DEMO_USER[0]
MASKED_EMAIL = "j***@acme-logistics.com"
MASKED_MOBILE = "+1 ***-***-0100"
ONLY_METHOD = (
    "This is your only verification method and your subscription requires MFA. "
    "Set up another method before removing this one."
)


@pytest.fixture
async def services(tmp_path: Path, clock: ManualClock, sink: SmtpSink) -> AsyncIterator[Services]:
    """Demo data, MFA on for everyone, email through the sink, texts kept in the outbox. These
    tests are about the methods codes are sent to: the subscription allows email and SMS (the
    authenticator app's tests allow it again)."""
    config = dataclasses.replace(temp_config(tmp_path), email=sink.email_config())
    opened = await seeded_services(tmp_path, clock, mfa_enabled=True, config=config)
    opened.demo = True
    async with opened.db.write() as conn:
        await conn.execute("UPDATE subscriptions SET allowed_methods = 'email,sms'")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def user(services: Services) -> User:
    found = await account_store.user_by_email(services.db, USER_EMAIL)
    assert found is not None
    return found


async def open_security(pilot: Pilot[None], user: User) -> SecurityScreen:
    """Signed in (the second factor taken as done) and on the Security page, from home."""
    app = pilot.app
    assert isinstance(app, MfaApp)
    app.complete_sign_in(user)
    await settle(pilot)
    assert isinstance(app.screen, HomeScreen)
    await pilot.press("s")
    await settle(pilot)
    assert isinstance(app.screen, SecurityScreen)
    return app.screen


def rows(screen: SecurityScreen) -> list[list[str]]:
    table = screen.query_one("#security-methods", DataTable)
    return [[str(cell) for cell in table.get_row_at(index)] for index in range(table.row_count)]


def message(screen: SecurityScreen) -> str:
    """The page's message line, as shown."""
    return shown(screen.query_one("#security-message"))


def footer_keys(app: MfaApp) -> set[str]:
    return {
        binding.description for _, binding, enabled, _ in app.active_bindings.values() if enabled
    }


async def answer(pilot: Pilot[None], key: str) -> None:
    assert isinstance(pilot.app.screen, ConfirmDialog)
    await pilot.press(key)
    await settle(pilot)


# ------------------------------------------------------------------------------------ listing


async def test_the_page_lists_each_method_with_where_codes_go_and_the_default(
    tmp_path: Path, clock: ManualClock, services: Services, user: User, sink: SmtpSink
) -> None:
    await set_up_email(services, user, sink)
    clock.advance(3 * 3600)
    await set_up_sms(services, user)
    clock.advance(5 * 60)
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        screen = await open_security(pilot, user)
        assert rows(screen) == [
            ["Email", MASKED_EMAIL, "Verified", "3 hours ago", ""],
            ["SMS", MASKED_MOBILE, "Verified", "5 minutes ago", "Yes"],
        ]
        assert screen.query_one("#security-default", Select).value == LAST_USED
        assert shown(screen.query_one("#security-note")) == factors.CODE_METHODS_NOTE
        assert {"Change phone", "Remove", "Back"} <= footer_keys(app)
        assert "Add method" not in footer_keys(app)  # both are set up
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)


# ------------------------------------------------------------------------------------- adding


async def test_adding_email_sends_over_smtp_and_lists_it(
    tmp_path: Path, clock: ManualClock, services: Services, user: User, sink: SmtpSink
) -> None:
    await set_up_sms(services, user)
    clock.advance(60)
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        screen = await open_security(pilot, user)
        assert str(screen.query_one("#security-add").label) == "Add Email"  # type: ignore[attr-defined]
        await pilot.press("a")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, MethodSetupScreen)
        assert app.focused is not None and app.focused.id == "email-send"  # Setup was chosen
        await pilot.press("enter")
        await settle(pilot)
        [code] = mailed_codes(sink, USER_EMAIL)
        assert app.focused is not None and app.focused.id == "email-code"
        await fill(pilot, "#email-code", code)

        assert app.screen is screen
        assert message(screen) == f"Email is set up: codes can go to {MASKED_EMAIL}."
        assert [row[:3] for row in rows(screen)] == [
            ["Email", MASKED_EMAIL, "Verified"],
            ["SMS", MASKED_MOBILE, "Verified"],
        ]
        assert not screen.query_one("#security-add").display


async def test_a_dialog_closed_before_verifying_leaves_the_method_not_verified(
    tmp_path: Path, clock: ManualClock, services: Services, user: User, sink: SmtpSink
) -> None:
    await set_up_sms(services, user)
    clock.advance(60)
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        screen = await open_security(pilot, user)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("enter")  # Send me the code
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen
        assert rows(screen)[0][:3] == ["Email", MASKED_EMAIL, "Not verified"]
        # Coming back, the code sent is still the one to enter.
        await pilot.press("a")
        await settle(pilot)
        assert app.screen.query_one("#email-card").stage == CardStage.CODE  # type: ignore[attr-defined]
        await fill(pilot, "#email-code", mailed_codes(sink, USER_EMAIL)[-1])
        assert rows(screen)[0][:3] == ["Email", MASKED_EMAIL, "Verified"]


# -------------------------------------------------------------------------------- phone change


async def test_a_new_phone_number_counts_only_once_verified(
    tmp_path: Path, clock: ManualClock, services: Services, user: User
) -> None:
    await set_up_sms(services, user)
    clock.advance(60)
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        screen = await open_security(pilot, user)
        await pilot.press("c")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, MethodSetupScreen)
        assert shown(dialog.query_one("#method-dialog-note")) == (
            f"Codes keep going to {MASKED_MOBILE} until the new number is verified."
        )
        assert app.focused is dialog.query_one("#sms-phone", Input)
        await fill(pilot, "#sms-phone", OTHER_MOBILE)
        [sms] = [m for m in await factors.methods_of(services, user.id) if m.kind == "sms"]
        assert sms.destination == MOBILE_E164  # not yet
        await fill(pilot, "#sms-code", await texted_code(services))

        assert app.screen is screen
        assert message(screen) == "SMS is set up: codes can go to +1 ***-***-0199."
        assert rows(screen)[0][:3] == ["SMS", "+1 ***-***-0199", "Verified"]
        [sms] = await factors.methods_of(services, user.id)
        assert sms.destination == OTHER_MOBILE_E164


# ------------------------------------------------------------------------------------ removing


async def test_the_last_method_is_not_removed_while_mfa_is_required(
    tmp_path: Path, clock: ManualClock, services: Services, user: User
) -> None:
    await set_up_sms(services, user)
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        screen = await open_security(pilot, user)
        await pilot.press("r")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert dialog.question == f"Remove SMS ({MASKED_MOBILE})?"
        await answer(pilot, "y")
        assert app.screen is screen
        assert message(screen) == ONLY_METHOD
        assert "-error" in screen.query_one("#security-message").classes
        assert len(rows(screen)) == 1
        assert len(await factors.methods_of(services, user.id)) == 1


async def test_a_second_method_is_removed_once_confirmed(
    tmp_path: Path, clock: ManualClock, services: Services, user: User, sink: SmtpSink
) -> None:
    await set_up_email(services, user, sink)
    clock.advance(60)
    await set_up_sms(services, user)
    async with running_app(tmp_path, clock, services=services) as (_app, pilot):
        screen = await open_security(pilot, user)
        table = screen.query_one("#security-methods", DataTable)
        table.focus()
        await pilot.press("down")  # the SMS row
        await pilot.press("r")
        await settle(pilot)
        await answer(pilot, "escape")  # Keep
        assert len(rows(screen)) == 2
        await pilot.press("delete")
        await settle(pilot)
        await answer(pilot, "y")
        assert message(screen) == f"SMS ({MASKED_MOBILE}) was removed."
        assert rows(screen) == [["Email", MASKED_EMAIL, "Verified", "1 minute ago", "Yes"]]
        assert str(screen.query_one("#security-add").label) == "Add SMS"  # type: ignore[attr-defined]
        assert [m.kind for m in await factors.methods_of(services, user.id)] == ["email"]


# ------------------------------------------------------------------------------ default method


async def test_the_default_method_is_chosen_from_the_dropdown(
    tmp_path: Path, clock: ManualClock, services: Services, user: User, sink: SmtpSink
) -> None:
    email = await set_up_email(services, user, sink)
    clock.advance(60)
    sms = await set_up_sms(services, user)  # used last: the default until one is chosen
    async with running_app(tmp_path, clock, services=services) as (_app, pilot):
        screen = await open_security(pilot, user)
        assert [row[4] for row in rows(screen)] == ["", "Yes"]
        select = screen.query_one("#security-default", Select)
        select.focus()
        await pilot.press("enter")  # open the list: Use last method used, Email, SMS
        await pilot.press("down", "enter")
        await settle(pilot)
        assert select.value == email.id
        assert message(screen) == f"Sign-in codes will go to Email ({MASKED_EMAIL}) first."
        assert [row[4] for row in rows(screen)] == ["Yes", ""]
        fresh = await account_store.user_by_id(services.db, user.id)
        assert fresh is not None and fresh.preferred_method_id == email.id

        await pilot.press("enter")
        await pilot.press("up", "enter")
        await settle(pilot)
        assert select.value == LAST_USED
        assert message(screen) == "Sign-in codes will go to the method you used last."
        assert [row[4] for row in rows(screen)] == ["", "Yes"]
        fresh = await account_store.user_by_id(services.db, user.id)
        assert fresh is not None and fresh.preferred_method_id is None
        assert (await factors.default_method(services, fresh)) == next(
            m for m in await factors.methods_of(services, user.id) if m.id == sms.id
        )


async def test_opening_the_page_changes_no_default(
    tmp_path: Path, clock: ManualClock, services: Services, user: User, sink: SmtpSink
) -> None:
    email = await set_up_email(services, user, sink)
    clock.advance(60)
    await set_up_sms(services, user)
    await factors.set_preferred(services, user, email.id)
    async with running_app(tmp_path, clock, services=services) as (_app, pilot):
        screen = await open_security(pilot, user)
        assert screen.query_one("#security-default", Select).value == email.id
        await settle(pilot)  # any Select.Changed of the mount has been handled
        fresh = await account_store.user_by_id(services.db, user.id)
        assert fresh is not None and fresh.preferred_method_id == email.id
        events = [e.event for e in await audit.events(services.db, user.id)]
        assert events.count("mfa.preferred_set") == 1


# --------------------------------------------------------------------------------- snapshots


def _with_sms_and_email(services: Services, sink: SmtpSink) -> None:
    async def prepare() -> None:
        user = await account_store.user_by_email(services.db, USER_EMAIL)
        assert user is not None
        await set_up_email(services, user, sink)
        services.clock.advance(2 * 86_400)  # type: ignore[attr-defined]
        await set_up_sms(services, user)
        services.clock.advance(600)  # type: ignore[attr-defined]

    asyncio.run(prepare())


async def _on_security_page(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, MfaApp)
    user = await account_store.user_by_email(app.services.db, USER_EMAIL)
    assert user is not None
    await open_security(pilot, user)
    steady(pilot)


async def _adding_sms(pilot: Pilot[None]) -> None:
    await _on_security_page(pilot)
    screen = pilot.app.screen
    table = screen.query_one("#security-methods", DataTable)
    table.focus()
    await pilot.press("down", "delete")
    await settle(pilot)
    await pilot.press("y")
    await settle(pilot)
    await pilot.press("a")
    await settle(pilot)
    steady(pilot)


def test_snapshot_security_page(snap_compare, tmp_path: Path) -> None:
    with SmtpSink() as sink:
        config = dataclasses.replace(temp_config(tmp_path), email=sink.email_config())
        with demo_app(tmp_path, mfa_enabled=True, config=config) as app:
            app.services.demo = True
            _with_sms_and_email(app.services, sink)
            assert snap_compare(app, terminal_size=(80, 24), run_before=_on_security_page)


def test_snapshot_security_adding_sms(snap_compare, tmp_path: Path) -> None:
    with SmtpSink() as sink:
        config = dataclasses.replace(temp_config(tmp_path), email=sink.email_config())
        with demo_app(tmp_path, mfa_enabled=True, config=config) as app:
            app.services.demo = True
            _with_sms_and_email(app.services, sink)
            assert snap_compare(app, terminal_size=(80, 24), run_before=_adding_sms)

"""The sign-in screen under Pilot: every path, the idle lock and the time limit, and snapshots."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Button, Input

from mfa.clock import ManualClock
from mfa.config import SecurityConfig
from mfa.services import Services
from mfa.session import SessionEnd
from mfa.signin import INCORRECT
from store import accounts as account_store
from store import audit
from tests.tui.helpers import (
    DEMO_ADMIN,
    DEMO_USER,
    add_account,
    demo_app,
    fill,
    running_app,
    seeded_services,
    settle,
    shown,
    sign_in,
    steady,
    temp_config,
    type_text,
)
from tui.app import MfaApp
from tui.screens.home import HomeScreen
from tui.screens.security import SecurityScreen
from tui.screens.setup import SetupScreen
from tui.screens.signin import ENTER_EMAIL, ENTER_PASSWORD, SignInScreen
from tui.screens.verify import VerifyScreen

USER_EMAIL, USER_PASSWORD = DEMO_USER


def _message(app: MfaApp) -> str:
    screen = app.screen
    assert isinstance(screen, SignInScreen)
    return shown(screen.query_one("#signin-message"))


def _only_screen(app: MfaApp) -> type:
    """The one screen above the default one (fails when more are open)."""
    assert len(app.screen_stack) == 2, app.screen_stack
    return type(app.screen)


async def test_the_fields_come_in_reading_order_and_enter_moves_on(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        assert app.focused is app.screen.query_one("#email", Input)
        await pilot.press("tab")
        assert app.focused is app.screen.query_one("#password", Input)
        assert app.screen.query_one("#password", Input).password  # masked
        await pilot.press("tab")
        assert app.focused is app.screen.query_one("#sign-in", Button)
        await pilot.press("shift+tab", "shift+tab")
        await type_text(pilot, USER_EMAIL[:6])
        await pilot.press("enter")
        assert app.focused is app.screen.query_one("#password", Input)
        assert _message(app) == ""  # Enter in the email field doesn't submit


async def test_the_right_password_without_mfa_goes_home(tmp_path: Path, clock: ManualClock) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_ADMIN, typed=True)
        assert _only_screen(app) is HomeScreen
        assert app.session is not None and app.session.signed_in
        assert app.session.user.email == DEMO_ADMIN[0]


async def test_the_sign_in_button_submits_too(tmp_path: Path, clock: ManualClock) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        app.screen.query_one("#email", Input).value = USER_EMAIL
        await pilot.press("tab")
        app.screen.query_one("#password", Input).value = USER_PASSWORD
        await pilot.press("tab", "enter")
        await settle(pilot)
        assert _only_screen(app) is HomeScreen


async def _prepare(services: Services, case: str) -> tuple[str, str]:
    email, password = USER_EMAIL, USER_PASSWORD
    if case == "unknown address":
        return "nobody@acme-logistics.com", password
    if case == "wrong password":
        return email, "sunny kiosk evening"
    if case == "disabled account":
        async with services.db.write() as conn:
            await conn.execute("UPDATE users SET status = 'disabled' WHERE email = ?", (email,))
    if case == "locked account":
        from mfa.signin import sign_in as domain_sign_in

        for _ in range(5):
            await domain_sign_in(services, email, "wrong guess")
    return email, password


@pytest.mark.parametrize(
    "case", ["unknown address", "wrong password", "disabled account", "locked account"]
)
async def test_every_refusal_shows_the_same_message_beside_the_form(
    tmp_path: Path, clock: ManualClock, case: str
) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        email, password = await _prepare(services, case)
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, email, password)
            assert _only_screen(app) is SignInScreen
            assert _message(app) == INCORRECT == "Incorrect email or password."
            assert shown(app.screen.query_one("#signin-message")) == INCORRECT
            # The address stays for another try; the password does not.
            assert app.screen.query_one("#email", Input).value == email
            assert app.screen.query_one("#password", Input).value == ""
            assert app.focused is app.screen.query_one("#password", Input)
            assert app.session is None
    finally:
        await services.close()


async def test_after_a_failure_the_password_field_has_the_focus_and_enter_tries_again(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):

        async def broken(*_args: object, **_kwargs: object) -> None:
            raise RuntimeError("database is locked")

        with monkeypatch.context() as patched:
            patched.setattr("mfa.signin.sign_in", broken)  # the screen imports it on first use
            await fill(pilot, "#email", USER_EMAIL)
            await fill(pilot, "#password", USER_PASSWORD)
            assert _message(app) == (
                "Signing in failed: database is locked. Try again, or tell your administrator."
            )
            assert "-error" in app.screen.query_one("#signin-message").classes
            assert app.focused is app.screen.query_one("#password", Input)
            assert not app.screen.query_one("#sign-in", Button).disabled
        await pilot.press("enter")
        await settle(pilot)
        assert _only_screen(app) is HomeScreen


async def test_empty_fields_are_asked_for_without_an_attempt(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await pilot.press("enter", "enter")  # email (empty) -> password (empty) -> submit
        assert _message(app) == ENTER_EMAIL
        assert app.focused is app.screen.query_one("#email", Input)
        await type_text(pilot, USER_EMAIL)
        await pilot.press("enter", "enter")
        assert _message(app) == ENTER_PASSWORD
        assert app.focused is app.screen.query_one("#password", Input)
        assert [
            e for e in await audit.events(app.services.db) if e.event.startswith("signin")
        ] == []


async def test_a_lockout_shows_the_same_message_and_lifts_when_the_clock_moves(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        for _ in range(5):
            await sign_in(pilot, USER_EMAIL, "wrong guess")
        await sign_in(pilot, USER_EMAIL, USER_PASSWORD)
        assert _message(app) == INCORRECT
        clock.advance(30)
        await sign_in(pilot, USER_EMAIL, USER_PASSWORD)
        assert _only_screen(app) is HomeScreen


async def test_the_screen_keeps_answering_while_the_password_is_hashed(
    tmp_path: Path, clock: ManualClock
) -> None:
    # Expensive argon2 on purpose: the hash takes long enough to type during it.
    slow = SecurityConfig(argon2_memory_kib=65_536, argon2_time_cost=12)
    services = await seeded_services(tmp_path, clock, config=temp_config(tmp_path, slow))
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            email = app.screen.query_one("#email", Input)
            email.value = USER_EMAIL
            app.screen.query_one("#password", Input).value = "wrong guess"
            app.screen.query_one("#sign-in", Button).press()
            await asyncio.sleep(0.05)
            worker = next(w for w in app.workers if w.group == "sign-in")
            button = app.screen.query_one("#sign-in", Button)
            assert button.disabled and str(button.label) == "Signing in…"
            email.focus()
            # Keys straight to the app (Pilot's press would wait for the hash to finish).
            app.post_message(events.Key("end", None))
            app.post_message(events.Key("x", "x"))
            for _ in range(100):
                if email.value.endswith("x"):
                    break
                await asyncio.sleep(0.01)
            assert email.value == USER_EMAIL + "x"
            assert worker.is_running  # the keys were handled while the hash was still running
            await settle(pilot)
            assert _message(app) == INCORRECT
            assert not button.disabled
    finally:
        await services.close()


async def test_mfa_required_without_a_method_opens_setup_and_complete_sign_in_goes_home(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock, mfa_enabled=True) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        assert isinstance(app.screen, SetupScreen)
        assert app.screen.user.email == USER_EMAIL
        assert app.session is not None and not app.session.signed_in
        app.complete_sign_in(app.screen.user)
        await settle(pilot)
        assert _only_screen(app) is HomeScreen
        assert app.session is not None and app.session.signed_in


async def test_mfa_required_with_a_method_opens_verify(tmp_path: Path, clock: ManualClock) -> None:
    services = await seeded_services(tmp_path, clock, mfa_enabled=True)
    try:
        user = await account_store.user_by_email(services.db, USER_EMAIL)
        assert user is not None
        async with services.db.write() as conn:
            await conn.execute(
                "INSERT INTO mfa_methods (user_id, kind, destination, secret, verified_at,"
                " created_at) VALUES (?, 'email', ?, x'00', 1, 1)",
                (user.id, USER_EMAIL),
            )
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            assert isinstance(app.screen, VerifyScreen)
            # Going back abandons the half-finished sign-in.
            await pilot.press("escape")
            await settle(pilot)
            assert _only_screen(app) is SignInScreen
            assert app.session is None
            assert app.screen.query_one("#password", Input).value == ""
    finally:
        await services.close()


# ------------------------------------------------------------------- idle lock and time limit


async def test_fifteen_idle_minutes_end_the_session(tmp_path: Path, clock: ManualClock) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        app.screen.query_one("#sign-out", Button).focus()  # a key that does nothing harmful
        clock.advance(899)
        app.check_session()
        await pilot.pause()
        assert _only_screen(app) is HomeScreen
        await pilot.press("left")  # activity: the idle count starts again
        clock.advance(899)
        app.check_session()
        await pilot.pause()
        assert _only_screen(app) is HomeScreen
        clock.advance(1)
        app.check_session()
        await settle(pilot)
        assert _only_screen(app) is SignInScreen
        assert _message(app) == "Signed out after 15 minutes without activity."
        assert app.session is None
        assert app.screen.query_one("#email", Input).value == ""
        ended = [e for e in await audit.events(app.services.db) if e.event == "session.ended"]
        assert [e.detail for e in ended] == [SessionEnd.IDLE.value]


async def test_the_idle_lock_closes_every_screen_above_home(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_ADMIN)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SecurityScreen)
        clock.advance(900)
        app.check_session()
        await settle(pilot)
        assert _only_screen(app) is SignInScreen
        assert _message(app) == "Signed out after 15 minutes without activity."


async def test_the_idle_lock_also_ends_a_half_finished_sign_in(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock, mfa_enabled=True) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        assert isinstance(app.screen, SetupScreen)
        clock.advance(900)
        app.check_session()
        await settle(pilot)
        assert _only_screen(app) is SignInScreen
        assert app.session is None
        events = [e.event for e in await audit.events(app.services.db)]
        assert "signin.abandoned" in events


async def test_a_session_ends_after_twelve_hours_however_busy(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        app.screen.query_one("#sign-out", Button).focus()
        for _ in range(12 * 60 // 10 - 1):  # a key every 10 minutes for 11 h 50 min
            clock.advance(600)
            await pilot.press("left")
            app.check_session()
        await pilot.pause()
        assert _only_screen(app) is HomeScreen
        clock.advance(600)
        await pilot.press("left")
        app.check_session()
        await settle(pilot)
        assert _only_screen(app) is SignInScreen
        assert _message(app) == (
            "Signed out: a session lasts at most 12 hours. Sign in again to go on."
        )


async def test_the_idle_time_comes_from_the_configuration(
    tmp_path: Path, clock: ManualClock
) -> None:
    config = temp_config(tmp_path).replace("security", idle_lock_seconds=300)
    async with running_app(tmp_path, clock, config=config) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        clock.advance(300)
        app.check_session()
        await settle(pilot)
        assert _message(app) == "Signed out after 5 minutes without activity."


async def test_keys_on_the_sign_in_screen_start_no_session(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await type_text(pilot, "abc")
        clock.advance(10_000)
        app.check_session()
        await pilot.pause()
        assert app.session is None
        assert _message(app) == ""


async def test_an_unprintable_address_typed_in_is_refused_like_any_other(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        await add_account(services, "odd@acme-logistics.com", "Odd", "plain old secret 12")
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, "[red]odd@acme-logistics.com", "plain old secret 12")
            assert _message(app) == INCORRECT
    finally:
        await services.close()


# ---------------------------------------------------------------------------------- snapshots


def test_snapshot_sign_in_empty(snap_compare, tmp_path: Path) -> None:
    with demo_app(tmp_path) as app:
        assert snap_compare(app, terminal_size=(80, 24), run_before=steady)


def test_snapshot_sign_in_with_error(snap_compare, tmp_path: Path) -> None:
    async def wrong_password(pilot) -> None:
        await sign_in(pilot, USER_EMAIL, "not my password")
        steady(pilot)

    with demo_app(tmp_path) as app:
        assert snap_compare(app, terminal_size=(80, 24), run_before=wrong_password)


async def test_audit_events_past_retention_go_once_the_sign_in_screen_shows(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        year = services.config.audit.retention_days * 86_400
        async with services.db.write() as conn:
            await audit.record(conn, clock.now() - year - 60, "user.signed_in", detail="old")
            await audit.record(conn, clock.now() - year + 60, "user.signed_in", detail="recent")
        async with running_app(tmp_path, clock, services=services) as (app, _pilot):
            assert isinstance(app.screen, SignInScreen)
            await app.workers.wait_for_complete()
            rows = await services.db.fetchall(
                "SELECT event, detail FROM audit_events"
                " WHERE detail IN ('old', 'recent') OR event = 'audit.pruned'"
            )
        assert sorted(tuple(row) for row in rows) == [
            ("audit.pruned", "1 event older than 365 days"),
            ("user.signed_in", "recent"),
        ]
    finally:
        await services.close()

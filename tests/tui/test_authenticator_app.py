"""The authenticator app in the screens: the Setup card's QR code screen (decoded back to the URI),
Verify with the app chosen (nothing sent), the Security page, and snapshots of the QR code screen
at 80x24 in full colour, 16 colours and NO_COLOR."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from mfa import factors, notices, totp
from mfa.clock import ManualClock
from mfa.services import Services
from store import accounts as account_store
from store import audit
from store.models import User
from tests.mfa.factor_helpers import granted
from tests.mfa.totp_helpers import key_of, reference_code
from tests.qr_decode import decode
from tests.tui.helpers import (
    DEMO_USER,
    demo_app,
    fill,
    keep_recovery_codes,
    running_app,
    seeded_services,
    settle,
    shown,
    sign_in,
    steady,
)
from tests.tui.test_qr_widget import drawn_pixels
from tui.app import MfaApp
from tui.screens.authenticator import AuthenticatorSetupScreen
from tui.screens.home import HomeScreen
from tui.screens.reauth import ReauthScreen
from tui.screens.security import APP_DESTINATION, SecurityScreen
from tui.screens.setup import CONTINUE_HINT, SECOND_METHOD, SET_UP, SetupScreen
from tui.screens.verify import VerifyScreen
from tui.widgets.method_cards import CardStage, MethodCards
from tui.widgets.qr import QrCode

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXQ"
"""A fixed key, so the snapshots hold one QR code."""
SIZE = (80, 24)


@pytest.fixture
def fixed_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(totp, "new_secret", lambda: SECRET)


async def jordan(services: Services) -> User:
    user = await account_store.user_by_email(services.db, DEMO_USER[0])
    assert user is not None
    return user


def app_code(clock: ManualClock, secret: str = SECRET) -> str:
    """What the phone's app shows now (an RFC 6238 implementation that isn't pyotp)."""
    return reference_code(key_of(secret), clock.now())


async def outbox_count(services: Services) -> int:
    """Messages sent, security notices (which carry no code) left out."""
    messages = await audit.outbox(services.db, limit=1_000)
    return len([m for m in messages if not notices.is_notice(m.subject, m.body)])


async def open_app_setup(pilot: Pilot[None]) -> AuthenticatorSetupScreen:
    """Signed in as Jordan (MFA required, nothing set up): Setup on the Authenticator app card."""
    await sign_in(pilot, *DEMO_USER)
    assert isinstance(pilot.app.screen, SetupScreen)
    await pilot.click("#totp-setup")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, AuthenticatorSetupScreen)
    return screen


async def test_setup_shows_a_qr_code_that_decodes_to_the_uri_then_verifies(
    tmp_path: Path, clock: ManualClock, fixed_secret: None
) -> None:
    async with running_app(tmp_path, clock, mfa_enabled=True) as (app, pilot):
        screen = await open_app_setup(pilot)
        uri = totp.provisioning_uri(SECRET, account=DEMO_USER[0], issuer="Acme Logistics")
        qr = screen.query_one(QrCode)
        # The whole code is on an 80x24 screen, and what is drawn decodes back to the URI.
        assert qr.region.right <= 80 and qr.region.bottom <= 23
        strips = qr.render_lines(Region(0, 0, *qr.size))
        assert decode(drawn_pixels([list(strip) for strip in strips])) == [uri]
        key = shown(screen.query_one("#totp-key"))
        assert key == "JBSW Y3DP EHPK 3PXP\nJBSW Y3DP EHPK 3PXQ"
        assert screen.query_one("#totp-key").region.right <= 80
        assert "Acme Logistics" in shown(screen.query_one("#totp-account"))
        assert app.focused is screen.query_one("#totp-code", Input)

        # A wrong code is refused, and says so.
        wrong = "000000" if app_code(clock) != "000000" else "111111"
        screen.query_one("#totp-code", Input).value = wrong
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        assert shown(screen.query_one("#totp-message")) == totp.CODE_WRONG

        # The app's code verifies it: the first method brings the recovery codes; kept, back on
        # Setup, the card done.
        screen.query_one("#totp-code", Input).value = app_code(clock)
        await pilot.press("enter")
        await settle(pilot)
        assert len(await keep_recovery_codes(pilot)) == 10
        assert isinstance(app.screen, SetupScreen)
        cards = app.screen.query_one(MethodCards)
        assert cards.totp_card is not None and cards.totp_card.stage is CardStage.DONE
        status = shown(app.screen.query_one("#setup-status"))
        assert status == f"{SET_UP} {SECOND_METHOD} {CONTINUE_HINT}"
        await pilot.click("#setup-continue")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        user = await jordan(app.services)
        [method] = await factors.methods_of(app.services, user.id)
        assert (method.kind, method.verified) == ("totp", True)
        assert await outbox_count(app.services) == 0  # nothing was sent


async def test_escape_leaves_the_app_not_verified_and_setup_again_makes_a_new_key(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock, mfa_enabled=True) as (app, pilot):
        first = shown((await open_app_setup(pilot)).query_one("#totp-key"))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
        assert app.focused is app.screen.query_one("#totp-setup")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AuthenticatorSetupScreen)
        assert shown(app.screen.query_one("#totp-key")) != first


async def app_user(tmp_path: Path, clock: ManualClock) -> Services:
    """The demo with MFA on and Jordan's authenticator app set up (last used)."""
    services = await seeded_services(tmp_path, clock, mfa_enabled=True)
    user = await jordan(services)
    setup = await totp.start_totp_setup(services, user.id, attempt=await granted(services, user.id))
    assert setup.ok
    confirmed = await totp.confirm_totp_setup(services, user.id, app_code(clock, SECRET))
    assert confirmed.ok
    return services


async def test_verify_with_the_app_sends_nothing_and_signs_in_with_its_code(
    tmp_path: Path, clock: ManualClock, fixed_secret: None
) -> None:
    services = await app_user(tmp_path, clock)
    try:
        clock.advance(60)
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            screen = app.screen
            assert isinstance(screen, VerifyScreen)
            assert screen.methods[screen.chosen_method_id or 0].kind == "totp"
            assert shown(screen.sent_line) == factors.APP_CODE_LINE
            assert not screen.query_one("#resend").display
            assert await outbox_count(services) == 0
            screen.query_one("#verify-code", Input).value = app_code(clock)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, HomeScreen)
    finally:
        await services.close()


async def test_a_replayed_app_code_is_refused_on_verify(
    tmp_path: Path, clock: ManualClock, fixed_secret: None
) -> None:
    services = await app_user(tmp_path, clock)
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            screen = app.screen
            assert isinstance(screen, VerifyScreen)
            # The code the setup was confirmed with: its step was used.
            screen.query_one("#verify-code", Input).value = app_code(clock)
            await pilot.press("enter")
            await settle(pilot)
            assert app.screen is screen
            assert shown(screen.message_line) == totp.CODE_REPLAYED
    finally:
        await services.close()


async def test_the_security_page_lists_the_app_and_removes_it(
    tmp_path: Path, clock: ManualClock, fixed_secret: None
) -> None:
    services = await app_user(tmp_path, clock)
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            assert isinstance(app, MfaApp)
            user = await jordan(services)
            app.complete_sign_in(user)
            await settle(pilot)
            await pilot.press("s")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, SecurityScreen)
            table = screen.query_one("#security-methods", DataTable)
            row = [str(cell) for cell in table.get_row_at(0)]
            assert row[:3] == ["Authenticator app", APP_DESTINATION, "Verified"]
            # Email and SMS can still be added; the note about sent codes shows (the app is
            # on offer).
            assert str(screen.query_one("#security-add").label) == "Add a method"  # type: ignore[attr-defined]
            assert screen.query_one("#security-note").display
            # MFA is not required of Jordan here: the app can go.
            async with services.db.write() as conn:
                await conn.execute("UPDATE users SET mfa_required = 0 WHERE id = ?", (user.id,))
            table.focus()
            await pilot.press("delete")
            await settle(pilot)
            await pilot.press("y")
            await settle(pilot)
            # Confirm it's you: the password and the app's next code (nothing is sent to it).
            assert isinstance(app.screen, ReauthScreen)
            assert not app.screen.query_one("#reauth-send").display
            await fill(pilot, "#reauth-password", DEMO_USER[1])
            assert app.focused is app.screen.query_one("#reauth-code", Input)
            clock.advance(30)  # the setup's code was used: the app shows the next one
            await fill(pilot, "#reauth-code", app_code(clock))
            assert await factors.methods_of(services, user.id) == []
    finally:
        await services.close()


# ------------------------------------------------------------------------------------ snapshots


def _on_app_setup(pilot: Pilot[None]) -> object:
    async def run_before(pilot: Pilot[None]) -> None:
        await open_app_setup(pilot)
        steady(pilot)

    return run_before(pilot)


def _colour_env(monkeypatch: pytest.MonkeyPatch, term: str, no_color: bool) -> None:
    monkeypatch.setenv("TERM", term)
    for name in ("COLORTERM", "NO_COLOR", "FORCE_COLOR", "TEXTUAL_COLOR_SYSTEM"):
        monkeypatch.delenv(name, raising=False)
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")


def test_snapshot_authenticator_setup(snap_compare, tmp_path: Path, fixed_secret: None) -> None:
    with demo_app(tmp_path, mfa_enabled=True) as app:
        assert snap_compare(app, terminal_size=SIZE, run_before=_on_app_setup)


def test_snapshot_authenticator_setup_16_colours(
    snap_compare, tmp_path: Path, fixed_secret: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _colour_env(monkeypatch, "linux", no_color=False)
    with demo_app(tmp_path, mfa_enabled=True) as app:
        assert snap_compare(app, terminal_size=SIZE, run_before=_on_app_setup)


def test_snapshot_authenticator_setup_no_color(
    snap_compare, tmp_path: Path, fixed_secret: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _colour_env(monkeypatch, "xterm-256color", no_color=True)
    with demo_app(tmp_path, mfa_enabled=True) as app:
        assert app.no_color
        assert snap_compare(app, terminal_size=SIZE, run_before=_on_app_setup)


async def test_the_demo_inbox_shows_the_apps_current_code_as_a_demo_aid(
    tmp_path: Path, clock: ManualClock, fixed_secret: None
) -> None:
    services = await app_user(tmp_path, clock)
    services.demo = True  # as mfa-tui --demo opens them
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            app.action_demo_inbox()
            await settle(pilot)
            aid = app.screen.query_one("#inbox-app-codes")
            assert aid.display
            assert "demo aid" in str(aid.border_title)
            code = app_code(clock)
            assert f"{DEMO_USER[0]}: {code[:3]} {code[3:]}" in shown(aid)
    finally:
        await services.close()


async def test_the_demo_inbox_shows_no_codes_outside_demo_mode_or_without_apps(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        app.action_demo_inbox()
        await settle(pilot)
        assert not app.screen.query_one("#inbox-app-codes").display

"""The home screen: admin vs user, where its entries lead, sign out, literal names, snapshots."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Button, Input

from mfa import demo
from mfa.clock import ManualClock
from store import audit
from tests.tui.helpers import (
    DEMO_ADMIN,
    DEMO_USER,
    add_account,
    add_account_named_raw,
    demo_app,
    running_app,
    seeded_services,
    settle,
    shown,
    sign_in,
    signed_in_as,
)
from tui.app import MfaApp
from tui.screens.home import HomeScreen
from tui.screens.preferences import GeneralPreferencesScreen
from tui.screens.security import SecurityScreen
from tui.screens.signin import SignInScreen


def _texts(app: MfaApp, selector: str) -> list[str]:
    return [shown(widget) for widget in app.screen.query(selector)]


def _buttons(app: MfaApp) -> list[str]:
    return [str(button.label) for button in app.screen.query("#home-actions Button")]


def _footer_keys(app: MfaApp) -> set[str]:
    return {
        binding.description for _, binding, enabled, _ in app.active_bindings.values() if enabled
    }


async def test_an_admin_sees_their_details_products_and_general_preferences(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_ADMIN)
        assert isinstance(app.screen, HomeScreen)
        assert _texts(app, "#home-name") == ["Avery Admin"]
        assert _texts(app, "#home-email") == [demo.ADMIN_EMAIL]
        assert _texts(app, "#home-role") == ["Administrator"]
        assert _texts(app, "#home-subscription-name") == ["Acme Logistics"]
        assert _texts(app, ".home-product") == [f"• {name}" for name in demo.PRODUCTS]
        assert _buttons(app) == ["Settings > General Preferences", "Security settings", "Sign out"]
        assert {"Preferences", "Security", "Sign out"} <= _footer_keys(app)


async def test_a_user_sees_no_general_preferences_by_button_or_key(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        assert _texts(app, "#home-name") == ["Jordan Lee"]
        assert _texts(app, "#home-role") == ["User"]
        assert _texts(app, ".home-product") == [f"• {name}" for name in demo.PRODUCTS]
        assert _buttons(app) == ["Security settings", "Sign out"]
        assert "Preferences" not in _footer_keys(app)
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)


async def test_the_buttons_are_reached_in_order_with_tab(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_ADMIN)
        order = []
        for _ in range(5):
            assert isinstance(app.focused, Button)
            order.append(app.focused.id)
            await pilot.press("tab")
        assert order == [
            "general-preferences",
            "security-settings",
            "sign-out",
            "users",
            "audit-log",
        ]
        assert app.focused is not None and app.focused.id == "general-preferences"  # wraps round


async def test_general_preferences_opens_for_an_admin_by_button_and_by_key(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_ADMIN)
        await pilot.press("enter")  # the first button has focus
        await pilot.pause()
        assert isinstance(app.screen, GeneralPreferencesScreen)
        assert app.screen.user.email == demo.ADMIN_EMAIL
        app.pop_screen()
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, GeneralPreferencesScreen)


async def test_security_settings_open_for_everyone_and_escape_returns_home(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        await pilot.press("enter")  # "Security settings" is the user's first button
        await pilot.pause()
        assert isinstance(app.screen, SecurityScreen)
        assert app.screen.user.email == DEMO_USER[0]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SecurityScreen)


async def test_sign_out_returns_to_an_empty_sign_in_screen(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_ADMIN)
        app.screen.query_one("#sign-out", Button).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert len(app.screen_stack) == 2 and isinstance(app.screen, SignInScreen)
        assert app.screen.query_one("#email", Input).value == ""
        assert app.screen.query_one("#password", Input).value == ""
        assert shown(app.screen.query_one("#signin-message")) == ""
        assert app.session is None
        ended = [e for e in await audit.events(app.services.db) if e.event == "session.ended"]
        assert [e.detail for e in ended] == ["signed out"]
        # And in again, as someone else, with the key this time.
        await sign_in(pilot, *DEMO_USER)
        assert _texts(app, "#home-name") == ["Jordan Lee"]
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)


async def test_names_from_the_database_are_shown_literally(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        await add_account(
            services, "markup@acme-logistics.com", "[bold red]x[/]", "tall green 1ladder"
        )
        # New names with control characters are refused; older versions stored them.
        await add_account_named_raw(
            services,
            "escape@acme-logistics.com",
            "Eve\x1b[2J\x1b]0;pwned\x07\u202eRTL",
            "tall green 1ladder",
        )
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, "markup@acme-logistics.com", "tall green 1ladder")
            assert _texts(app, "#home-name") == ["[bold red]x[/]"]
            await pilot.press("o")
            await settle(pilot)
            await sign_in(pilot, "escape@acme-logistics.com", "tall green 1ladder")
            name = _texts(app, "#home-name")[0]
            assert name == "Eve^[[2J^[]0;pwned^G\ufffdRTL"
            screenshot = app.export_screenshot()
            assert "\x1b" not in name and "\u202e" not in screenshot
            assert "Eve^[[2J^[]0;pwned^G" in screenshot
    finally:
        await services.close()


# ---------------------------------------------------------------------------------- snapshots


def test_snapshot_home_as_admin(snap_compare, tmp_path: Path) -> None:
    with demo_app(tmp_path) as app:
        assert snap_compare(app, terminal_size=(80, 24), run_before=signed_in_as(*DEMO_ADMIN))


def test_snapshot_home_as_user(snap_compare, tmp_path: Path) -> None:
    with demo_app(tmp_path) as app:
        assert snap_compare(app, terminal_size=(80, 24), run_before=signed_in_as(*DEMO_USER))

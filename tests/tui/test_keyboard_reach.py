"""Every action is reachable from the keyboard: a key the 80-column footer shows in full, or Tab.

Home (an admin with products to open, and a user), the Security page, and the dialogs it opens:
the focus starts on the next thing to do, Tab walks every button in reading order and comes back
round, Shift+Tab walks it backwards, and every key the footer lists is drawn within 80 columns.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button
from textual.widgets._footer import FooterKey

from mfa.clock import ManualClock
from tests.tui.helpers import DEMO_ADMIN, DEMO_USER, fill, running_app, settle, sign_in
from tests.tui.test_home_products import LOCKER, TRACK, product_config
from tui.app import MfaApp
from tui.screens.change_password import ChangePasswordScreen
from tui.screens.dialogs import ConfirmDialog
from tui.screens.home import HomeScreen
from tui.screens.reauth import ReauthScreen
from tui.screens.security import MethodSetupScreen, SecurityScreen


def name_of(widget: Widget | None) -> str:
    if widget is None:
        return "(nothing)"
    if isinstance(widget, Button):
        return str(widget.label)
    return widget.id or type(widget).__name__


async def walk(pilot: Pilot[None], key: str = "tab", limit: int = 40) -> list[str]:
    """The focus, then each widget ``key`` moves it to, until it is back where it started."""
    app = pilot.app
    start = app.focused
    order = [start]
    for _ in range(limit):
        await pilot.press(key)
        await pilot.pause()
        if app.focused is start:
            return [name_of(widget) for widget in order]
        order.append(app.focused)
    raise AssertionError(f"{key} never came back round: {[name_of(w) for w in order]}")


def buttons(app: MfaApp) -> set[str]:
    """The buttons a person can press on the current screen (shown and enabled)."""
    return {
        name_of(button)
        for button in app.screen.query(Button)
        if button.display and button.visible and not button.disabled
        and all(ancestor.display for ancestor in button.ancestors_with_self if isinstance(ancestor, Widget))
    }  # fmt: skip


def footer(app: MfaApp) -> dict[str, bool]:
    """Each key the footer lists, and whether it is drawn in full within the screen's width."""
    width = app.size.width
    return {
        key.description: key.region.width > 0 and key.region.right <= width
        for key in app.screen.query(FooterKey)
    }


async def assert_reachable(pilot: Pilot[None]) -> list[str]:
    """Every button in the Tab order (and backwards), every footer key in view; the Tab order."""
    app = pilot.app
    assert isinstance(app, MfaApp)
    forward = await walk(pilot)
    backward = await walk(pilot, "shift+tab")
    assert backward == [forward[0], *reversed(forward[1:])]
    missing = buttons(app) - set(forward)
    assert not missing, f"not reachable by Tab: {missing}; Tab order {forward}"
    hidden = [description for description, in_view in footer(app).items() if not in_view]
    assert not hidden, f"footer keys beyond 80 columns: {hidden}"
    return forward


async def test_home_tab_order_for_an_admin_with_products(
    tmp_path: Path, clock: ManualClock
) -> None:
    config = product_config(tmp_path)
    async with running_app(tmp_path, clock, config=config) as (app, pilot):
        await sign_in(pilot, *DEMO_ADMIN)
        assert isinstance(app.screen, HomeScreen)
        order = await assert_reachable(pilot)
        assert order == [
            f"1 {TRACK}",
            f"2 {LOCKER}",
            "Settings > General Preferences",
            "Security settings",
            "Sign out",
            "Users",
            "Audit log",
        ]
        assert {"Preferences", "Security", "Sign out", "Quit", "Demo inbox"} <= set(footer(app))


async def test_home_tab_order_for_a_user_without_products(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        assert isinstance(app.screen, HomeScreen)
        assert await assert_reachable(pilot) == ["Security settings", "Sign out"]
        assert "Preferences" not in footer(app)


async def test_the_security_page_and_its_dialogs(tmp_path: Path, clock: ManualClock) -> None:
    async with running_app(tmp_path, clock, mfa_enabled=False) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SecurityScreen)
        order = await assert_reachable(pilot)
        assert order[0] == "Add a method"  # no method yet: adding one is the next thing to do
        assert "Change password" in order  # its key (p) is not in the footer: Tab reaches it

        await pilot.press("a")  # Add method: first "Confirm it's you" (no method yet: the password)
        await settle(pilot)
        assert isinstance(app.screen, ReauthScreen)
        await assert_reachable(pilot)
        await fill(pilot, "#reauth-password", DEMO_USER[1])
        assert isinstance(app.screen, MethodSetupScreen)
        await assert_reachable(pilot)
        await pilot.press("escape")
        await settle(pilot)

        await pilot.press("p")  # Change password
        await settle(pilot)
        assert isinstance(app.screen, ChangePasswordScreen)
        await assert_reachable(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SecurityScreen)


async def test_a_confirmation_dialog(tmp_path: Path, clock: ManualClock) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        answers: list[bool | None] = []
        dialog = ConfirmDialog("Remove the method?", confirm="Remove", cancel="Keep it")
        app.push_screen(dialog, answers.append)
        await settle(pilot)
        assert await assert_reachable(pilot) == ["Keep it", "Remove"]  # the safe answer first

"""Keys that reach the app together keep their meaning (tui.keys), under Pilot.

Pilot's ``press`` waits for the app to go idle after every key; a terminal doesn't. Here every key
is posted to the app at once, as Textual's driver does with the keys of one read.
"""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.widgets import Input

from mfa.clock import ManualClock
from tests.tui.helpers import DEMO_ADMIN, running_app, settle, wait_until
from tui.app import MfaApp
from tui.screens.home import HomeScreen
from tui.screens.signin import SignInScreen

_NAMED = {"\t": "tab", "\r": "enter", "@": "at", ".": "full_stop", " ": "space"}


def post_at_once(app: MfaApp, text: str) -> None:
    """Post one key event per character of ``text`` without waiting in between."""
    for character in text:
        app.post_message(events.Key(_NAMED.get(character, character), character))


async def test_email_tab_password_enter_at_once_signs_in(
    tmp_path: Path, clock: ManualClock
) -> None:
    email, password = DEMO_ADMIN
    async with running_app(tmp_path, clock) as (app, pilot):
        post_at_once(app, f"{email}\t{password}\r")
        await pilot.pause(0.2)
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert app.session is not None and app.session.user.email == email


async def test_keys_after_tab_go_to_the_next_field(tmp_path: Path, clock: ManualClock) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        post_at_once(app, "ab\tcd\t")
        screen = app.screen
        assert isinstance(screen, SignInScreen)
        # Under load the held keys take a few loop turns each: wait for the last one, the Tab.
        await wait_until(pilot, lambda: app.key_order.holding == 0, "every key to be handled")
        await wait_until(
            pilot, lambda: app.focused is screen.query_one("#sign-in"), "the last Tab to land"
        )
        assert screen.query_one("#email", Input).value == "ab"
        assert screen.query_one("#password", Input).value == "cd"
        assert app.focused is screen.query_one("#sign-in")
        assert app.key_order.holding == 0


async def test_keys_typed_one_by_one_are_handled_at_once(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await pilot.press("x")
        assert app.screen.query_one("#email", Input).value == "x"
        assert app.key_order.holding == 0

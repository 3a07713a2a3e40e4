"""In a 16-colour terminal (``TERM=linux``, ``TERM=xterm`` over SSH) every text reads at 4.5:1 or
more with xterm's palette and the Linux console's, input fields show when they haven't the focus,
and the focus shows by more than colour. With ``NO_COLOR`` the app is monochrome and still usable.

How the contrast is measured: tests/tui/contrast.py. The screens are those a technician meets:
sign-in (with a refusal), Setup, Verify, home, General Preferences, Security, the Demo inbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from mfa.clock import ManualClock
from store import accounts as account_store
from tests.mfa.factor_helpers import set_up_email
from tests.smtp_server import SmtpSink
from tests.tui import contrast
from tests.tui.helpers import (
    DEMO_ADMIN,
    DEMO_USER,
    SIZE,
    seeded_services,
    settle,
    sign_in,
    steady,
    temp_config,
)
from tui.app import MfaApp, create_app
from tui.screens.home import HomeScreen
from tui.screens.setup import SetupScreen
from tui.screens.signin import SignInScreen
from tui.screens.verify import VerifyScreen
from tui.theme import SIXTEEN_THEME, colour_mode

Step = Callable[[Pilot[None]], Awaitable[None]]


@pytest.fixture
def sixteen_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment of a Linux console: 16 colours, nothing that asks for more."""
    monkeypatch.setenv("TERM", "linux")
    for name in ("COLORTERM", "NO_COLOR", "FORCE_COLOR", "TEXTUAL_COLOR_SYSTEM"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def no_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("NO_COLOR", "1")
    for name in ("COLORTERM", "FORCE_COLOR", "TEXTUAL_COLOR_SYSTEM"):
        monkeypatch.delenv(name, raising=False)


# ------------------------------------------------------------------------------------ the screens


async def _refused(pilot: Pilot[None]) -> None:
    await sign_in(pilot, DEMO_ADMIN[0], "not the password")
    assert isinstance(pilot.app.screen, SignInScreen)


async def _home(pilot: Pilot[None]) -> None:
    await sign_in(pilot, *DEMO_ADMIN)
    assert isinstance(pilot.app.screen, HomeScreen)


async def _preferences(pilot: Pilot[None]) -> None:
    await _home(pilot)
    await pilot.press("p")
    await settle(pilot)


async def _security(pilot: Pilot[None]) -> None:
    await _home(pilot)
    await pilot.press("s")
    await settle(pilot)


async def _inbox(pilot: Pilot[None]) -> None:
    await pilot.press("ctrl+o")
    await settle(pilot)


async def _setup(pilot: Pilot[None]) -> None:
    await sign_in(pilot, *DEMO_USER)
    assert isinstance(pilot.app.screen, SetupScreen)


async def _verify(pilot: Pilot[None]) -> None:
    await sign_in(pilot, *DEMO_USER)
    assert isinstance(pilot.app.screen, VerifyScreen)


async def _verify_wrong_code(pilot: Pilot[None]) -> None:
    await _verify(pilot)
    code = pilot.app.screen.query_one("#verify-code", Input)
    code.focus()
    await pilot.pause()
    await pilot.press(*"000000", "enter")
    await settle(pilot)


async def _press_button(pilot: Pilot[None], selector: str) -> None:
    pilot.app.screen.query_one(selector).focus()
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)


async def _add_method(pilot: Pilot[None]) -> None:
    await _security(pilot)
    await _press_button(pilot, "#security-add")


async def _change_password(pilot: Pilot[None]) -> None:
    await _security(pilot)
    await _press_button(pilot, "#security-change-password")


async def _setup_code_sent(pilot: Pilot[None]) -> None:
    await _setup(pilot)
    await _press_button(pilot, "#email-setup")
    await _press_button(pilot, "#email-send")  # a notification says a message arrived


async def _verify_dropdown(pilot: Pilot[None]) -> None:
    await _verify(pilot)
    await _press_button(pilot, "#verify-method")


async def _notified(pilot: Pilot[None]) -> None:
    app = pilot.app
    app.notify("Press Ctrl+O to read it.", title="A message arrived")
    app.notify("Check the address.", title="Not delivered", severity="warning")
    app.notify("Try again.", title="Failed", severity="error")
    await pilot.pause()
    assert len(app.screen.query("Toast")) == 3


async def _nothing(pilot: Pilot[None]) -> None:
    return None


SCREENS: dict[str, tuple[Step, str]] = {
    "sign-in": (_nothing, "demo"),
    "sign-in refused": (_refused, "demo"),
    "home": (_home, "demo"),
    "notifications": (_notified, "demo"),
    "preferences": (_preferences, "demo"),
    "security": (_security, "demo"),
    "demo inbox": (_inbox, "demo"),
    "add a method": (_add_method, "demo"),
    "change password": (_change_password, "demo"),
    "setup": (_setup, "mfa"),
    "setup code sent": (_setup_code_sent, "mfa"),
    "verify": (_verify, "email"),
    "verify wrong code": (_verify_wrong_code, "email"),
    "verify dropdown": (_verify_dropdown, "email"),
}
"""Each screen: how to reach it from the sign-in screen, and the data it needs ("demo": the demo;
"mfa": MFA on, nothing set up; "email": MFA on, Jordan Lee has email set up)."""


async def _prepare(tmp_path: Path, clock: ManualClock, sink: SmtpSink, data: str) -> MfaApp:
    config = dataclasses.replace(temp_config(tmp_path), email=sink.email_config())
    services = await seeded_services(tmp_path, clock, mfa_enabled=data != "demo", config=config)
    if data == "email":
        user = await account_store.user_by_email(services.db, DEMO_USER[0])
        assert user is not None
        await set_up_email(services, user, sink)
        clock.advance(3600)
    return create_app(services, demo=True)


@asynccontextmanager
async def showing(tmp_path: Path, screen: str) -> AsyncIterator[tuple[MfaApp, Pilot[None]]]:
    """The app at 80x24 on ``screen`` (see SCREENS), cursors still."""
    step, data = SCREENS[screen]
    async with SmtpSink() as sink:
        app = await _prepare(tmp_path, ManualClock(), sink, data)
        try:
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                await pilot.pause()
                await step(pilot)
                steady(pilot)
                await pilot.pause()
                yield app, pilot
        finally:
            await app.services.close()


# ------------------------------------------------------------------------------------ the checks


@pytest.mark.parametrize("screen", list(SCREENS))
async def test_every_text_reads_at_16_colours(
    sixteen_colours: None, tmp_path: Path, screen: str
) -> None:
    async with showing(tmp_path, screen) as (app, _pilot):
        assert colour_mode(app) == "16"
        assert app.theme == SIXTEEN_THEME
        assert list(contrast.cells(app)), "nothing measured"
        failures = contrast.too_low(app)
        assert not failures, "\n".join(str(finding) for finding in failures[:20])


def _field_edges(app: MfaApp) -> dict[str, tuple[str, str]]:
    """How each input field's top-left corner is drawn: (character, its colours and style)."""
    cells = list(contrast.cells(app))
    edges = {}
    for field in app.screen.query(Input):
        region = field.region
        at = next(
            cell
            for cell in cells
            if cell.row == region.y and cell.column <= region.x < cell.column + len(cell.text)
        )
        edges[field.id or ""] = (at.text[region.x - at.column], str(at.style))
    return edges


@pytest.mark.parametrize("mode", ["sixteen_colours", "no_colour"])
async def test_fields_show_and_the_focus_shows_by_its_shape(
    request: pytest.FixtureRequest, tmp_path: Path, mode: str
) -> None:
    request.getfixturevalue(mode)
    async with showing(tmp_path, "sign-in") as (app, pilot):
        edges = _field_edges(app)
        # Both fields have a drawn edge; the focused one (email) a different character.
        assert contrast.is_drawing(edges["email"][0]) and contrast.is_drawing(edges["password"][0])
        assert edges["email"][0] != edges["password"][0]
        blurred = edges["password"]
        await pilot.press("tab")
        moved = _field_edges(app)
        assert moved["password"][0] == edges["email"][0]
        assert moved["email"] == blurred
        # The unfocused field's edge reads against the screen (at 16 colours).
        if mode == "sixteen_colours":
            assert not contrast.too_low(app)


async def test_no_colour_sends_no_colour(no_colour: None, tmp_path: Path) -> None:
    async with showing(tmp_path, "sign-in") as (app, _pilot):
        assert colour_mode(app) == "none"
        for cell in contrast.cells(app):
            assert cell.foreground == cell.background == contrast.DEFAULT, cell


async def test_full_colour_terminals_keep_the_full_colour_look(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.delenv("NO_COLOR", raising=False)
    async with showing(tmp_path, "sign-in") as (app, _pilot):
        assert colour_mode(app) == "full"
        assert app.theme != SIXTEEN_THEME


# ------------------------------------------------------------------------------------ snapshots


@contextmanager
def snapshot_app(tmp_path: Path, data: str) -> Iterator[MfaApp]:
    """An app for ``snap_compare`` (its own event loop), in the environment set by a fixture."""
    with SmtpSink() as sink:
        app = asyncio.run(_prepare(tmp_path, ManualClock(), sink, data))
        try:
            yield app
        finally:
            asyncio.run(app.services.close())


def _then(step: Step) -> Step:
    async def run_before(pilot: Pilot[None]) -> None:
        await step(pilot)
        steady(pilot)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("mode", ["sixteen_colours", "no_colour"])
@pytest.mark.parametrize("screen", ["sign-in", "verify"])
def test_snapshot(
    snap_compare, request: pytest.FixtureRequest, tmp_path: Path, mode: str, screen: str
) -> None:
    request.getfixturevalue(mode)
    step, data = SCREENS[screen]
    with snapshot_app(tmp_path, data) as app:
        assert snap_compare(app, terminal_size=SIZE, run_before=_then(step))

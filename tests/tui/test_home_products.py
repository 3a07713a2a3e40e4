"""Products with a command on home: shown as actions, opened by key or button with the identity in
their environment, audited, back on home after; kiosk mode; exit statuses; the snapshot.

The programs run here are real (a small Python script); only handing over the terminal is
replaced, since Pilot has none (``tests/e2e/test_products_in_a_terminal.py`` has the real one).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.widgets import Button

from mfa import demo
from mfa.clock import ManualClock
from mfa.config import Config, ProductCommand
from mfa.session import SessionEnd
from store import audit
from tests.tui.helpers import (
    DEMO_ADMIN,
    DEMO_USER,
    demo_app,
    running_app,
    settle,
    shown,
    sign_in,
    signed_in_as,
    temp_config,
)
from tui.app import STAND_IN, MfaApp
from tui.lifecycle import EXIT_NOT_SIGNED_IN, EXIT_SIGNED_IN
from tui.screens.home import HomeScreen
from tui.screens.signin import SignInScreen

TRACK = "PitneyTrack Inbound"
LOCKER = "Locker Management Module"

ENV_WRITER = (
    "import json, os, sys; "
    "json.dump(dict(os.environ), open(sys.argv[1], 'w')); "
    "sys.exit(int(sys.argv[2]))"
)


def product_config(tmp_path: Path, *, locker_status: int = 0, kiosk: bool = False) -> Config:
    """Two of the demo's four products open a program that records its environment."""
    config = temp_config(tmp_path)
    commands = {
        TRACK: ProductCommand(
            (sys.executable, "-c", ENV_WRITER, str(tmp_path / "track.json"), "0")
        ),
        LOCKER: ProductCommand(
            (sys.executable, "-c", ENV_WRITER, str(tmp_path / "locker.json"), str(locker_status))
        ),
    }
    return dataclasses.replace(config, products=commands).replace("session", kiosk=kiosk)


class FakeSuspend:
    """Stands in for ``App.suspend`` (Pilot has no terminal to hand over) and records its use."""

    def __init__(self, during: Callable[[], None] | None = None) -> None:
        self.calls: list[str] = []
        self.during = during

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        self.calls.append("suspended")
        if self.during is not None:
            self.during()
        yield
        self.calls.append("resumed")


def suspended(app: MfaApp, during: Callable[[], None] | None = None) -> FakeSuspend:
    fake = FakeSuspend(during)
    app.launcher.suspend = fake
    return fake


def launch_labels(app: MfaApp) -> list[str]:
    return [str(button.label) for button in app.screen.query(".home-launch").results(Button)]


def notifications(app: MfaApp) -> list[str]:
    return [note.message for note in app._notifications]


async def product_events(app: MfaApp) -> list[tuple[str, str | None]]:
    rows = reversed(await audit.events(app.services.db))
    return [
        (row.event, row.detail) for row in rows if row.event.startswith(("product.", "session."))
    ]


async def test_products_with_a_command_are_actions_and_the_others_plain_text(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock, config=product_config(tmp_path)) as (app, pilot):
        await sign_in(pilot, *DEMO_ADMIN)
        assert isinstance(app.screen, HomeScreen)
        assert launch_labels(app) == [f"1 {TRACK}", f"2 {LOCKER}"]
        plain = [shown(widget) for widget in app.screen.query(".home-product")]
        assert plain == ["• PitneyShip Pro", "• PitneyAnalytics"]
        assert app.screen.query_one("#home-subscription").border_subtitle == "1-2 opens a product"
        order = []
        for _ in range(5):
            assert app.focused is not None
            order.append(app.focused.id)
            await pilot.press("tab")
        # The first product has the focus: it is what technicians come for.
        assert order == [
            "open-product-1",
            "open-product-2",
            "general-preferences",
            "security-settings",
            "sign-out",
        ]


async def test_a_product_opens_by_key_with_the_identity_and_home_is_back_after(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock, config=product_config(tmp_path)) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        fake = suspended(app)
        session = app.session
        assert session is not None
        await pilot.press("2")
        await settle(pilot)
        assert fake.calls == ["suspended", "resumed"]
        seen = json.loads((tmp_path / "locker.json").read_text())
        assert seen["MFA_TUI_USER_EMAIL"] == DEMO_USER[0]
        assert seen["MFA_TUI_USER_NAME"] == "Jordan Lee"
        assert seen["MFA_TUI_USER_ROLE"] == "user"
        assert seen["MFA_TUI_SUBSCRIPTION"] == demo.SUBSCRIPTION
        assert seen["MFA_TUI_SESSION_ID"] == session.id
        assert seen["MFA_TUI_PRODUCT"] == LOCKER
        assert seen["MFA_TUI_MFA"] == "not required"
        assert isinstance(app.screen, HomeScreen) and app.session is session
        about = f"{LOCKER} (session {session.id})"
        events = await product_events(app)
        assert events[-2][0] == "product.launched" and events[-2][1].startswith(f"{about}: ")
        assert events[-1] == ("product.exited", f"{about}: exit status 0")
        assert notifications(app) == []


async def test_enter_on_the_focused_product_opens_it(tmp_path: Path, clock: ManualClock) -> None:
    async with running_app(tmp_path, clock, config=product_config(tmp_path)) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        fake = suspended(app)
        assert app.focused is not None and app.focused.id == "open-product-1"
        await pilot.press("enter")
        await settle(pilot)
        assert fake.calls == ["suspended", "resumed"]
        assert json.loads((tmp_path / "track.json").read_text())["MFA_TUI_PRODUCT"] == TRACK
        await pilot.press("9")  # no ninth product: nothing happens
        await settle(pilot)
        assert fake.calls == ["suspended", "resumed"]


async def test_a_product_that_fails_is_reported_and_home_stays(
    tmp_path: Path, clock: ManualClock
) -> None:
    config = product_config(tmp_path, locker_status=5)
    async with running_app(tmp_path, clock, config=config) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        suspended(app)
        await pilot.press("2")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert notifications(app) == [f"{LOCKER} ended: exit status 5."]
        assert (await product_events(app))[-1][1].endswith("exit status 5")


async def test_a_program_that_cannot_start_is_reported_and_audited(
    tmp_path: Path, clock: ManualClock
) -> None:
    missing = str(tmp_path / "no-such-program")
    config = dataclasses.replace(
        temp_config(tmp_path), products={LOCKER: ProductCommand((missing, "--kiosk"))}
    )
    async with running_app(tmp_path, clock, config=config) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        fake = suspended(app)
        await pilot.press("1")
        await settle(pilot)
        assert fake.calls == ["suspended", "resumed"]  # the terminal is always given back
        assert isinstance(app.screen, HomeScreen) and app.session is not None
        assert notifications(app) == [
            f"Couldn't start {LOCKER}: No such file or directory ({missing})."
        ]
        assert (await product_events(app))[-1] == (
            "product.failed",
            f"{LOCKER} (session {app.session.id}): couldn't start: No such file or directory",
        )


async def test_the_idle_lock_waits_while_a_product_runs(tmp_path: Path, clock: ManualClock) -> None:
    async with running_app(tmp_path, clock, config=product_config(tmp_path)) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        session = app.session

        def an_hour_in_the_product() -> None:
            clock.advance(3600)  # no key reaches mfa-tui meanwhile
            app.check_session()

        suspended(app, an_hour_in_the_product)
        await pilot.press("1")
        await settle(pilot)
        assert app.session is session and isinstance(app.screen, HomeScreen)
        clock.advance(899)
        app.check_session()
        assert app.session is session  # the idle time counts from the product's end


async def test_the_session_limit_applies_when_the_product_exits(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock, config=product_config(tmp_path)) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        suspended(app, lambda: clock.advance(13 * 3600))
        await pilot.press("1")
        await settle(pilot)
        assert app.session is None and isinstance(app.screen, SignInScreen)
        assert "a session lasts at most 12 hours" in shown(app.screen.query_one("#signin-message"))


# ---------------------------------------------------------------------------------- exit statuses


async def test_ctrl_q_before_a_complete_sign_in_exits_1(tmp_path: Path, clock: ManualClock) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == EXIT_NOT_SIGNED_IN


async def test_ctrl_q_signed_in_exits_0(tmp_path: Path, clock: ManualClock) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == EXIT_SIGNED_IN


async def test_ctrl_q_after_signing_out_exits_1(tmp_path: Path, clock: ManualClock) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == EXIT_NOT_SIGNED_IN


# ---------------------------------------------------------------------------------- kiosk mode


async def session_ends(app: MfaApp) -> list[str | None]:
    return [e.detail for e in await audit.events(app.services.db) if e.event == "session.ended"]


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        pytest.param("sign out", SessionEnd.SIGNED_OUT, id="sign-out"),
        pytest.param("idle", SessionEnd.IDLE, id="idle-lock"),
        pytest.param("limit", SessionEnd.TIME_LIMIT, id="session-limit"),
        pytest.param("product", SessionEnd.PRODUCT_CLOSED, id="product-exits"),
    ],
)
async def test_in_kiosk_mode_the_end_of_the_session_ends_the_program(
    tmp_path: Path, clock: ManualClock, how: str, reason: SessionEnd
) -> None:
    config = product_config(tmp_path, kiosk=True)
    async with running_app(tmp_path, clock, config=config) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        assert isinstance(app.screen, HomeScreen)
        if how == "sign out":
            await pilot.press("o")
        elif how == "idle":
            clock.advance(900)
            app.check_session()
        elif how == "limit":
            clock.advance(12 * 3600)
            app.check_session()
        else:
            suspended(app)
            await pilot.press("1")
        await settle(pilot)
        assert app.return_code == EXIT_SIGNED_IN
        assert not isinstance(app.screen, SignInScreen)  # no sign-in screen for the next person
        assert await session_ends(app) == [reason.value]


async def test_in_kiosk_mode_an_abandoned_sign_in_keeps_the_program(
    tmp_path: Path, clock: ManualClock
) -> None:
    # Escape from Verify back to the sign-in screen is not a sign-out.
    config = product_config(tmp_path, kiosk=True)
    async with running_app(tmp_path, clock, config=config, mfa_enabled=True) as (app, pilot):
        await sign_in(pilot, *DEMO_USER)
        assert app.session is not None and not app.session.signed_in
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        assert app.return_code is None


# ---------------------------------------------------------------------------------- snapshot


def test_snapshot_home_with_products_to_open(snap_compare, tmp_path: Path) -> None:
    config = demo.with_stand_ins(temp_config(tmp_path), STAND_IN)
    with demo_app(tmp_path, config=config) as app:
        assert snap_compare(app, terminal_size=(80, 24), run_before=signed_in_as(*DEMO_USER))

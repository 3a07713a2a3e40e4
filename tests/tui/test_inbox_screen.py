"""The demo inbox: delivered messages (email over the embedded SMTP server, SMS through the outbox)
listed newest first, a notification when one arrives, Ctrl+O from any screen; a snapshot."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from mfa import codes, factors, sending
from mfa.clock import ManualClock
from mfa.demo_mail import DemoMailSink, demo_config
from mfa.services import Services
from store import accounts as account_store
from store import audit
from store.models import User
from tests.tui.helpers import (
    DEMO_USER,
    running_app,
    seeded_services,
    settle,
    shown,
    sign_in,
    temp_config,
)
from tui.app import MfaApp, create_app
from tui.screens.home import HomeScreen
from tui.screens.inbox import NO_MESSAGES, DemoInboxScreen
from tui.screens.signin import SignInScreen
from tui.screens.verify import VerifyScreen

USER_EMAIL = DEMO_USER[0]
MOBILE = "+1 415 555 0100"


@pytest.fixture
async def sink() -> AsyncIterator[DemoMailSink]:
    running = await asyncio.to_thread(DemoMailSink().start)
    try:
        yield running
    finally:
        await asyncio.to_thread(running.stop)


async def demo_services(
    tmp_path: Path, clock: ManualClock, sink: DemoMailSink, *, mfa_enabled: bool = False
) -> Services:
    """The seeded demo on the demo configuration: email to ``sink``, SMS to the outbox."""
    config = demo_config(temp_config(tmp_path), sink)
    services = await seeded_services(tmp_path, clock, mfa_enabled=mfa_enabled, config=config)
    services.demo = True
    return services


@pytest.fixture
async def services(
    tmp_path: Path, clock: ManualClock, sink: DemoMailSink
) -> AsyncIterator[Services]:
    opened = await demo_services(tmp_path, clock, sink)
    try:
        yield opened
    finally:
        await opened.close()


async def jordan(services: Services) -> User:
    user = await account_store.user_by_email(services.db, USER_EMAIL)
    assert user is not None
    return user


def code_in(text: str) -> str:
    [code] = re.findall(r"\b\d{6}\b", text)
    return code


def cards(app: MfaApp) -> list[str]:
    """The inbox's messages as shown, top to bottom."""
    return [shown(card) for card in app.screen.query(".inbox-message")]


def card_titles(app: MfaApp) -> list[str]:
    return [str(card.border_title) for card in app.screen.query(".inbox-message")]


def notifications(app: MfaApp) -> list[tuple[str, str]]:
    """(title, message) of the notifications the app holds (run_test doesn't draw toasts)."""
    return [(note.title, note.message) for note in app._notifications]


def footer_descriptions(app: MfaApp) -> set[str]:
    return {
        binding.description for _, binding, enabled, _ in app.active_bindings.values() if enabled
    }


async def test_a_delivered_message_is_announced_and_listed_newest_first(
    tmp_path: Path, clock: ManualClock, services: Services, sink: DemoMailSink
) -> None:
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        await settle(pilot)
        user = await jordan(services)
        assert (await sending.start_email_setup(services, user)).ok
        assert sink.received == 1
        mailed = code_in(sink.latest[-1].message.get_content())

        announced = await app.demo_inbox.check()
        await pilot.pause()
        assert [message.recipient for message in announced] == [USER_EMAIL]
        assert notifications(app) == [
            ("Demo inbox", f"New email to {USER_EMAIL}. Press Ctrl+O to read it in the Demo inbox.")
        ]
        assert await app.demo_inbox.check() == []  # announced once

        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, DemoInboxScreen)
        [email_card] = cards(app)
        assert email_card.startswith(f"To: {USER_EMAIL}\nSubject: Your verification code\n\n")
        assert f"Your verification code is {mailed}." in email_card
        assert card_titles(app) == [
            "Email · " + time.strftime("%H:%M:%S", time.localtime(clock.now()))
        ]

        # A text message arriving while the inbox is open shows up at the top.
        clock.advance(31)
        assert (await sending.start_sms_setup(services, user, MOBILE)).ok
        assert [m.channel for m in await app.demo_inbox.check()] == ["sms"]
        await settle(pilot)
        sms_card, email_again = cards(app)
        assert sms_card.startswith("To: +14155550100\n\n")
        assert "is your verification code for setup" in sms_card
        assert email_again == email_card
        assert card_titles(app)[0].startswith("SMS · ")

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)


async def test_ctrl_o_is_in_every_footer_in_demo_mode_only(
    tmp_path: Path, clock: ManualClock, services: Services
) -> None:
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        assert "Demo inbox" in footer_descriptions(app)
        await sign_in(pilot, *DEMO_USER)
        assert isinstance(app.screen, HomeScreen)
        assert "Demo inbox" in footer_descriptions(app)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, DemoInboxScreen)
        assert "Demo inbox" in footer_descriptions(app)
        assert [shown(widget) for widget in app.screen.query("#inbox-empty")] == [NO_MESSAGES]
        await pilot.press("ctrl+o")  # Ctrl+O again closes it
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)

    async with running_app(tmp_path, clock, services=services, demo_mode=False) as (app, pilot):
        assert "Demo inbox" not in footer_descriptions(app)
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)


async def test_failed_deliveries_are_neither_listed_nor_announced_and_text_is_literal(
    tmp_path: Path, clock: ManualClock, services: Services
) -> None:
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        await settle(pilot)
        async with services.db.write() as conn:
            await audit.log_delivery(
                conn, clock.now(), "email", "down@example.com", "Code", None, "unreachable"
            )
            await audit.log_delivery(
                conn, clock.now(), "sms", "[bold red]x[/]", "", "Body with [b]markup[/b]", None
            )
        announced = await app.demo_inbox.check()
        await pilot.pause()
        assert [message.recipient for message in announced] == ["[bold red]x[/]"]
        assert [message for _, message in notifications(app)] == [
            "New text message to [bold red]x[/]. Press Ctrl+O to read it in the Demo inbox."
        ]
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert cards(app) == ["To: [bold red]x[/]\n\nBody with [b]markup[/b]"]


async def test_the_sign_in_code_can_be_read_in_the_inbox_from_the_verify_screen(
    tmp_path: Path, clock: ManualClock, sink: DemoMailSink
) -> None:
    services = await demo_services(tmp_path, clock, sink, mfa_enabled=True)
    try:
        user = await jordan(services)
        assert (await sending.start_email_setup(services, user)).ok
        setup_code = code_in(sink.latest[-1].message.get_content())
        assert (await factors.confirm_setup(services, user, "email", setup_code)).ok
        clock.advance(3600)
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            verify = app.screen
            assert isinstance(verify, VerifyScreen)
            code_field = verify.query_one("#verify-code", Input)
            assert app.focused is code_field
            mails = sink.received

            await pilot.press("ctrl+o")  # from inside the code field: no clash with its keys
            await settle(pilot)
            assert isinstance(app.screen, DemoInboxScreen)
            newest = cards(app)[0]
            # The message names who sends it: the subscription and its products.
            assert "Enter it to finish signing in to Acme Logistics (PitneyShip Pro, " in newest
            code = code_in(newest)

            await pilot.press("escape")
            await settle(pilot)
            assert app.screen is verify
            assert sink.received == mails  # coming back sent nothing
            assert app.focused is code_field
            await pilot.press(*code, "enter")
            await settle(pilot)
            assert isinstance(app.screen, HomeScreen)
    finally:
        await services.close()


# ---------------------------------------------------------------------------------- snapshot


@pytest.fixture
def utc() -> Iterator[None]:
    """Show times in UTC, so the snapshot doesn't depend on the machine's time zone."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "UTC")
        time.tzset()
        yield
    time.tzset()


async def _two_deliveries(services: Services, clock: ManualClock) -> None:
    """An email and, 95 s later, a text message, logged as demo deliveries with fixed codes (the
    real ones are random, and a snapshot must not change from run to run)."""
    security = services.config.security
    subject, body = codes.message_text("482913", "sign_in", security)
    async with services.db.write() as conn:
        await audit.log_delivery(conn, clock.now(), "email", USER_EMAIL, subject, body, None)
    clock.advance(95)
    async with services.db.write() as conn:
        text = codes.sms_text("760254", "sign_in", security)
        await audit.log_delivery(conn, clock.now(), "sms", "+14155550100", "", text, None)


@contextmanager
def inbox_app(tmp_path: Path) -> Iterator[MfaApp]:
    clock = ManualClock()
    with DemoMailSink() as mail_server:
        services = asyncio.run(demo_services(tmp_path, clock, mail_server))
        try:
            asyncio.run(_two_deliveries(services, clock))
            yield create_app(services, demo=True)
        finally:
            asyncio.run(services.close())


async def _open_inbox(pilot: Pilot[None]) -> None:
    await pilot.press("ctrl+o")
    await settle(pilot)
    assert isinstance(pilot.app.screen, DemoInboxScreen)


def test_snapshot_demo_inbox(snap_compare, tmp_path: Path, utc: None) -> None:
    with inbox_app(tmp_path) as app:
        assert snap_compare(app, terminal_size=(80, 24), run_before=_open_inbox)

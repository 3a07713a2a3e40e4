"""The Verify screen under Pilot: the default method, switching, resend, wrong/expired/reused codes,
lockout and release with a moved clock, the preferred method; email over a real aiosmtpd server,
SMS through the demo outbox; snapshots at 80x24."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select

from mfa import factors
from mfa.clock import ManualClock
from mfa.factors import Method
from mfa.services import Services
from store import accounts as account_store
from store import audit
from store.models import User
from tests.mfa.factor_helpers import mailed_codes, set_up_email, set_up_sms, texted_code
from tests.smtp_server import SmtpSink
from tests.tui.helpers import (
    DEMO_USER,
    fill,
    running_app,
    seeded_services,
    settle,
    shown,
    sign_in,
    steady,
    temp_config,
    tick,
    type_text,
)
from tui.app import MfaApp, create_app
from tui.screens.home import HomeScreen
from tui.screens.signin import SignInScreen
from tui.screens.verify import TRY_AGAIN_WITH_NEW_CODE, VerifyScreen

USER_EMAIL, USER_PASSWORD = DEMO_USER
MASKED_EMAIL = "j***@acme-logistics.com"
MASKED_PHONE = "+1 ***-***-0100"


@dataclass
class MfaUser:
    """A demo user (Jordan Lee) who must use MFA, with verified methods, and where codes arrive."""

    services: Services
    user: User
    sink: SmtpSink
    methods: dict[str, Method]

    async def texts(self) -> int:
        """How many text messages were delivered (the demo outbox)."""
        rows = await audit.outbox(self.services.db, limit=1000)
        return sum(1 for row in rows if row.channel == "sms" and row.error is None)

    def mails(self) -> int:
        """How many mails the SMTP server received for the user."""
        return len(self.sink.messages_to(self.user.email))

    def mailed_code(self) -> str:
        return mailed_codes(self.sink, self.user.email)[-1]

    async def texted_code(self) -> str:
        return await texted_code(self.services)

    async def fresh(self) -> User:
        user = await account_store.user_by_id(self.services.db, self.user.id)
        assert user is not None
        return user


async def prepare(
    tmp_path: Path,
    clock: ManualClock,
    sink: SmtpSink,
    kinds: tuple[str, ...] = ("email", "sms"),
    *,
    preferred: str | None = None,
) -> MfaUser:
    """Seed the demo, turn MFA on, and set up ``kinds`` in that order (the last is the last used).

    Email goes to ``sink``; text messages to the outbox, whose bodies demo mode keeps.
    """
    config = dataclasses.replace(temp_config(tmp_path), email=sink.email_config())
    services = await seeded_services(tmp_path, clock, mfa_enabled=True, config=config)
    services.demo = True
    user = await account_store.user_by_email(services.db, USER_EMAIL)
    assert user is not None
    methods: dict[str, Method] = {}
    for kind in kinds:
        if kind == "email":
            methods[kind] = await set_up_email(services, user, sink)
        else:
            methods[kind] = await set_up_sms(services, user)
        clock.advance(31)  # past the resend cooldown
    if preferred is not None:
        await factors.set_preferred(services, user, methods[preferred].id)
    clock.advance(3600)  # the send limit's window is over
    return MfaUser(services, user, sink, methods)


@pytest.fixture
async def jordan(tmp_path: Path, clock: ManualClock, sink: SmtpSink) -> AsyncIterator[MfaUser]:
    """Email set up first, then SMS: SMS is the last method used."""
    prepared = await prepare(tmp_path, clock, sink)
    try:
        yield prepared
    finally:
        await prepared.services.close()


@asynccontextmanager
async def verifying(
    tmp_path: Path, clock: ManualClock, who: MfaUser
) -> AsyncIterator[tuple[MfaApp, Pilot[None], VerifyScreen]]:
    """The app with ``who`` signed in with the password: on the Verify screen."""
    async with running_app(tmp_path, clock, services=who.services, demo_mode=False) as (
        app,
        pilot,
    ):
        await sign_in(pilot, *DEMO_USER)
        screen = app.screen
        assert isinstance(screen, VerifyScreen)
        yield app, pilot, screen


def chosen(screen: VerifyScreen) -> int:
    value = screen.query_one("#verify-method", Select).value
    assert isinstance(value, int)
    return value


def button(screen: VerifyScreen, button_id: str) -> tuple[str, bool]:
    """A button's (label, disabled)."""
    widget = screen.query_one(f"#{button_id}", Button)
    return str(widget.label), widget.disabled


async def enter_code(pilot: Pilot[None], code: str) -> None:
    """Put ``code`` in the code field and press Enter."""
    await fill(pilot, "#verify-code", code)


def message(screen: VerifyScreen) -> str:
    """The message line under the form, as shown."""
    return shown(screen.message_line)


def sent_line(screen: VerifyScreen) -> str:
    """The line that says where the code went, as shown."""
    return shown(screen.sent_line)


def pending(screen: VerifyScreen) -> str:
    """The countdown under the form to a send that waits, as shown."""
    return shown(screen.query_one("#verify-pending"))


async def choose_method(pilot: Pilot[None], steps: str) -> None:
    """Open the dropdown with the keyboard, move ``steps`` ("up"/"down"), press Enter."""
    pilot.app.screen.query_one("#verify-method", Select).focus()
    await pilot.pause()
    await pilot.press("enter")
    await pilot.press(steps, "enter")
    await settle(pilot)


async def press(pilot: Pilot[None], selector: str) -> None:
    """Move the focus to a button and press Enter on it."""
    pilot.app.screen.query_one(selector, Button).focus()
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)


def wrong(code: str) -> str:
    """A six-digit code that is certainly not ``code``."""
    return str((int(code) + 1) % 1_000_000).zfill(6)


# --------------------------------------------------------------------------- the default method


async def test_the_code_goes_to_the_last_method_used_once(
    tmp_path: Path, clock: ManualClock, jordan: MfaUser
) -> None:
    texts_before, mails_before = await jordan.texts(), jordan.mails()
    async with verifying(tmp_path, clock, jordan) as (app, pilot, screen):
        assert chosen(screen) == jordan.methods["sms"].id
        assert sent_line(screen) == f"We sent a code to {MASKED_PHONE}."
        # Exactly one code: the Select's Changed event on mount sent nothing more.
        assert await jordan.texts() == texts_before + 1
        assert jordan.mails() == mails_before
        select = screen.query_one("#verify-method", Select)
        assert [str(prompt) for prompt, _ in select._options] == [
            f"Email ({MASKED_EMAIL})",
            f"SMS ({MASKED_PHONE})",
        ]
        assert app.focused is screen.query_one("#verify-code", Input)

        await type_text(pilot, await jordan.texted_code())  # typed, key by key
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)
        assert app.session is not None and app.session.signed_in
    assert (await jordan.fresh()).last_method_id == jordan.methods["sms"].id


async def test_the_preferred_method_wins_over_the_last_used(
    tmp_path: Path, clock: ManualClock, sink: SmtpSink
) -> None:
    prepared = await prepare(tmp_path, clock, sink, ("email", "sms"), preferred="email")
    try:
        assert (await prepared.fresh()).last_method_id == prepared.methods["sms"].id
        texts_before = await prepared.texts()
        async with verifying(tmp_path, clock, prepared) as (app, pilot, screen):
            assert chosen(screen) == prepared.methods["email"].id
            assert sent_line(screen) == f"We sent a code to {MASKED_EMAIL}."
            assert await prepared.texts() == texts_before
            await enter_code(pilot, prepared.mailed_code())
            assert isinstance(app.screen, HomeScreen)
    finally:
        await prepared.services.close()


async def test_a_code_still_live_is_not_sent_again_after_going_back(
    tmp_path: Path, clock: ManualClock, jordan: MfaUser
) -> None:
    async with verifying(tmp_path, clock, jordan) as (app, pilot, _screen):
        code = await jordan.texted_code()
        texts = await jordan.texts()
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, SignInScreen)
        assert app.session is None  # the half-finished sign-in was abandoned
        clock.advance(10)
        await sign_in(pilot, *DEMO_USER)
        screen = app.screen
        assert isinstance(screen, VerifyScreen)
        assert sent_line(screen) == f"We sent a code to {MASKED_PHONE}."
        assert await jordan.texts() == texts
        assert button(screen, "resend") == ("Resend code (20 s)", True)
        await enter_code(pilot, code)
        assert isinstance(app.screen, HomeScreen)


# ---------------------------------------------------------------------------------- switching


async def test_switching_sends_exactly_one_code_to_the_chosen_method_and_it_becomes_the_default(
    tmp_path: Path, clock: ManualClock, jordan: MfaUser
) -> None:
    async with verifying(tmp_path, clock, jordan) as (app, pilot, screen):
        texts, mails = await jordan.texts(), jordan.mails()
        clock.advance(30)
        await tick(pilot)
        await choose_method(pilot, "up")
        assert chosen(screen) == jordan.methods["email"].id
        assert jordan.mails() == mails + 1
        assert await jordan.texts() == texts
        assert sent_line(screen) == f"We sent a code to {MASKED_EMAIL}."
        assert app.focused is screen.query_one("#verify-code", Input)
        assert button(screen, "resend") == ("Resend code (30 s)", True)

        await enter_code(pilot, jordan.mailed_code())
        assert isinstance(app.screen, HomeScreen)
        assert (await jordan.fresh()).last_method_id == jordan.methods["email"].id

        # The next sign-in defaults to the method used last.
        app.action_sign_out()
        await settle(pilot)
        clock.advance(60)
        mails = jordan.mails()
        await sign_in(pilot, *DEMO_USER)
        screen = app.screen
        assert isinstance(screen, VerifyScreen)
        assert chosen(screen) == jordan.methods["email"].id
        assert jordan.mails() == mails + 1
        await enter_code(pilot, jordan.mailed_code())
        assert isinstance(app.screen, HomeScreen)


async def test_switching_methods_sends_there_at_once_and_once(
    tmp_path: Path, clock: ManualClock, jordan: MfaUser
) -> None:
    # The resend cooldown belongs to the method: a person switches because the first code didn't
    # come, so the other method gets its code at once (the account's send limit still counts).
    async with verifying(tmp_path, clock, jordan) as (_app, pilot, screen):
        mails, texts = jordan.mails(), await jordan.texts()
        assert sent_line(screen) == f"We sent a code to {MASKED_PHONE}."
        clock.advance(12)
        await choose_method(pilot, "up")
        assert jordan.mails() == mails + 1
        assert await jordan.texts() == texts
        # Both lines speak of the method now chosen.
        assert sent_line(screen) == f"We sent a code to {MASKED_EMAIL}."
        assert message(screen) == ""
        assert pending(screen) == ""
        assert button(screen, "resend") == ("Resend code (30 s)", True)
        await tick(pilot)
        clock.advance(60)
        await tick(pilot)
        await settle(pilot)
        assert jordan.mails() == mails + 1  # nothing more goes out later
        assert await jordan.texts() == texts
        await enter_code(pilot, jordan.mailed_code())
        assert isinstance(pilot.app.screen, HomeScreen)


async def test_switching_back_within_the_methods_cooldown_waits_for_it(
    tmp_path: Path, clock: ManualClock, jordan: MfaUser
) -> None:
    async with verifying(tmp_path, clock, jordan) as (_app, pilot, screen):
        mails, texts = jordan.mails(), await jordan.texts()
        clock.advance(5)
        await choose_method(pilot, "up")  # email: at once
        assert jordan.mails() == mails + 1
        clock.advance(5)
        await choose_method(pilot, "down")  # SMS again, 10 s after its code
        assert await jordan.texts() == texts
        assert sent_line(screen) == ""  # not the email's line any more
        assert pending(screen) == f"We'll send a code to {MASKED_PHONE} in 20 s."
        clock.advance(20)
        await tick(pilot)
        await settle(pilot)
        assert await jordan.texts() == texts + 1
        assert sent_line(screen) == f"We sent a code to {MASKED_PHONE}."
        assert jordan.mails() == mails + 1


async def test_signing_in_again_right_after_a_code_waits_for_the_cooldown_then_sends(
    tmp_path: Path, clock: ManualClock, jordan: MfaUser
) -> None:
    async with verifying(tmp_path, clock, jordan) as (app, pilot, _screen):
        await enter_code(pilot, await jordan.texted_code())
        assert isinstance(app.screen, HomeScreen)
        app.action_sign_out()
        await settle(pilot)
        clock.advance(5)
        texts = await jordan.texts()
        await sign_in(pilot, *DEMO_USER)
        screen = app.screen
        assert isinstance(screen, VerifyScreen)
        assert pending(screen) == f"We'll send a code to {MASKED_PHONE} in 25 s."
        assert sent_line(screen) == ""
        assert await jordan.texts() == texts
        clock.advance(25)
        await tick(pilot)
        await settle(pilot)
        assert await jordan.texts() == texts + 1
        assert sent_line(screen) == f"We sent a code to {MASKED_PHONE}."
        await enter_code(pilot, await jordan.texted_code())
        assert isinstance(app.screen, HomeScreen)


# ------------------------------------------------------------------------------------- resend


async def test_resend_counts_down_then_sends_a_new_code_that_replaces_the_old(
    tmp_path: Path, clock: ManualClock, sink: SmtpSink
) -> None:
    prepared = await prepare(tmp_path, clock, sink, ("email",))
    try:
        async with verifying(tmp_path, clock, prepared) as (app, pilot, screen):
            first = prepared.mailed_code()
            assert button(screen, "resend") == ("Resend code (30 s)", True)
            clock.advance(1)
            await tick(pilot)
            assert button(screen, "resend") == ("Resend code (29 s)", True)
            clock.advance(28.5)
            await tick(pilot)
            assert button(screen, "resend") == ("Resend code (1 s)", True)
            clock.advance(0.5)
            await tick(pilot)
            assert button(screen, "resend") == ("Resend code", False)

            mails = prepared.mails()
            screen.query_one("#resend", Button).focus()
            await pilot.press("enter")
            await settle(pilot)
            assert prepared.mails() == mails + 1
            assert button(screen, "resend") == ("Resend code (30 s)", True)
            second = prepared.mailed_code()
            assert second != first

            await enter_code(pilot, first)
            assert message(screen) == (
                "That code was replaced by a newer one: enter the code from the latest message. "
                "You have 4 tries left for this code."
            )
            await enter_code(pilot, second)
            assert isinstance(app.screen, HomeScreen)
    finally:
        await prepared.services.close()


async def test_a_failed_send_says_why_suggests_another_method_and_starts_no_countdown(
    tmp_path: Path, clock: ManualClock
) -> None:
    # SMS first, email last: email is the default, and then its mail server goes down.
    sink = await asyncio.to_thread(SmtpSink().start)
    prepared = await prepare(tmp_path, clock, sink, ("sms", "email"))
    try:
        await asyncio.to_thread(sink.stop)
        texts = await prepared.texts()
        async with verifying(tmp_path, clock, prepared) as (app, pilot, screen):
            assert chosen(screen) == prepared.methods["email"].id
            assert message(screen) == (
                f"Couldn't reach the mail server 127.0.0.1:{sink.port}. "
                "Try again or choose another method."
            )
            assert sent_line(screen) == ""
            assert button(screen, "resend") == ("Resend code", False)  # try again at once
            assert app.focused is screen.query_one("#verify-method", Select)

            await choose_method(pilot, "down")
            assert await prepared.texts() == texts + 1
            assert sent_line(screen) == f"We sent a code to {MASKED_PHONE}."
            assert message(screen) == ""
            await enter_code(pilot, await prepared.texted_code())
            assert isinstance(app.screen, HomeScreen)
    finally:
        await prepared.services.close()


async def test_a_failed_send_to_the_only_method_leaves_the_focus_on_resend(
    tmp_path: Path, clock: ManualClock
) -> None:
    sink = await asyncio.to_thread(SmtpSink().start)
    prepared = await prepare(tmp_path, clock, sink, ("email",))
    try:
        await asyncio.to_thread(sink.stop)
        async with verifying(tmp_path, clock, prepared) as (app, pilot, screen):
            assert message(screen).startswith("Couldn't reach the mail server")
            resend = screen.query_one("#resend", Button)
            assert app.focused is resend and not resend.disabled
            attempts = len(await audit.outbox(prepared.services.db))
            await pilot.press("enter")  # tries again at once
            await settle(pilot)
            assert len(await audit.outbox(prepared.services.db)) == attempts + 1
            assert app.focused is resend
    finally:
        await prepared.services.close()


async def test_a_check_that_breaks_is_reported_and_the_code_field_has_the_focus(
    tmp_path: Path, clock: ManualClock, jordan: MfaUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with verifying(tmp_path, clock, jordan) as (app, pilot, screen):
        code = await jordan.texted_code()

        async def broken(*_args: object) -> None:
            raise RuntimeError("database is locked")

        with monkeypatch.context() as patched:
            patched.setattr(factors, "verify_sign_in", broken)
            await enter_code(pilot, code)
            assert message(screen) == "Couldn't check the code (database is locked). Try again."
            assert "-error" in screen.message_line.classes
            assert button(screen, "verify") == ("Verify", False)
            assert app.focused is screen.query_one("#verify-code", Input)
        await enter_code(pilot, code)
        assert isinstance(app.screen, HomeScreen)


async def test_the_last_code_the_send_limit_allows_says_when_the_next_can_come(
    tmp_path: Path, clock: ManualClock, jordan: MfaUser
) -> None:
    async with verifying(tmp_path, clock, jordan) as (app, pilot, screen):
        texts = await jordan.texts()
        for _ in range(4):  # arrival was the first of the five sends allowed in 15 minutes
            clock.advance(30)
            await tick(pilot)
            await press(pilot, "#resend")
        assert await jordan.texts() == texts + 4
        assert message(screen) == (
            "That was the last code you can ask for now: you can ask for another in 13:00."
        )
        assert button(screen, "resend") == ("Resend code (13:00)", True)
        await enter_code(pilot, await jordan.texted_code())
        assert isinstance(app.screen, HomeScreen)


async def test_the_last_code_note_and_the_resend_button_say_the_same_wait(
    tmp_path: Path, clock: ManualClock, jordan: MfaUser
) -> None:
    async with verifying(tmp_path, clock, jordan) as (app, pilot, screen):
        for gap in (176, 30, 30, 30):  # the fifth send of the window, 266 s after the first
            clock.advance(gap)
            await tick(pilot)
            await press(pilot, "#resend")
        # 634 s left: before, the note said "11 minutes" beside "Resend code (10:34)".
        assert message(screen).endswith("you can ask for another in 10:34.")
        assert button(screen, "resend") == ("Resend code (10:34)", True)
        await enter_code(pilot, await jordan.texted_code())
        assert isinstance(app.screen, HomeScreen)


# ------------------------------------------------------------------------------ wrong codes


async def test_a_wrong_code_says_how_many_tries_are_left(
    tmp_path: Path, clock: ManualClock, jordan: MfaUser
) -> None:
    async with verifying(tmp_path, clock, jordan) as (app, pilot, screen):
        code = await jordan.texted_code()
        await enter_code(pilot, wrong(code))
        assert message(screen) == "That code isn't right. You have 4 tries left for this code."
        assert screen.query_one("#verify-code", Input).value == ""
        assert app.focused is screen.query_one("#verify-code", Input)
        await enter_code(pilot, wrong(code))
        assert message(screen) == "That code isn't right. You have 3 tries left for this code."
        await enter_code(pilot, code)
        assert isinstance(app.screen, HomeScreen)


async def test_an_expired_code_says_so_and_offers_a_new_one(
    tmp_path: Path, clock: ManualClock, sink: SmtpSink
) -> None:
    prepared = await prepare(tmp_path, clock, sink, ("email",))
    try:
        async with verifying(tmp_path, clock, prepared) as (app, pilot, screen):
            old = prepared.mailed_code()
            clock.advance(600)
            await tick(pilot)
            await enter_code(pilot, old)
            assert message(screen) == (
                "That code has expired: codes work for 10 minutes. Send a new code."
            )
            resend = screen.query_one("#resend", Button)
            assert app.focused is resend and not resend.disabled
            mails = prepared.mails()
            await pilot.press("enter")
            await settle(pilot)
            assert prepared.mails() == mails + 1
            await enter_code(pilot, prepared.mailed_code())
            assert isinstance(app.screen, HomeScreen)
    finally:
        await prepared.services.close()


async def test_a_code_already_used_is_refused_at_the_next_sign_in(
    tmp_path: Path, clock: ManualClock, jordan: MfaUser
) -> None:
    async with verifying(tmp_path, clock, jordan) as (app, pilot, _screen):
        used = await jordan.texted_code()
        await enter_code(pilot, used)
        assert isinstance(app.screen, HomeScreen)
        app.action_sign_out()
        await settle(pilot)
        clock.advance(60)
        await sign_in(pilot, *DEMO_USER)
        screen = app.screen
        assert isinstance(screen, VerifyScreen)
        await enter_code(pilot, used)
        assert isinstance(app.screen, VerifyScreen)
        assert message(screen).startswith("That code was replaced by a newer one")
        await enter_code(pilot, await jordan.texted_code())
        assert isinstance(app.screen, HomeScreen)


# --------------------------------------------------------------------------------- lockout


async def test_too_many_wrong_codes_lock_the_account_until_the_clock_moves_on(
    tmp_path: Path, clock: ManualClock, jordan: MfaUser
) -> None:
    async with verifying(tmp_path, clock, jordan) as (app, pilot, screen):
        code = await jordan.texted_code()
        for _ in range(5):
            await enter_code(pilot, wrong(code))
        assert message(screen) == (
            "That code isn't right. This code has now been entered wrongly too many times. "
            "Send a new code. Too many failed attempts: try again in 30 seconds."
        )
        assert button(screen, "verify") == ("Verify (30 s)", True)
        assert (await jordan.fresh()).failed_attempts == 5

        # Enter in the code field does nothing while the account waits: nothing more is counted.
        await enter_code(pilot, code)
        assert (await jordan.fresh()).failed_attempts == 5
        assert isinstance(app.screen, VerifyScreen)

        clock.advance(10)
        await tick(pilot)
        assert button(screen, "verify") == ("Verify (20 s)", True)
        clock.advance(20)
        await tick(pilot)
        assert button(screen, "verify") == ("Verify", False)
        assert message(screen) == TRY_AGAIN_WITH_NEW_CODE  # the code itself is void

        # The old code is void: a new one, and in.
        await press(pilot, "#resend")
        await enter_code(pilot, await jordan.texted_code())
        assert isinstance(app.screen, HomeScreen)
    assert (await jordan.fresh()).failed_attempts == 0


async def test_no_code_is_sent_while_the_account_waits(
    tmp_path: Path, clock: ManualClock, jordan: MfaUser
) -> None:
    async with verifying(tmp_path, clock, jordan) as (_app, pilot, screen):
        code = await jordan.texted_code()
        clock.advance(20)
        for _ in range(5):
            await enter_code(pilot, wrong(code))
        clock.advance(29)  # the resend cooldown is over; the account still waits 1 s
        await tick(pilot)
        assert button(screen, "resend") == ("Resend code (1 s)", True)
        assert button(screen, "verify") == ("Verify (1 s)", True)
        mails = jordan.mails()
        await choose_method(pilot, "up")  # email
        assert jordan.mails() == mails
        assert message(screen) == "Too many failed attempts: try again in 1 second."
        clock.advance(1)
        await tick(pilot)
        assert button(screen, "resend") == ("Resend code", False)
        await press(pilot, "#resend")
        assert jordan.mails() == mails + 1
        assert sent_line(screen) == f"We sent a code to {MASKED_EMAIL}."


# ---------------------------------------------------------------------------------- snapshots


@contextmanager
def verify_app(tmp_path: Path) -> Iterator[tuple[MfaApp, MfaUser]]:
    """An app whose demo user has email (last used) and SMS, for ``snap_compare``."""
    clock = ManualClock()
    with SmtpSink() as mail_server:
        prepared = asyncio.run(prepare(tmp_path, clock, mail_server, ("sms", "email")))
        try:
            yield create_app(prepared.services, demo=False), prepared
        finally:
            asyncio.run(prepared.services.close())


def on_verify(
    then: Callable[[Pilot[None]], Awaitable[None]] | None = None,
) -> Callable[[Pilot[None]], Awaitable[None]]:
    """A ``run_before``: sign in with the password, do ``then``, hold the cursor still."""

    async def run_before(pilot: Pilot[None]) -> None:
        await sign_in(pilot, *DEMO_USER)
        assert isinstance(pilot.app.screen, VerifyScreen)
        if then is not None:
            await then(pilot)
        steady(pilot)
        await pilot.pause()

    return run_before


async def _open_dropdown(pilot: Pilot[None]) -> None:
    pilot.app.screen.query_one("#verify-method", Select).focus()
    await pilot.pause()
    await pilot.press("enter")


def _wrong_codes(who: MfaUser, times: int) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def enter_them(pilot: Pilot[None]) -> None:
        for _ in range(times):
            await enter_code(pilot, wrong(who.mailed_code()))

    return enter_them


def test_snapshot_verify_default(snap_compare, tmp_path: Path) -> None:
    with verify_app(tmp_path) as (app, _who):
        assert snap_compare(app, terminal_size=(80, 24), run_before=on_verify())


def test_snapshot_verify_dropdown_open(snap_compare, tmp_path: Path) -> None:
    with verify_app(tmp_path) as (app, _who):
        assert snap_compare(app, terminal_size=(80, 24), run_before=on_verify(_open_dropdown))


def test_snapshot_verify_wrong_code(snap_compare, tmp_path: Path) -> None:
    with verify_app(tmp_path) as (app, who):
        assert snap_compare(app, terminal_size=(80, 24), run_before=on_verify(_wrong_codes(who, 1)))


def test_snapshot_verify_locked(snap_compare, tmp_path: Path) -> None:
    with verify_app(tmp_path) as (app, who):
        assert snap_compare(app, terminal_size=(80, 24), run_before=on_verify(_wrong_codes(who, 5)))

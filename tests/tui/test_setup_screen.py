"""The Setup screen under Pilot: email over a real SMTP server, SMS through the outbox, the optional
second method, Continue, every error the person can meet, and snapshots at 80x24."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Button, Input

from mfa import factors, recovery, sending
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.services import Services
from store import accounts as account_store
from store import audit
from store.models import User
from tests.mfa.factor_helpers import (
    MOBILE,
    MOBILE_E164,
    live_code_from_the_key,
    mailed_codes,
    texted_code,
)
from tests.smtp_server import SmtpSink, silent_server, unused_port
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
    temp_config,
    tick,
    type_text,
    wait_until,
)
from tui.app import MfaApp
from tui.screens.home import HomeScreen
from tui.screens.recovery_codes import RecoveryCodesScreen
from tui.screens.setup import CONTINUE_HINT, INTRO, SECOND_METHOD, SET_UP, SetupScreen
from tui.screens.signin import SignInScreen
from tui.widgets.method_cards import CardStage, MethodCard, MethodCards

CLOSED, OPEN, CODE, DONE = CardStage.CLOSED, CardStage.OPEN, CardStage.CODE, CardStage.DONE

USER_EMAIL = DEMO_USER[0]
MASKED_EMAIL = "j***@acme-logistics.com"
MASKED_MOBILE = "+1 ***-***-0100"
TOO_SHORT = (
    "That number is too short to be a mobile number. Include the country code, "
    "for example +1 201-555-0123."
)


# ---------------------------------------------------------------------------------- helpers


def mailing_to(config: Config, port: int, **email: object) -> Config:
    """``config`` with its mail server at 127.0.0.1:``port`` (plain SMTP)."""
    return config.replace("email", host="127.0.0.1", port=port, tls="none", **email)


async def setup_services(tmp_path: Path, clock: ManualClock, config: Config) -> Services:
    """The demo data with MFA on for everyone, in demo mode (the outbox keeps text bodies)."""
    services = await seeded_services(tmp_path, clock, mfa_enabled=True, config=config)
    services.demo = True
    return services


async def jordan(services: Services) -> User:
    user = await account_store.user_by_email(services.db, USER_EMAIL)
    assert user is not None
    return user


def cards(app: MfaApp) -> MethodCards:
    return app.screen.query_one(MethodCards)


def card(app: MfaApp, kind: str) -> MethodCard:
    return app.screen.query_one(f"#{kind}-card", MethodCard)


def status(app: MfaApp) -> str:
    """The status line at the top of the Setup screen, as shown."""
    screen = app.screen
    assert isinstance(screen, SetupScreen)
    line = screen.query_one("#setup-status")
    return shown(line) if line.display else ""


def message(app: MfaApp, kind: str) -> str:
    """The card's message line as shown ("" when it takes no room)."""
    line = card(app, kind).query_one(".card-message")
    text = shown(line)
    assert line.display == bool(text)
    return text


def countdown(app: MfaApp, kind: str) -> str | None:
    """The countdown beside the card's send button (None when it isn't shown)."""
    line = card(app, kind).query_one(".card-countdown")
    return shown(line) if line.display else None


def send_button(app: MfaApp, kind: str) -> Button:
    return app.screen.query_one(f"#{kind}-send", Button)


def focused_id(app: MfaApp) -> str | None:
    return app.focused.id if app.focused is not None else None


async def press(pilot: Pilot[None], selector: str) -> None:
    """Focus the widget and press Enter on it, as a keyboard user would; wait for the outcome."""
    pilot.app.screen.query_one(selector).focus()
    await pilot.pause()
    await pilot.press("enter")
    await settle(pilot)


async def enter_code(pilot: Pilot[None], kind: str, code: str) -> None:
    """Put ``code`` in the card's code field and press Enter. When that sets up the first method,
    the recovery codes come next: they are kept (ticked and Continue) to get back to the cards."""
    await fill(pilot, f"#{kind}-code", code)
    if isinstance(pilot.app.screen, RecoveryCodesScreen):
        await keep_recovery_codes(pilot)


async def send_sms_code(pilot: Pilot[None], number: str = MOBILE) -> None:
    """Open the SMS card, type ``number`` and press Enter in it (Send code)."""
    app = pilot.app
    if card(app, "sms").stage == CLOSED:
        await press(pilot, "#sms-setup")
    await fill(pilot, "#sms-phone", number)


def another_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def sms_deliveries(services: Services) -> int:
    return len([m for m in await audit.outbox(services.db) if m.channel == "sms"])


# ------------------------------------------------------------------------------ the full path


async def test_email_then_sms_then_continue_by_keyboard_over_real_delivery(
    tmp_path: Path, clock: ManualClock, sink: SmtpSink
) -> None:
    config = dataclasses.replace(temp_config(tmp_path), email=sink.email_config())
    services = await setup_services(tmp_path, clock, config)
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            assert isinstance(app.screen, SetupScreen)
            assert status(app) == INTRO
            assert [c.kind for c in cards(app).all_cards] == ["email", "sms", "totp"]
            assert shown(app.screen.query_one("#setup-note")) == factors.CODE_METHODS_NOTE
            assert not app.screen.query_one("#setup-continue").display

            # Select the Setup button below Email; then Send me the code.
            assert focused_id(app) == "email-setup"
            await pilot.press("enter")
            assert card(app, "email").stage == OPEN
            assert shown(app.screen.query_one("#email-address")) == (
                f"The code will be sent to {MASKED_EMAIL}."
            )
            assert focused_id(app) == "email-send"
            assert str(send_button(app, "email").label) == "Send me the code"
            await pilot.press("enter")
            await settle(pilot)

            [code] = mailed_codes(sink, USER_EMAIL)
            assert card(app, "email").stage == CODE
            assert message(app, "email") == f"We sent a code to {MASKED_EMAIL}."
            assert focused_id(app) == "email-code"
            assert str(send_button(app, "email").label) == "Send a new code"
            assert send_button(app, "email").disabled
            assert countdown(app, "email") == "You can ask for another code in 30 seconds."

            # Enter the code you received and select Verify.
            await type_text(pilot, code)
            await pilot.press("enter")
            await settle(pilot)
            # The first method brings ten recovery codes, shown once; kept, the cards come back.
            assert isinstance(app.screen, RecoveryCodesScreen)
            assert len(await keep_recovery_codes(pilot)) == 10
            assert await recovery.remaining(services, (await jordan(services)).id) == 10
            assert card(app, "email").stage == DONE
            assert message(app, "email") == f"Email is set up: codes can go to {MASKED_EMAIL}."
            assert status(app) == f"{SET_UP} {SECOND_METHOD} {CONTINUE_HINT}"
            assert app.screen.query_one("#setup-continue").display
            assert focused_id(app) == "setup-continue"
            assert isinstance(app.screen, SetupScreen)  # nothing goes on without Continue

            # (Optional) the Setup button below the other method: SMS.
            await pilot.press("tab")
            assert focused_id(app) == "sms-setup"
            await pilot.press("enter")
            assert focused_id(app) == "sms-phone"
            await type_text(pilot, MOBILE)
            # The cooldown belongs to the method: the SMS code goes at once after the email's.
            assert countdown(app, "sms") is None
            await pilot.press("enter")
            await settle(pilot)
            assert message(app, "sms") == f"We sent a code to {MASKED_MOBILE}."
            await type_text(pilot, await texted_code(services))
            await pilot.press("enter")
            await settle(pilot)
            assert message(app, "sms") == f"SMS is set up: codes can go to {MASKED_MOBILE}."
            # The authenticator app's card is still on offer.
            assert status(app) == f"{SET_UP} {SECOND_METHOD} {CONTINUE_HINT}"
            assert focused_id(app) == "setup-continue"

            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, HomeScreen)
            assert app.session is not None and app.session.signed_in

        user = await jordan(services)
        methods = await factors.methods_of(services, user.id)
        assert [(m.kind, m.destination, m.verified) for m in methods] == [
            ("email", USER_EMAIL, True),
            ("sms", MOBILE_E164, True),
        ]
        assert user.last_method_id == methods[1].id  # a verified method records last_used
        assert not await factors.needs_setup(services, user)
    finally:
        await services.close()


async def test_sms_alone_is_enough_to_continue(tmp_path: Path, clock: ManualClock) -> None:
    services = await setup_services(tmp_path, clock, temp_config(tmp_path))
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            await send_sms_code(pilot)
            await enter_code(pilot, "sms", await texted_code(services))
            assert card(app, "sms").stage == DONE
            assert card(app, "email").stage == CLOSED  # still offered, optional
            await press(pilot, "#setup-continue")
            assert isinstance(app.screen, HomeScreen)
    finally:
        await services.close()


async def test_only_the_methods_the_subscription_allows_are_offered(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await setup_services(tmp_path, clock, temp_config(tmp_path))
    try:
        async with services.db.write() as conn:
            await conn.execute("UPDATE subscriptions SET allowed_methods = 'sms'")
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            assert [c.kind for c in cards(app).cards] == ["sms"]
            await send_sms_code(pilot)
            await enter_code(pilot, "sms", await texted_code(services))
            assert status(app) == f"{SET_UP} {CONTINUE_HINT}"  # no second method to offer
    finally:
        await services.close()


# ------------------------------------------------------------------------------------ errors


async def test_a_wrong_code_says_how_many_tries_are_left(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await setup_services(tmp_path, clock, temp_config(tmp_path))
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            await send_sms_code(pilot)
            code = await texted_code(services)
            await enter_code(pilot, "sms", another_code(code))
            assert message(app, "sms") == (
                "That code isn't right. You have 4 tries left for this code."
            )
            assert card(app, "sms").stage == CODE
            assert app.screen.query_one("#sms-code", Input).value == ""
            assert focused_id(app) == "sms-code"
            await enter_code(pilot, "sms", code)
            assert card(app, "sms").stage == DONE
    finally:
        await services.close()


async def test_an_expired_code_asks_for_a_new_one_and_the_new_one_works(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await setup_services(tmp_path, clock, temp_config(tmp_path))
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            await send_sms_code(pilot)
            old_code = await texted_code(services)
            clock.advance(600)
            await tick(pilot)
            await enter_code(pilot, "sms", old_code)
            assert message(app, "sms") == (
                "That code has expired: codes work for 10 minutes. Send a new code."
            )
            assert focused_id(app) == "sms-send"  # the next step: Send a new code
            await pilot.press("enter")
            await settle(pilot)
            new_code = await texted_code(services)
            await enter_code(pilot, "sms", new_code)
            assert card(app, "sms").stage == DONE
    finally:
        await services.close()


async def test_a_malformed_phone_number_is_refused_and_nothing_is_sent(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await setup_services(tmp_path, clock, temp_config(tmp_path))
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            await send_sms_code(pilot, "12")
            assert message(app, "sms") == TOO_SHORT
            assert "-error" in card(app, "sms").query_one(".card-message").classes
            assert card(app, "sms").stage == OPEN
            assert focused_id(app) == "sms-phone"
            assert not send_button(app, "sms").disabled and countdown(app, "sms") is None
            assert await sms_deliveries(services) == 0
            assert await factors.methods_of(services, (await jordan(services)).id) == []
            # Corrected, it goes at once: the refusal started no cooldown.
            await send_sms_code(pilot, MOBILE)
            assert message(app, "sms") == f"We sent a code to {MASKED_MOBILE}."
    finally:
        await services.close()


async def test_an_unreachable_mail_server_is_named_and_consumes_nothing(
    tmp_path: Path, clock: ManualClock, sink: SmtpSink
) -> None:
    port = unused_port()
    services = await setup_services(
        tmp_path, clock, mailing_to(temp_config(tmp_path), port, timeout_seconds=5.0)
    )
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            await press(pilot, "#email-setup")
            await press(pilot, "#email-send")
            assert message(app, "email") == (
                f"Couldn't reach the mail server 127.0.0.1:{port}. "
                "Try again or choose another method."
            )
            assert card(app, "email").stage == OPEN  # no code to enter
            assert not send_button(app, "email").disabled
            assert focused_id(app) == "email-send"  # Enter tries again
            assert countdown(app, "email") is None
            user = await jordan(services)
            assert await factors.live_code(services, user, attempt=app.attempt_id) is None
            assert await sending.next_send_at(services, user) is None

            # The mail server is back: the very next press sends (no cooldown was started).
            app.services.config = dataclasses.replace(
                app.services.config, email=sink.email_config()
            )
            app.services.deliverer = None
            # A refused connection answers at once: a button ignores a second press within its
            # 0.2 s press effect, as Textual's Button does for a double press.
            await wait_until(
                pilot, lambda: not send_button(app, "email").has_class("-active"), "the effect"
            )
            await pilot.press("enter")
            await settle(pilot)
            assert message(app, "email") == f"We sent a code to {MASKED_EMAIL}."
            await enter_code(pilot, "email", mailed_codes(sink, USER_EMAIL)[0])
            assert card(app, "email").stage == DONE
    finally:
        await services.close()


async def test_a_send_that_breaks_is_reported_and_enter_tries_again(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = await setup_services(tmp_path, clock, temp_config(tmp_path))
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            await press(pilot, "#sms-setup")

            async def broken(*_args: object, **_kwargs: object) -> None:
                raise RuntimeError("disk I/O error")

            with monkeypatch.context() as patched:
                patched.setattr(sending, "start_sms_setup", broken)
                await fill(pilot, "#sms-phone", MOBILE)
                assert message(app, "sms") == (
                    "Sending the code failed: disk I/O error. Try again, or tell your "
                    "administrator."
                )
                assert "-error" in card(app, "sms").query_one(".card-message").classes
                assert not send_button(app, "sms").disabled
                assert focused_id(app) == "sms-send"
            await pilot.press("enter")  # the focus was left where trying again is one key
            await settle(pilot)
            assert message(app, "sms") == f"We sent a code to {MASKED_MOBILE}."
            assert focused_id(app) == "sms-code"
    finally:
        await services.close()


async def test_one_press_sends_one_code_and_the_screen_answers_meanwhile(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with silent_server() as port:
        config = mailing_to(temp_config(tmp_path), port, timeout_seconds=1.0)
        services = await setup_services(tmp_path, clock, config)
        try:
            async with running_app(tmp_path, clock, services=services) as (app, pilot):
                await sign_in(pilot, *DEMO_USER)
                await press(pilot, "#sms-setup")
                await press(pilot, "#email-setup")
                button = send_button(app, "email")
                button.press()
                worker = None
                for _ in range(500):
                    worker = next((w for w in app.workers if w.group == "setup-send"), None)
                    if worker is not None and worker.is_running:
                        break
                    await asyncio.sleep(0.002)
                assert worker is not None and worker.is_running
                assert button.disabled and str(button.label) == "Sending…"
                assert send_button(app, "sms").disabled  # one request at a time
                # Pressed again, by the button or by a message that slips past it: ignored.
                button.press()
                cards(app).post_message(Button.Pressed(button))
                # Keys still reach the other card's fields while the mail server keeps quiet.
                phone = app.screen.query_one("#sms-phone", Input)
                phone.focus()
                app.post_message(events.Key("4", "4"))
                for _ in range(200):
                    if phone.value == "4":
                        break
                    await asyncio.sleep(0.005)
                assert phone.value == "4"
                assert worker.is_running
                await settle(pilot)

                assert message(app, "email").startswith(
                    f"The mail server 127.0.0.1:{port} didn't answer within"
                )
                attempts = [m for m in await audit.outbox(services.db) if m.channel == "email"]
                assert len(attempts) == 1 and attempts[0].error is not None
                assert not button.disabled and str(button.label) == "Send me the code"
        finally:
            await services.close()


async def test_send_a_new_code_waits_for_the_countdown(tmp_path: Path, clock: ManualClock) -> None:
    services = await setup_services(tmp_path, clock, temp_config(tmp_path))
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            await send_sms_code(pilot)
            first_code = await texted_code(services)
            button = send_button(app, "sms")
            assert str(button.label) == "Send a new code" and button.disabled
            assert countdown(app, "sms") == "You can ask for another code in 30 seconds."
            clock.advance(12)
            await tick(pilot)
            assert countdown(app, "sms") == "You can ask for another code in 18 seconds."
            button.press()  # disabled: nothing happens
            await settle(pilot)
            assert await sms_deliveries(services) == 1
            app.screen.query_one("#sms-phone", Input).focus()
            await pilot.press("enter")  # Enter in the number field says why nothing goes
            await settle(pilot)
            assert message(app, "sms") == "You can ask for another code in 18 seconds."
            assert await sms_deliveries(services) == 1

            clock.advance(18)
            await pilot.pause(1.2)  # the screen's own one-second tick notices the clock moved
            assert countdown(app, "sms") is None and not button.disabled
            await press(pilot, "#sms-send")
            assert await sms_deliveries(services) == 2
            new_code = await texted_code(services)
            assert countdown(app, "sms") == "You can ask for another code in 30 seconds."
            if new_code != first_code:
                await enter_code(pilot, "sms", first_code)
                assert message(app, "sms").startswith("That code was replaced by a newer one")
            await enter_code(pilot, "sms", new_code)
            assert card(app, "sms").stage == DONE
    finally:
        await services.close()


async def test_a_code_sent_before_going_back_can_still_be_entered(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await setup_services(tmp_path, clock, temp_config(tmp_path))
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            await send_sms_code(pilot)
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, SignInScreen)
            clock.advance(10)
            await sign_in(pilot, *DEMO_USER)
            assert isinstance(app.screen, SetupScreen)
            assert card(app, "sms").stage == CODE
            assert message(app, "sms") == (
                f"A code was sent to {MASKED_MOBILE}. Enter it, or send a new code."
            )
            assert countdown(app, "sms") == "You can ask for another code in 20 seconds."
            assert focused_id(app) == "sms-code"
            await enter_code(pilot, "sms", await texted_code(services))
            assert card(app, "sms").stage == DONE
    finally:
        await services.close()


# --------------------------------------------------------------------------------- snapshots


async def _at_setup(pilot: Pilot[None]) -> None:
    await sign_in(pilot, *DEMO_USER)
    steady(pilot)


async def _sms_code_sent(pilot: Pilot[None]) -> None:
    await _at_setup(pilot)
    await send_sms_code(pilot)
    steady(pilot)


async def _sms_done(pilot: Pilot[None]) -> None:
    await _sms_code_sent(pilot)
    app = pilot.app
    assert isinstance(app, MfaApp)
    user = await jordan(app.services)
    await enter_code(pilot, "sms", await live_code_from_the_key(app.services, user))
    assert card(app, "sms").stage == DONE


async def _phone_refused(pilot: Pilot[None]) -> None:
    await _at_setup(pilot)
    await send_sms_code(pilot, "12")
    steady(pilot)


def test_snapshot_setup_no_method_yet(snap_compare, tmp_path: Path) -> None:
    with demo_app(tmp_path, mfa_enabled=True) as app:
        assert snap_compare(app, terminal_size=(80, 24), run_before=_at_setup)


def test_snapshot_setup_code_entry(snap_compare, tmp_path: Path) -> None:
    with demo_app(tmp_path, mfa_enabled=True) as app:
        assert snap_compare(app, terminal_size=(80, 24), run_before=_sms_code_sent)


def test_snapshot_setup_one_method_done(snap_compare, tmp_path: Path) -> None:
    with demo_app(tmp_path, mfa_enabled=True) as app:
        assert snap_compare(app, terminal_size=(80, 24), run_before=_sms_done)


def test_snapshot_setup_phone_number_refused(snap_compare, tmp_path: Path) -> None:
    with demo_app(tmp_path, mfa_enabled=True) as app:
        assert snap_compare(app, terminal_size=(80, 24), run_before=_phone_refused)


# ------------------------------------------------------------- a user the MFA process failed


async def test_a_user_whose_address_cannot_receive_mail_sets_up_sms_and_is_told_why(
    tmp_path: Path, clock: ManualClock, sink: SmtpSink
) -> None:
    config = dataclasses.replace(temp_config(tmp_path), email=sink.email_config())
    services = await setup_services(tmp_path, clock, config)
    try:
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, "ops@plant7", DEMO_USER[1])
            assert isinstance(app.screen, SetupScreen)  # not home with a password alone
            assert [c.kind for c in cards(app).cards] == ["sms"]
            assert status(app) == (
                f"{INTRO} Codes can't be sent to your address o***@plant7: email address has no "
                "domain. Set up SMS or Authenticator app instead, or ask an administrator to correct "
                "your address."
            )
    finally:
        await services.close()

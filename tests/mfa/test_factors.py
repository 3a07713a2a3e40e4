"""Setting up methods and signing in with them, over a real SMTP server and the SMS outbox."""

from __future__ import annotations

import shlex
import sys
from collections.abc import AsyncIterator

import pytest

from mfa import factors, sending
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.services import Services
from store import audit
from store.models import User
from tests.mfa.factor_helpers import (
    MOBILE,
    MOBILE_E164,
    OTHER_MOBILE,
    OTHER_MOBILE_E164,
    live_code_from_the_key,
    mailed_codes,
    make_user,
    reload,
    services_for,
    set_up_email,
    set_up_sms,
    texted_code,
)
from tests.smtp_server import SmtpSink, unused_port


@pytest.fixture
async def demo(config: Config, clock: ManualClock, sink: SmtpSink) -> AsyncIterator[Services]:
    """Demo mode: email through the real SMTP sink, texts in the outbox with their bodies."""
    async with services_for(config, clock, sink=sink, demo=True) as opened:
        yield opened


@pytest.fixture
async def user(demo: Services) -> User:
    return await make_user(demo)


async def events_of(services: Services, user: User) -> list[str]:
    return [event.event for event in reversed(await audit.events(services.db, user.id))]


# ------------------------------------------------------------------------------------- email setup


async def test_email_setup_end_to_end_over_smtp(
    demo: Services, user: User, sink: SmtpSink, clock: ManualClock
) -> None:
    sent = await sending.start_email_setup(demo, user)
    assert sent.ok and sent.status == "sent"
    assert sent.message == "We sent a code to j***@example.com."
    assert sent.masked_destination == "j***@example.com"
    assert sent.expires_at == clock.now() + 600
    [mail] = sink.messages_to("jordan.lee@example.com")
    assert mail["Subject"] == "Your verification code"
    # The body names who sends it: the subscription and its products.
    text = " ".join(mail.get_content().split())
    assert (
        "Enter it to finish setting up multi-factor authentication for Acme (PitneyShip Pro)."
        in text
    )
    assert "Sent by mfa-tui, the sign-in service of Acme." in text
    assert mail["Content-Transfer-Encoding"] == "7bit"
    code = mailed_codes(sink, user.email)[0]

    before = await factors.methods_of(demo, user.id)
    assert [(m.kind, m.verified) for m in before] == [("email", False)]
    assert await factors.needs_setup(demo, user)

    clock.advance(42)
    verified = await factors.confirm_setup(demo, user, "email", code)
    assert verified.ok and verified.message == "Email is set up: codes can go to j***@example.com."
    [method] = await factors.methods_of(demo, user.id)
    assert (method.kind, method.verified, method.last_used_at) == ("email", True, clock.now())
    assert method.masked == "j***@example.com" and method.label == "Email (j***@example.com)"
    assert (await reload(demo, user)).last_method_id == method.id
    assert not await factors.needs_setup(demo, user)
    assert await events_of(demo, user) == [
        "user.added",
        "mfa.code_sent",
        "mfa.method_verified",
    ]


async def test_email_sign_in_end_to_end_over_smtp(
    demo: Services, user: User, sink: SmtpSink, clock: ManualClock
) -> None:
    method = await set_up_email(demo, user, sink)
    clock.advance(3600)
    sent = await sending.send_sign_in_code(demo, user, method.id)
    assert sent.ok and sent.message == "We sent a code to j***@example.com."
    text = " ".join(sink.messages_to(user.email)[-1].get_content().split())
    assert "Enter it to finish signing in to Acme (PitneyShip Pro)." in text
    code = mailed_codes(sink, user.email)[-1]
    result = await factors.verify_sign_in(demo, user, code)
    assert result.ok and result.method_id == method.id
    [after] = await factors.methods_of(demo, user.id)
    assert after.last_used_at == clock.now()
    assert (await events_of(demo, user))[-2:] == ["mfa.code_sent", "mfa.sign_in_verified"]


async def test_an_address_that_cannot_receive_mail_is_refused_with_the_reason(
    demo: Services, sink: SmtpSink
) -> None:
    user = await make_user(demo, "ops@plant7")
    result = await sending.start_email_setup(demo, user)
    assert not result.ok and result.status == "undeliverable"
    # The screen shows the masked address: the message under it never spells out the full one.
    assert result.message.startswith("Codes can't be sent to your address o***@plant7: ")
    assert "ops@plant7" not in result.message
    assert "Choose another method" in result.message
    assert sink.messages == []
    assert await factors.methods_of(demo, user.id) == []


async def test_a_kind_the_subscription_does_not_allow_is_refused(
    demo: Services, sink: SmtpSink
) -> None:
    user = await make_user(demo, allowed="email")
    result = await sending.start_sms_setup(demo, user, MOBILE)
    assert (result.ok, result.status) == (False, "not_allowed")
    assert result.message == "Your subscription doesn't allow codes by SMS."
    assert await factors.allowed_kinds(demo, user) == ("email",)


def test_the_weaker_than_an_app_note_is_there_for_the_screens() -> None:
    assert "weaker than an authenticator app" in factors.CODE_METHODS_NOTE


# --------------------------------------------------------------------------------------- SMS setup


async def test_sms_setup_through_the_demo_outbox(demo: Services, user: User) -> None:
    sent = await sending.start_sms_setup(demo, user, "(415) 555-0100")
    assert sent.ok and sent.message == "We sent a code to +1 ***-***-0100."
    [text] = await audit.outbox(demo.db)
    assert (text.channel, text.recipient, text.error) == ("sms", MOBILE_E164, None)
    assert text.body is not None and "is your verification code for setup" in text.body
    verified = await factors.confirm_setup(demo, user, "sms", await texted_code(demo))
    assert verified.ok and verified.message == "SMS is set up: codes can go to +1 ***-***-0100."
    [method] = await factors.methods_of(demo, user.id)
    assert (method.kind, method.destination, method.masked) == (
        "sms",
        MOBILE_E164,
        "+1 ***-***-0100",
    )


async def test_outside_demo_mode_the_outbox_keeps_no_body(
    services: Services, clock: ManualClock
) -> None:
    user = await make_user(services)
    assert (await sending.start_sms_setup(services, user, MOBILE)).ok
    [text] = await audit.outbox(services.db)
    assert (text.channel, text.recipient, text.body) == ("sms", MOBILE_E164, None)
    code = await live_code_from_the_key(services, user)
    assert (await factors.confirm_setup(services, user, "sms", code)).ok


async def test_an_invalid_number_is_refused_with_the_reason_and_nothing_is_sent(
    demo: Services, user: User
) -> None:
    result = await sending.start_sms_setup(demo, user, "555-01")
    assert (result.ok, result.status) == (False, "invalid_number")
    assert "too short" in result.message
    assert await audit.outbox(demo.db) == []
    assert await factors.methods_of(demo, user.id) == []


async def test_a_changed_number_takes_effect_only_once_verified(
    demo: Services, user: User, clock: ManualClock
) -> None:
    method = await set_up_sms(demo, user, MOBILE)
    clock.advance(30)
    started = await sending.start_sms_setup(demo, user, OTHER_MOBILE)
    assert started.ok and started.masked_destination == "+1 ***-***-0199"
    new_code = await texted_code(demo)
    # Until the new number is verified, sign-in codes still go to the old one.
    [still] = await factors.sign_in_methods(demo, user)
    assert still.destination == MOBILE_E164
    wrong = await factors.confirm_setup(demo, user, "sms", f"{(int(new_code) + 1) % 10**6:06d}")
    assert not wrong.ok
    assert (await factors.methods_of(demo, user.id))[0].destination == MOBILE_E164
    assert (await factors.confirm_setup(demo, user, "sms", new_code)).ok
    [changed] = await factors.methods_of(demo, user.id)
    assert (changed.id, changed.destination, changed.verified) == (
        method.id,
        OTHER_MOBILE_E164,
        True,
    )
    assert "mfa.phone_changed" in await events_of(demo, user)


async def test_the_optional_second_method(
    demo: Services, user: User, sink: SmtpSink, clock: ManualClock
) -> None:
    await set_up_email(demo, user, sink)
    clock.advance(30)
    await set_up_sms(demo, user)
    methods = await factors.methods_of(demo, user.id)
    assert [(m.kind, m.verified) for m in methods] == [("email", True), ("sms", True)]


# --------------------------------------------------------------------------------- default method


async def both_methods(
    services: Services, user: User, sink: SmtpSink, clock: ManualClock
) -> tuple[factors.Method, factors.Method]:
    email = await set_up_email(services, user, sink)
    clock.advance(30)
    sms = await set_up_sms(services, user)
    clock.advance(30)
    return email, sms


async def sign_in_with(
    services: Services, user: User, method: factors.Method, sink: SmtpSink, clock: ManualClock
) -> None:
    assert (await sending.send_sign_in_code(services, user, method.id)).ok
    if method.kind == "email":
        code = mailed_codes(sink, user.email)[-1]
    else:
        code = await texted_code(services)
    assert (await factors.verify_sign_in(services, user, code)).ok
    clock.advance(30)


async def test_the_default_method_is_the_last_one_used(
    demo: Services, user: User, sink: SmtpSink, clock: ManualClock
) -> None:
    assert await factors.default_method(demo, user) is None
    email, sms = await both_methods(demo, user, sink, clock)
    assert await factors.default_method(demo, user) == sms  # set up last
    await sign_in_with(demo, user, email, sink, clock)
    default = await factors.default_method(demo, user)
    assert default is not None and default.id == email.id
    await sign_in_with(demo, user, sms, sink, clock)
    default = await factors.default_method(demo, user)
    assert default is not None and default.id == sms.id


async def test_a_preferred_method_wins_over_the_last_one_used(
    demo: Services, user: User, sink: SmtpSink, clock: ManualClock
) -> None:
    email, sms = await both_methods(demo, user, sink, clock)
    await factors.set_preferred(demo, user, email.id)
    await sign_in_with(demo, user, sms, sink, clock)
    default = await factors.default_method(demo, user)
    assert default is not None and default.id == email.id
    await factors.set_preferred(demo, user, None)
    default = await factors.default_method(demo, user)
    assert default is not None and default.id == sms.id


async def test_only_a_verified_method_of_ones_own_can_be_preferred(
    demo: Services, user: User, clock: ManualClock
) -> None:
    other = await make_user(demo, "sam.patel@example.com")
    sms = await set_up_sms(demo, other)
    with pytest.raises(factors.FactorError):
        await factors.set_preferred(demo, user, sms.id)
    assert (await sending.start_sms_setup(demo, user, MOBILE)).ok
    [unverified] = await factors.methods_of(demo, user.id)
    with pytest.raises(factors.FactorError, match="isn't set up"):
        await factors.set_preferred(demo, user, unverified.id)


async def test_a_method_the_subscription_no_longer_allows_is_not_offered(
    demo: Services, user: User, sink: SmtpSink, clock: ManualClock
) -> None:
    email, sms = await both_methods(demo, user, sink, clock)
    async with demo.db.write() as conn:
        await conn.execute("UPDATE subscriptions SET allowed_methods = 'email'")
    assert [m.kind for m in await factors.sign_in_methods(demo, user)] == ["email"]
    default = await factors.default_method(demo, user)
    assert default is not None and default.id == email.id
    refused = await sending.send_sign_in_code(demo, user, sms.id)
    assert (refused.ok, refused.status) == (False, "not_available")


# ---------------------------------------------------------------------------------------- throttle


async def test_wrong_codes_feed_the_shared_account_throttle(
    demo: Services, user: User, clock: ManualClock
) -> None:
    method = await set_up_sms(demo, user)
    clock.advance(30)
    assert (await sending.send_sign_in_code(demo, user, method.id)).ok
    first = await texted_code(demo)
    wrong = f"{(int(first) + 1) % 10**6:06d}"
    for _ in range(3):
        assert (await factors.verify_sign_in(demo, user, wrong)).status == "wrong"
    assert (await reload(demo, user)).failed_attempts == 3
    # A resend gives a fresh code but does not reset the account's count.
    clock.advance(30)
    assert (await sending.send_sign_in_code(demo, user, method.id)).ok
    second = await texted_code(demo)
    wrong = f"{(int(second) + 1) % 10**6:06d}"
    assert (await factors.verify_sign_in(demo, user, wrong)).status == "wrong"
    fifth = await factors.verify_sign_in(demo, user, wrong)
    assert fifth.status == "wrong" and fifth.tries_left == 3
    assert fifth.message.endswith("Too many failed attempts: try again in 30 seconds.")
    assert fifth.retry_at == clock.now() + 30
    # While the account waits, even the right code is not judged, and no code is sent.
    clock.advance(29)
    locked = await factors.verify_sign_in(demo, user, second)
    assert (locked.ok, locked.status) == (False, "locked")
    assert locked.message == "Too many failed attempts: try again in 1 second."
    assert locked.retry_at == clock.now() + 1
    refused = await sending.send_sign_in_code(demo, user, method.id)
    assert (refused.ok, refused.status) == (False, "locked")
    assert refused.resend_available_at == clock.now() + 1
    clock.advance(1)
    assert (await factors.verify_sign_in(demo, user, second)).ok
    fresh = await reload(demo, user)
    assert (fresh.failed_attempts, fresh.locked_until) == (0, None)


async def test_a_password_failure_count_carries_into_codes(
    demo: Services, user: User, clock: ManualClock
) -> None:
    method = await set_up_sms(demo, user)
    async with demo.db.write() as conn:  # four wrong passwords, as the sign-in records them
        await conn.execute("UPDATE users SET failed_attempts = 4 WHERE id = ?", (user.id,))
    clock.advance(30)
    assert (await sending.send_sign_in_code(demo, user, method.id)).ok
    code = await texted_code(demo)
    result = await factors.verify_sign_in(demo, user, f"{(int(code) + 1) % 10**6:06d}")
    assert result.retry_at == clock.now() + 30


async def test_at_the_hard_limit_only_an_administrator_can_unlock(
    demo: Services, user: User, clock: ManualClock
) -> None:
    method = await set_up_sms(demo, user)
    async with demo.db.write() as conn:
        await conn.execute("UPDATE users SET failed_attempts = 99 WHERE id = ?", (user.id,))
    clock.advance(30)
    assert (await sending.send_sign_in_code(demo, user, method.id)).ok
    code = await texted_code(demo)
    wrong = await factors.verify_sign_in(demo, user, f"{(int(code) + 1) % 10**6:06d}")
    assert wrong.retry_at is None and wrong.message.endswith("Ask an administrator to unlock it.")
    clock.advance(86_400)
    locked = await factors.verify_sign_in(demo, user, code)
    assert (locked.status, locked.retry_at) == ("locked", None)
    assert locked.message == (
        "This account is locked after too many failed attempts. Ask an administrator to unlock it."
    )


# -------------------------------------------------------------------------------------- management


async def test_the_last_verified_method_cannot_be_removed_while_mfa_is_required(
    demo: Services, user: User, sink: SmtpSink, clock: ManualClock
) -> None:
    email, sms = await both_methods(demo, user, sink, clock)
    await factors.set_preferred(demo, user, sms.id)
    await factors.remove_method(demo, user, sms.id)
    assert [m.kind for m in await factors.methods_of(demo, user.id)] == ["email"]
    assert (await reload(demo, user)).preferred_method_id is None
    with pytest.raises(factors.FactorError, match="only verification method"):
        await factors.remove_method(demo, user, email.id)
    assert "mfa.method_removed" in await events_of(demo, user)


async def test_without_mfa_required_the_last_method_can_go(demo: Services) -> None:
    user = await make_user(demo, mfa_required=False)
    sms = await set_up_sms(demo, user)
    await factors.remove_method(demo, user, sms.id)
    assert await factors.methods_of(demo, user.id) == []


async def test_an_unfinished_setup_can_always_be_removed(
    demo: Services, user: User, sink: SmtpSink, clock: ManualClock
) -> None:
    await set_up_email(demo, user, sink)
    clock.advance(30)
    assert (await sending.start_sms_setup(demo, user, MOBILE)).ok
    unfinished = next(m for m in await factors.methods_of(demo, user.id) if m.kind == "sms")
    await factors.remove_method(demo, user, unfinished.id)
    assert await factors.live_code(demo, user) is None


async def test_a_method_of_another_user_cannot_be_removed(demo: Services, user: User) -> None:
    other = await make_user(demo, "sam.patel@example.com", mfa_required=False)
    sms = await set_up_sms(demo, other)
    with pytest.raises(factors.FactorError):
        await factors.remove_method(demo, user, sms.id)


async def test_the_live_code_tells_a_screen_where_it_went(
    demo: Services, user: User, clock: ManualClock
) -> None:
    assert await factors.live_code(demo, user) is None
    sent = await sending.start_sms_setup(demo, user, MOBILE)
    live = await factors.live_code(demo, user)
    assert live is not None
    assert (live.kind, live.masked_destination, live.purpose, live.tries_left) == (
        "sms",
        "+1 ***-***-0100",
        "setup",
        5,
    )
    assert live.expires_at == sent.expires_at
    assert await sending.next_send_at(demo, user) == clock.now() + 30
    clock.advance(600)
    assert await factors.live_code(demo, user) is None


# ------------------------------------------------------------------------------- a failed first send


async def test_a_failed_sms_send_keeps_no_method_with_the_number(
    config: Config, clock: ManualClock
) -> None:
    failing = shlex.join([sys.executable, "-c", "import sys; sys.stdin.read(); sys.exit(3)"])
    config = config.replace("sms", provider="command", command=failing, timeout_seconds=10.0)
    async with services_for(config, clock) as services:
        user = await make_user(services)
        failed = await sending.start_sms_setup(services, user, MOBILE)
        assert (failed.ok, failed.status) == (False, "delivery_failed")
        assert await factors.methods_of(services, user.id) == []
        rows = await services.db.fetchall("SELECT destination FROM mfa_methods")
        assert rows == []

        # A method whose code did go out is kept when a later send fails.
        working = config.replace("sms", provider="outbox")
        async with services_for(working, clock) as other:
            assert (await sending.start_sms_setup(other, user, MOBILE)).ok
        clock.advance(60)
        again = await sending.start_sms_setup(services, user, MOBILE)
        assert again.status == "delivery_failed"
        [kept] = await factors.methods_of(services, user.id)
        assert kept.kind == "sms" and not kept.verified


async def test_a_failed_email_setup_send_keeps_no_method(
    config: Config, clock: ManualClock
) -> None:
    async with services_for(config, clock, smtp_port=unused_port()) as services:
        user = await make_user(services)
        assert (await sending.start_email_setup(services, user)).status == "delivery_failed"
        assert await factors.methods_of(services, user.id) == []

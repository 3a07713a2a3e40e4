"""Code rules with a moved clock: lifetime, attempts, single use, resend, cooldown, send limit, storage."""

from __future__ import annotations

import asyncio
import re
import stat
from pathlib import Path

import pyotp
import pytest
from cryptography.fernet import Fernet

from mfa import codes, factors, sending, wording
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.services import Services
from store import audit
from store.models import User
from tests.mfa.factor_helpers import (
    MOBILE,
    live_code_from_the_key,
    make_user,
    services_for,
    set_up_sms,
    texted_code,
)
from tests.smtp_server import unused_port


@pytest.fixture
async def demo(config: Config, clock: ManualClock):
    """Services in demo mode: texts land in the outbox with their bodies, so tests can read codes."""
    async with services_for(config, clock, demo=True) as opened:
        yield opened


@pytest.fixture
async def user(demo: Services) -> User:
    return await make_user(demo)


async def signed_in_code(services: Services, user: User, clock: ManualClock) -> str:
    """Set up SMS, then send a sign-in code to it; returns the code."""
    method = await set_up_sms(services, user)
    clock.advance(30)
    sent = await sending.send_sign_in_code(services, user, method.id)
    assert sent.ok, sent.message
    return await texted_code(services)


# ---------------------------------------------------------------------------------------- lifetime


async def test_a_code_is_accepted_at_9_59(demo: Services, user: User, clock: ManualClock) -> None:
    code = await signed_in_code(demo, user, clock)
    clock.advance(599)
    result = await factors.verify_sign_in(demo, user, code)
    assert result.ok and result.status == "verified"


async def test_a_code_is_refused_at_10_00_with_an_offer_of_a_new_one(
    demo: Services, user: User, clock: ManualClock
) -> None:
    code = await signed_in_code(demo, user, clock)
    clock.advance(600)
    result = await factors.verify_sign_in(demo, user, code)
    assert not result.ok and result.status == "expired"
    assert result.message == "That code has expired: codes work for 10 minutes. Send a new code."
    assert result.needs_new_code


# ---------------------------------------------------------------------------------------- attempts


async def test_a_wrong_code_says_how_many_tries_remain(config: Config, clock: ManualClock) -> None:
    async with services_for(config, clock, demo=True, lockout_free_failures=50) as services:
        user = await make_user(services)
        code = await signed_in_code(services, user, clock)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        messages = [(await factors.verify_sign_in(services, user, wrong)).message for _ in range(5)]
    assert messages[0] == "That code isn't right. You have 4 tries left for this code."
    assert messages[3] == "That code isn't right. You have 1 try left for this code."
    assert messages[4] == (
        "That code isn't right. This code has now been entered wrongly too many times. "
        "Send a new code."
    )


async def test_the_sixth_attempt_is_refused_even_with_the_right_code(
    config: Config, clock: ManualClock
) -> None:
    # The account throttle is set out of the way: this is the per-code limit.
    async with services_for(config, clock, demo=True, lockout_free_failures=50) as services:
        user = await make_user(services)
        code = await signed_in_code(services, user, clock)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(5):
            assert (await factors.verify_sign_in(services, user, wrong)).status == "wrong"
        result = await factors.verify_sign_in(services, user, code)
    assert not result.ok and result.status == "void"
    assert result.message == codes.CODE_VOID
    assert result.needs_new_code


async def test_text_that_is_not_a_code_is_not_counted(config: Config, clock: ManualClock) -> None:
    async with services_for(config, clock, demo=True, lockout_free_failures=50) as services:
        user = await make_user(services)
        code = await signed_in_code(services, user, clock)
        for typed in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
            result = await factors.verify_sign_in(services, user, typed)
            assert result.status == "malformed"
            assert result.message == "Enter the 6-digit code from the message."
        spaced = f"{code[:3]} {code[3:]}"
        assert (await factors.verify_sign_in(services, user, spaced)).ok


# -------------------------------------------------------------------------------------- single use


async def test_a_used_code_is_refused(demo: Services, user: User, clock: ManualClock) -> None:
    code = await signed_in_code(demo, user, clock)
    assert (await factors.verify_sign_in(demo, user, code)).ok
    again = await factors.verify_sign_in(demo, user, code)
    assert not again.ok and again.status == "no_code"
    assert again.message == "That code has already been used or was replaced. Send a new code."


async def test_after_a_resend_the_old_code_is_refused_and_the_new_one_works(
    demo: Services, user: User, clock: ManualClock
) -> None:
    old = await signed_in_code(demo, user, clock)
    method = await factors.default_method(demo, user)
    assert method is not None
    clock.advance(30)
    assert (await sending.send_sign_in_code(demo, user, method.id)).ok
    new = await texted_code(demo)
    assert new != old
    refused = await factors.verify_sign_in(demo, user, old)
    assert not refused.ok and refused.status == "wrong"
    assert refused.message.startswith("That code was replaced by a newer one")
    assert (await factors.verify_sign_in(demo, user, new)).ok


async def test_a_setup_code_does_not_sign_in(demo: Services, user: User) -> None:
    assert (await sending.start_sms_setup(demo, user, MOBILE)).ok
    result = await factors.verify_sign_in(demo, user, await texted_code(demo))
    assert not result.ok and result.status == "no_code"


async def test_two_concurrent_verifications_of_one_code_exactly_one_succeeds(
    config: Config, clock: ManualClock
) -> None:
    # Two processes' worth of services on one file: separate connections, separate locks.
    async with (
        services_for(config, clock, demo=True) as first,
        services_for(config, clock, demo=True) as second,
    ):
        user = await make_user(first)
        code = await signed_in_code(first, user, clock)
        for _ in range(5):
            results = await asyncio.gather(
                factors.verify_sign_in(first, user, code),
                factors.verify_sign_in(second, user, code),
            )
            assert sorted(r.ok for r in results) == [False, True]
            assert {r.status for r in results} == {"verified", "no_code"}
            clock.advance(300)  # keeps the rounds' sends under the limit of 5 in 15 minutes
            method = await factors.default_method(first, user)
            assert method is not None
            assert (await sending.send_sign_in_code(first, user, method.id)).ok
            code = await texted_code(first)


# ------------------------------------------------------------------------------------------- sends


async def test_the_cooldown_is_30_seconds_after_a_successful_send(
    demo: Services, user: User, clock: ManualClock
) -> None:
    first = await sending.start_sms_setup(demo, user, MOBILE)
    assert first.ok and first.resend_available_at == clock.now() + 30
    clock.advance(29)
    early = await sending.start_sms_setup(demo, user, MOBILE)
    assert not early.ok and early.status == "cooldown"
    assert early.message == "You can ask for another code in 1 second."
    assert early.resend_available_at == first.resend_available_at
    clock.advance(1)
    assert (await sending.start_sms_setup(demo, user, MOBILE)).ok


async def test_a_failed_send_starts_no_cooldown_and_consumes_nothing(
    config: Config, clock: ManualClock
) -> None:
    async with services_for(config, clock, smtp_port=unused_port(), demo=True) as services:
        user = await make_user(services)
        code = await signed_in_code(services, user, clock)  # a live sign-in code by SMS
        clock.advance(30)
        failed = await sending.start_email_setup(services, user)  # nothing listens there
        assert not failed.ok and failed.status == "delivery_failed"
        assert failed.message.startswith("Couldn't reach the mail server 127.0.0.1:")
        assert "choose another method" in failed.message
        assert failed.resend_available_at is None
        assert await sending.next_send_at(services, user) is None
        live = await factors.live_code(services, user)
        assert live is not None and live.kind == "sms" and live.purpose == "sign_in"
        # The delivery log has the failure, without a body.
        logged = (await audit.outbox(services.db))[0]
        assert logged.channel == "email" and logged.body is None
        assert logged.error is not None and "Couldn't reach" in logged.error
        # The earlier code still works.
        assert (await factors.verify_sign_in(services, user, code)).ok


async def test_a_first_send_that_fails_leaves_the_next_one_free(
    config: Config, clock: ManualClock
) -> None:
    async with services_for(config, clock, smtp_port=unused_port(), demo=True) as services:
        user = await make_user(services)
        for _ in range(6):  # failures don't count toward the limit either
            assert (await sending.start_email_setup(services, user)).status == "delivery_failed"
        sent = await sending.start_sms_setup(services, user, MOBILE)
        assert sent.ok, sent.message


async def test_the_sixth_send_within_15_minutes_is_refused(
    demo: Services, user: User, clock: ManualClock
) -> None:
    start = clock.now()
    for _ in range(5):
        assert (await sending.start_sms_setup(demo, user, MOBILE)).ok
        clock.advance(30)
    sixth = await sending.start_sms_setup(demo, user, MOBILE)
    assert not sixth.ok and sixth.status == "limit"
    assert sixth.message == (
        "You've asked for 5 codes in the last 15 minutes, the most allowed. "
        "You can ask for another in 13 minutes."
    )
    assert sixth.resend_available_at == start + 900
    # The fifth send already announced that wait.
    clock.set(start + 899)
    assert (await sending.start_sms_setup(demo, user, MOBILE)).status == "limit"
    clock.set(start + 900)
    assert (await sending.start_sms_setup(demo, user, MOBILE)).ok


async def test_the_fifth_send_announces_when_the_next_is_possible(
    demo: Services, user: User, clock: ManualClock
) -> None:
    start = clock.now()
    results = []
    for _ in range(5):
        results.append(await sending.start_sms_setup(demo, user, MOBILE))
        clock.advance(30)
    assert [r.resend_available_at for r in results[:4]] == [start + 30 * (i + 1) for i in range(4)]
    assert results[4].resend_available_at == start + 900


# ----------------------------------------------------------------------------------------- storage


async def test_secrets_are_encrypted_at_rest_with_a_private_key_file(
    services: Services, clock: ManualClock
) -> None:
    user = await make_user(services)
    sent = await sending.start_sms_setup(services, user, MOBILE)
    assert sent.ok
    row = await services.db.fetchone(
        "SELECT secret, counter FROM mfa_methods WHERE user_id = ?", (user.id,)
    )
    stored = bytes(row["secret"])
    assert not re.fullmatch(rb"[A-Z2-7]{16,}", stored)
    key_path = Path(services.config.key_path)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    secret = Fernet(key_path.read_bytes().strip()).decrypt(stored).decode()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert secret.encode() not in stored
    code = pyotp.HOTP(secret, digits=6).at(row["counter"])
    assert code == await live_code_from_the_key(services, user)
    assert (await factors.confirm_setup(services, user, "sms", code)).ok


async def test_codes_are_not_written_to_the_database_outside_demo_mode(
    services: Services, clock: ManualClock
) -> None:
    assert not services.demo
    user = await make_user(services)
    assert (await sending.start_sms_setup(services, user, MOBILE)).ok
    code = await live_code_from_the_key(services, user)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    await factors.verify_sign_in(services, user, wrong)
    await factors.confirm_setup(services, user, "sms", wrong)
    assert (await factors.confirm_setup(services, user, "sms", code)).ok
    outbox = await audit.outbox(services.db)
    assert [(m.channel, m.recipient, m.body) for m in outbox] == [("sms", "+14155550100", None)]
    details = " ".join(e.detail or "" for e in await audit.events(services.db))
    assert code not in details and wrong not in details
    challenge_columns = await services.db.fetchall("PRAGMA table_info(otp_challenges)")
    assert "code" not in {c["name"] for c in challenge_columns}


# ------------------------------------------------------------------------------------------- words


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.2, "1 second"),
        (29.5, "30 seconds"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (3600, "1 hour"),
        (5400, "2 hours"),
    ],
)
def test_waits_are_described_in_words_rounded_up(seconds: float, words: str) -> None:
    assert wording.describe_wait(seconds) == words


def test_typed_codes_are_normalised() -> None:
    assert codes.normalise_code(" 123 456 ") == "123456"
    assert codes.normalise_code("123-456") == "123456"
    assert codes.normalise_code("12345") is None
    assert codes.normalise_code("12345a") is None

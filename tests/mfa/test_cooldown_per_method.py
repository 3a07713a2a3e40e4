"""The resend cooldown belongs to the method: another method's code goes at once (setting up a
second method, switching on Verify); the same method waits 30 s; the send limit stays per account
and says so."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mfa import factors, sending
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.services import Services
from store.models import User
from tests.mfa.factor_helpers import MOBILE, make_user, services_for, set_up_email, set_up_sms
from tests.smtp_server import SmtpSink


@pytest.fixture
async def demo(config: Config, clock: ManualClock, sink: SmtpSink) -> AsyncIterator[Services]:
    async with services_for(config, clock, sink=sink, demo=True) as opened:
        yield opened


@pytest.fixture
async def user(demo: Services) -> User:
    return await make_user(demo)


async def test_a_second_method_right_after_the_first_sends_at_once(
    demo: Services, user: User
) -> None:
    email = await sending.start_email_setup(demo, user)
    assert email.ok
    sms = await sending.start_sms_setup(demo, user, MOBILE)
    assert sms.ok, sms.message
    again = await sending.start_email_setup(demo, user)
    assert again.status == "cooldown"
    assert await sending.next_send_at(demo, user, "email") == demo.now() + 30
    assert await sending.next_send_at(demo, user, "sms") == demo.now() + 30


async def test_switching_methods_sends_at_once_and_the_account_limit_still_holds(
    demo: Services, clock: ManualClock, user: User, sink: SmtpSink
) -> None:
    await set_up_email(demo, user, sink)
    await set_up_sms(demo, user)
    clock.advance(1_000)  # the setup sends are out of the 15-minute window
    methods = {m.kind: m for m in await factors.methods_of(demo, user.id)}
    # email, sms, email (30 s after the first), sms: each goes out at once.
    for kind, wait in (("email", 0), ("sms", 1), ("email", 30), ("sms", 1)):
        clock.advance(wait)
        sent = await sending.send_sign_in_code(demo, user, methods[kind].id)
        assert sent.ok, (kind, sent.message)
    # The same method 1 s after its last code: the cooldown.
    clock.advance(1)
    refused = await sending.send_sign_in_code(demo, user, methods["sms"].id)
    assert refused.status == "cooldown"
    clock.advance(30)
    fifth = await sending.send_sign_in_code(demo, user, methods["email"].id)
    assert fifth.ok
    clock.advance(1)
    limit = await sending.send_sign_in_code(demo, user, methods["sms"].id)
    assert limit.status == "limit"
    assert limit.message.startswith("You've asked for 5 codes in the last 15 minutes")

"""Helpers for the code and method tests: accounts, services pointed at a mail server, reading codes."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pyotp

from mfa import accounts, factors, sending
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.keys import secret_box
from mfa.services import Services, open_services
from store import accounts as account_store
from store import audit
from store import factors as factor_store
from store import reauth as grant_store
from store.models import User
from tests.smtp_server import SmtpSink

ATTEMPT = "test-sign-in-attempt"
"""The sign-in attempt the domain-level tests act in (codes are bound to it)."""

MOBILE = "+1 415 555 0100"
MOBILE_E164 = "+14155550100"
OTHER_MOBILE = "(202) 555-0199"
OTHER_MOBILE_E164 = "+12025550199"


async def make_user(
    services: Services,
    email: str = "jordan.lee@example.com",
    *,
    mfa_required: bool = True,
    allowed: str = "email,sms",
) -> User:
    """A user in its own subscription (created on first use), marked as required to use MFA."""
    subscription = await account_store.subscription_by_name(services.db, "Acme")
    if subscription is None:
        await accounts.create_subscription(services, "Acme", ["PitneyShip Pro"])
        subscription = await account_store.subscription_by_name(services.db, "Acme")
    assert subscription is not None
    user, _warning = await accounts.add_user(
        services, subscription, email, "Jordan Lee", "user", None
    )
    async with services.db.write() as conn:
        await conn.execute(
            "UPDATE subscriptions SET allowed_methods = ? WHERE id = ?", (allowed, subscription.id)
        )
        await conn.execute(
            "UPDATE users SET mfa_required = ? WHERE id = ?", (int(mfa_required), user.id)
        )
    fresh = await account_store.user_by_id(services.db, user.id)
    assert fresh is not None
    return fresh


async def granted(services: Services, user: User | factors.Account | int) -> str:
    """Give :data:`ATTEMPT` a fresh re-authentication grant for ``user`` (or a user id), as
    ``mfa.reauth.step_up`` would after the password and a code, and return it: for tests of
    other rules."""
    now = services.now()
    seconds = services.config.security.step_up_seconds
    user_id = user if isinstance(user, int) else user.id
    async with services.db.write() as conn:
        await grant_store.record_grant(conn, ATTEMPT, user_id, now, now + seconds, "test")
    return ATTEMPT


async def reload(services: Services, user: User) -> User:
    fresh = await account_store.user_by_id(services.db, user.id)
    assert fresh is not None
    return fresh


@asynccontextmanager
async def services_for(
    config: Config,
    clock: ManualClock,
    *,
    sink: SmtpSink | None = None,
    smtp_port: int | None = None,
    demo: bool = False,
    **security: int,
) -> AsyncIterator[Services]:
    """Services on ``config``'s database, mailing through ``sink`` (or to ``smtp_port``)."""
    if sink is not None:
        config = dataclasses.replace(config, email=sink.email_config())
    elif smtp_port is not None:
        config = config.replace("email", host="127.0.0.1", port=smtp_port, timeout_seconds=5.0)
    if security:
        config = config.replace("security", **security)
    opened = await open_services(config, clock=clock, demo=demo)
    try:
        yield opened
    finally:
        await opened.close()


def code_in(text: str) -> str:
    found = re.findall(r"\b\d{6}\b", text)
    assert len(found) == 1, text
    return found[0]


def mailed_codes(sink: SmtpSink, address: str) -> list[str]:
    """The codes in the mails ``address`` received, oldest first (security notices, which carry
    no code, left out)."""
    return [
        code_in(mail.get_content())
        for mail in sink.messages_to(address)
        if mail["Subject"] == "Your verification code"
    ]


async def texted_code(services: Services) -> str:
    """The code in the newest text message of the outbox (demo mode keeps bodies)."""
    messages = [
        m
        for m in await audit.outbox(services.db)
        if m.channel == "sms" and not m.error and "verification code" in (m.body or "")
    ]
    assert messages and messages[0].body is not None
    return code_in(messages[0].body)


async def live_code_from_the_key(services: Services, user: User) -> str:
    """The live code computed from the database and the key file (where no body was kept)."""
    challenge = await factor_store.current_challenge(services.db, user.id)
    assert challenge is not None
    row = await services.db.fetchone(
        "SELECT secret FROM mfa_methods WHERE id = ?", (challenge.method_id,)
    )
    secret = secret_box(services.config.key_path).decrypt(row["secret"])
    return pyotp.HOTP(secret, digits=6).at(challenge.counter)


async def set_up_sms(services: Services, user: User, number: str = MOBILE) -> factors.Method:
    """Set up and verify SMS through the outbox (``services`` in demo mode)."""
    sent = await sending.start_sms_setup(
        services, user, number, attempt=await granted(services, user)
    )
    assert sent.ok, sent.message
    verified = await factors.confirm_setup(
        services, user, "sms", await texted_code(services), attempt=ATTEMPT
    )
    assert verified.ok, verified.message
    methods = await factors.methods_of(services, user.id)
    return next(m for m in methods if m.kind == "sms")


async def set_up_email(services: Services, user: User, sink: SmtpSink) -> factors.Method:
    """Set up and verify email through ``sink``."""
    sent = await sending.start_email_setup(services, user, attempt=await granted(services, user))
    assert sent.ok, sent.message
    code = mailed_codes(sink, user.email)[-1]
    verified = await factors.confirm_setup(services, user, "email", code, attempt=ATTEMPT)
    assert verified.ok, verified.message
    methods = await factors.methods_of(services, user.id)
    return next(m for m in methods if m.kind == "email")

"""A user changing their own password: the new one signs in, the old one doesn't; a wrong current
password counts in the shared throttle; the rules and "not the same again" refuse without a try."""

from __future__ import annotations

import logging

import pytest

from mfa.accounts import (
    CURRENT_PASSWORD_WRONG,
    SAME_PASSWORD,
    AccountError,
    change_password,
)
from mfa.clock import ManualClock
from mfa.services import Services
from mfa.signin import SignInOutcome, sign_in
from store import accounts as account_store
from store import audit
from store.models import User
from tests.tui.helpers import DEMO_USER, seed_demo

USER_EMAIL, USER_PASSWORD = DEMO_USER
NEW_PASSWORD = "harbour lantern at dusk"


@pytest.fixture
async def seeded(services: Services) -> Services:
    await seed_demo(services)
    return services


@pytest.fixture
async def user(seeded: Services) -> User:
    found = await account_store.user_by_email(seeded.db, USER_EMAIL)
    assert found is not None
    return found


async def _reload(services: Services, user: User) -> User:
    fresh = await account_store.user_by_id(services.db, user.id)
    assert fresh is not None
    return fresh


async def _refusal(services: Services, user: User, current: str, new: str) -> str:
    with pytest.raises(AccountError) as refused:
        await change_password(services, user.id, current, new)
    return str(refused.value)


async def _events(services: Services, user: User, event: str) -> list[str | None]:
    return [
        e.detail for e in reversed(await audit.events(services.db, user.id)) if e.event == event
    ]


async def test_the_new_password_signs_in_and_the_old_one_no_longer_does(
    seeded: Services, user: User, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await change_password(seeded, user.id, USER_PASSWORD, NEW_PASSWORD)

    assert (await sign_in(seeded, USER_EMAIL, NEW_PASSWORD)).outcome is SignInOutcome.SIGNED_IN
    assert (await sign_in(seeded, USER_EMAIL, USER_PASSWORD)).outcome is SignInOutcome.REJECTED
    assert await _events(seeded, user, "user.password_changed") == [None]
    # The passwords appear nowhere: not in the audit log, not in any log record.
    details = " ".join(str(e.detail) for e in await audit.events(seeded.db))
    for password in (USER_PASSWORD, NEW_PASSWORD):
        assert password not in details
        assert password not in caplog.text


async def test_a_wrong_current_password_is_refused_and_counts_in_the_shared_throttle(
    seeded: Services, user: User, clock: ManualClock
) -> None:
    security = seeded.config.security
    free = security.lockout_free_failures
    for tried in range(1, free):
        assert await _refusal(seeded, user, "not my password", NEW_PASSWORD) == (
            CURRENT_PASSWORD_WRONG
        )
        assert (await _reload(seeded, user)).failed_attempts == tried
    # The failure that reaches the free ones starts the wait, and says how long.
    assert await _refusal(seeded, user, "not my password", NEW_PASSWORD) == (
        f"{CURRENT_PASSWORD_WRONG} Too many failed attempts: try again in 30 seconds."
    )
    assert (await _reload(seeded, user)).failed_attempts == free

    # While it waits, even the right password changes nothing, and isn't counted.
    clock.advance(10)
    assert await _refusal(seeded, user, USER_PASSWORD, NEW_PASSWORD) == (
        "Too many failed attempts: try again in 20 seconds."
    )
    assert (await _reload(seeded, user)).failed_attempts == free
    # The same count holds back signing in.
    assert (await sign_in(seeded, USER_EMAIL, USER_PASSWORD)).outcome is SignInOutcome.REJECTED

    clock.advance(20)
    await change_password(seeded, user.id, USER_PASSWORD, NEW_PASSWORD)
    assert (await sign_in(seeded, USER_EMAIL, NEW_PASSWORD)).outcome is SignInOutcome.SIGNED_IN
    assert await _events(seeded, user, "user.password_change_failed") == [
        *["wrong current password"] * free,
        "account locked",
    ]


async def test_the_hard_limit_says_an_administrator_has_to_unlock(
    seeded: Services, user: User
) -> None:
    async with seeded.db.write() as conn:
        await conn.execute(
            "UPDATE users SET failed_attempts = ? WHERE id = ?",
            (seeded.config.security.lockout_hard_limit, user.id),
        )
    assert await _refusal(seeded, user, USER_PASSWORD, NEW_PASSWORD) == (
        "This account is locked after too many failed attempts. Ask an administrator to unlock it."
    )


@pytest.mark.parametrize(
    ("new", "rule"),
    [
        ("short", "Use at least 8 characters (this one has 5)."),
        ("password1", "That password is one of the most common passwords. Choose another."),
        ("jordan.lee's kiosk", "Don't build the password from 'jordan.lee': it is easy to guess."),
    ],
)
async def test_a_new_password_that_breaks_a_rule_is_refused_with_the_rule(
    seeded: Services, user: User, new: str, rule: str
) -> None:
    assert await _refusal(seeded, user, USER_PASSWORD, new) == rule
    fresh = await _reload(seeded, user)
    assert fresh.password_hash == user.password_hash
    assert fresh.failed_attempts == 0  # the rules cost no try
    assert (await sign_in(seeded, USER_EMAIL, USER_PASSWORD)).accepted


async def test_the_same_password_again_is_refused(seeded: Services, user: User) -> None:
    assert await _refusal(seeded, user, USER_PASSWORD, USER_PASSWORD) == SAME_PASSWORD
    # The same after NFKC normalisation counts as the same (fullwidth s, U+FF53, is "s").
    assert await _refusal(seeded, user, USER_PASSWORD, "\uff53unny kiosk morning") == SAME_PASSWORD
    fresh = await _reload(seeded, user)
    assert fresh.password_hash == user.password_hash
    assert fresh.failed_attempts == 0
    assert await _events(seeded, user, "user.password_changed") == []


async def test_an_account_that_no_longer_exists_is_named(seeded: Services) -> None:
    with pytest.raises(AccountError) as refused:
        await change_password(seeded, 999_999, USER_PASSWORD, NEW_PASSWORD)
    assert str(refused.value) == "That account no longer exists."

"""Password hashes (argon2id, never truncated) and the rules a new password must meet."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import Type, extract_parameters

from mfa import demo
from mfa.accounts import UNUSABLE_PASSWORD, add_user
from mfa.clock import ManualClock
from mfa.config import Config, SecurityConfig
from mfa.passwords import PasswordRejected, Passwords, check_password
from mfa.services import Services, open_services
from mfa.signin import SignInOutcome, sign_in
from store import accounts as account_store
from store.models import Subscription
from tests.conftest import FAST_SECURITY
from tests.tui.helpers import seed_demo, temp_config

DEFAULTS = SecurityConfig()


async def _subscription(services: Services) -> Subscription:
    subscription = await account_store.subscription_by_name(services.db, demo.SUBSCRIPTION)
    assert subscription is not None
    return subscription


async def test_a_stored_hash_carries_at_least_the_configured_default_parameters(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await open_services(temp_config(tmp_path, DEFAULTS), clock=clock)
    try:
        await seed_demo(services)
        user, _ = await add_user(
            services, await _subscription(services), "pat@acme-logistics.com", "Pat", "user",
            "velvet marmot on a bicycle",
        )  # fmt: skip
        stored = (await account_store.user_by_id(services.db, user.id)).password_hash  # type: ignore[union-attr]
    finally:
        await services.close()
    parameters = extract_parameters(stored)
    assert parameters.type is Type.ID
    assert parameters.memory_cost >= DEFAULTS.argon2_memory_kib >= 19_456
    assert parameters.time_cost >= DEFAULTS.argon2_time_cost >= 2
    assert parameters.parallelism >= DEFAULTS.argon2_parallelism >= 1
    assert parameters.salt_len >= 16


@pytest.fixture
async def seeded(services: Services) -> Services:
    await seed_demo(services)
    return services


async def test_the_same_password_for_two_users_gives_different_hashes(seeded: Services) -> None:
    subscription = await _subscription(seeded)
    password = "velvet marmot on a bicycle"
    first, _ = await add_user(seeded, subscription, "a@acme-logistics.com", "A", "user", password)
    second, _ = await add_user(seeded, subscription, "b@acme-logistics.com", "B", "user", password)
    assert first.password_hash != second.password_hash
    for user in (first, second):
        result = await sign_in(seeded, user.email, password)
        assert result.outcome is SignInOutcome.SIGNED_IN


async def test_an_80_character_password_does_not_sign_in_with_its_first_72(
    seeded: Services,
) -> None:
    password = "correct-horse-battery-staple-" * 2 + "purple-lanterns-dance!"  # 80 characters
    assert len(password) == 80
    user, _ = await add_user(
        seeded, await _subscription(seeded), "long@acme-logistics.com", "Long", "user", password
    )
    for attempt in (password[:72], password[:79], password[:72] + "x" * 8):
        assert (await sign_in(seeded, user.email, attempt)).outcome is SignInOutcome.REJECTED
    assert (await sign_in(seeded, user.email, password)).outcome is SignInOutcome.SIGNED_IN


async def test_passwords_are_compared_after_nfkc_normalisation(seeded: Services) -> None:
    typed_wide = (
        "ｖｅｌｖｅｔ ｍａｒｍｏｔ ２０２４"  # full-width forms, as some keyboards type them
    )
    user, _ = await add_user(
        seeded, await _subscription(seeded), "wide@acme-logistics.com", "W", "user", typed_wide
    )
    result = await sign_in(seeded, user.email, "velvet marmot 2024")
    assert result.outcome is SignInOutcome.SIGNED_IN


def test_no_password_matches_a_missing_or_unusable_hash() -> None:
    passwords = Passwords(FAST_SECURITY)
    for stored in (None, UNUSABLE_PASSWORD, "", "$argon2id$garbage"):
        assert passwords.verify(stored, "anything at all") is False
        assert passwords.verify(stored, UNUSABLE_PASSWORD) is False


def test_the_timing_hash_is_well_formed_with_the_configured_parameters() -> None:
    # An unknown account is checked against it, so it must cost a real verification.
    passwords = Passwords(DEFAULTS)
    parameters = extract_parameters(passwords._dummy_hash)
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (
        DEFAULTS.argon2_memory_kib, DEFAULTS.argon2_time_cost, DEFAULTS.argon2_parallelism,
    )  # fmt: skip
    assert not passwords.needs_rehash(passwords._dummy_hash)


def test_hashes_made_with_weaker_parameters_need_a_rehash() -> None:
    weak = Passwords(FAST_SECURITY).hash("velvet marmot on a bicycle")
    assert Passwords(DEFAULTS).needs_rehash(weak)
    assert not Passwords(FAST_SECURITY).needs_rehash(weak)
    assert Passwords(DEFAULTS).needs_rehash(UNUSABLE_PASSWORD)


# ------------------------------------------------------------------------------ password rules


@pytest.mark.parametrize(
    ("password", "email", "says"),
    [
        ("short1!", "", "Use at least 8 characters (this one has 7)."),
        ("x" * 129, "", "Use at most 128 characters."),
        ("password1", "", "one of the most common passwords"),
        ("Sunshine", "", "one of the most common passwords"),
        ("jordan.lee is here", "jordan.lee@acme-logistics.com", "'jordan.lee'"),
        ("my pitneyship login", "", "'pitney'"),
        ("MFA-TUI rocks hard", "", "'mfa-tui'"),
    ],
)
def test_a_rejected_password_says_why(password: str, email: str, says: str) -> None:
    with pytest.raises(PasswordRejected) as caught:
        check_password(password, DEFAULTS, email=email)
    assert says in str(caught.value)


def test_a_long_passphrase_without_composition_rules_is_accepted_as_typed() -> None:
    passphrase = "all lower case words and no digits at all"
    assert check_password(passphrase, DEFAULTS, email="jordan.lee@acme-logistics.com") == passphrase
    assert check_password("ﬁne ﬂowers bloom", DEFAULTS) == "fine flowers bloom"  # NFKC
    # 64 characters are always allowed (the configured maximum may not go below that).
    assert len(check_password("z" * 30 + " " + "q" * 33, DEFAULTS)) == 64


def test_a_minimum_length_can_be_raised_in_the_configuration() -> None:
    stricter = Config(security=SecurityConfig(min_password_length=15)).security
    with pytest.raises(PasswordRejected, match="at least 15"):
        check_password("fourteen chars", stricter)

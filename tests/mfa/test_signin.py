"""The sign-in state machine: outcomes, one message for every refusal, throttling, audit, rehash."""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from argon2 import extract_parameters

from mfa import demo
from mfa.accounts import add_user
from mfa.clock import ManualClock
from mfa.config import Config
from mfa.services import Services, open_services
from mfa.signin import INCORRECT, SignInOutcome, sign_in
from store import accounts as account_store
from store import audit
from tests.conftest import FAST_SECURITY
from tests.tui.helpers import DEMO_ADMIN, DEMO_USER, add_account, seed_demo

ADMIN_EMAIL, ADMIN_PASSWORD = DEMO_ADMIN
USER_EMAIL, USER_PASSWORD = DEMO_USER


@pytest.fixture
async def seeded(services: Services) -> Services:
    await seed_demo(services)
    return services


async def _failed_attempts(services: Services, email: str) -> int:
    user = await account_store.user_by_email(services.db, email)
    assert user is not None
    return user.failed_attempts


async def _events(services: Services, event: str) -> list[str | None]:
    """The details of ``event`` audit records, oldest first."""
    return [e.detail for e in reversed(await audit.events(services.db)) if e.event == event]


async def test_a_right_password_without_mfa_signs_in(seeded: Services) -> None:
    result = await sign_in(seeded, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert result.outcome is SignInOutcome.SIGNED_IN
    assert result.user is not None and result.user.email == ADMIN_EMAIL
    assert result.message == ""
    assert len(await _events(seeded, "signin.succeeded")) == 1


async def test_the_address_is_matched_regardless_of_case_and_surrounding_spaces(
    seeded: Services,
) -> None:
    result = await sign_in(seeded, "  Admin@ACME-Logistics.com ", ADMIN_PASSWORD)
    assert result.outcome is SignInOutcome.SIGNED_IN


async def _disable(services: Services, email: str) -> None:
    async with services.db.write() as conn:
        await conn.execute("UPDATE users SET status = 'disabled' WHERE email = ?", (email,))


async def _lock(services: Services, email: str) -> None:
    for _ in range(services.config.security.lockout_free_failures):
        await sign_in(services, email, "not the password")


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unknown address", "unknown address"),
        ("wrong password", "wrong password"),
        ("disabled account", "account disabled"),
        ("locked account", "account locked (30 s to wait)"),
        ("no password set", "no password set"),
    ],
)
async def test_every_refusal_says_the_same_and_only_the_audit_log_knows_why(
    seeded: Services, case: str, reason: str
) -> None:
    email, password = USER_EMAIL, USER_PASSWORD
    if case == "unknown address":
        email = "nobody@acme-logistics.com"
    elif case == "wrong password":
        password = "sunny kiosk evening"
    elif case == "disabled account":
        await _disable(seeded, email)
    elif case == "locked account":
        await _lock(seeded, email)  # the right password comes next, while the account waits
    elif case == "no password set":
        subscription = await account_store.subscription_by_name(seeded.db, demo.SUBSCRIPTION)
        assert subscription is not None
        await add_user(
            seeded, subscription, "new.hire@acme-logistics.com", "New Hire", "user", None
        )
        email, password = "new.hire@acme-logistics.com", "!no-password-set"

    result = await sign_in(seeded, email, password)

    assert result.outcome is SignInOutcome.REJECTED
    assert result.message == INCORRECT == "Incorrect email or password."
    assert result.user is None
    assert (await _events(seeded, "signin.failed"))[-1] == reason
    assert await _events(seeded, "signin.succeeded") == []


async def test_five_failures_make_the_account_wait_30_seconds_then_it_signs_in(
    seeded: Services, clock: ManualClock
) -> None:
    for _ in range(4):
        await sign_in(seeded, USER_EMAIL, "wrong guess")
    assert (await sign_in(seeded, USER_EMAIL, USER_PASSWORD)).outcome is SignInOutcome.SIGNED_IN
    assert await _failed_attempts(seeded, USER_EMAIL) == 0  # a success starts the count over

    for _ in range(5):
        await sign_in(seeded, USER_EMAIL, "wrong guess")
    assert (await _events(seeded, "signin.failed"))[-1] == "wrong password; locked (30 s to wait)"
    clock.advance(29)
    assert (await sign_in(seeded, USER_EMAIL, USER_PASSWORD)).outcome is SignInOutcome.REJECTED
    # Attempts while the account waits are refused unjudged and don't count.
    assert await _failed_attempts(seeded, USER_EMAIL) == 5
    clock.advance(1)
    assert (await sign_in(seeded, USER_EMAIL, USER_PASSWORD)).outcome is SignInOutcome.SIGNED_IN
    assert await _failed_attempts(seeded, USER_EMAIL) == 0


async def test_the_wait_doubles_with_each_further_failure(
    seeded: Services, clock: ManualClock
) -> None:
    await _lock(seeded, USER_EMAIL)
    clock.advance(30)
    await sign_in(seeded, USER_EMAIL, "wrong again")
    clock.advance(59)
    assert (await sign_in(seeded, USER_EMAIL, USER_PASSWORD)).outcome is SignInOutcome.REJECTED
    clock.advance(1)
    assert (await sign_in(seeded, USER_EMAIL, USER_PASSWORD)).outcome is SignInOutcome.SIGNED_IN


async def test_other_accounts_are_not_affected_by_one_accounts_lockout(seeded: Services) -> None:
    await _lock(seeded, USER_EMAIL)
    assert (await sign_in(seeded, ADMIN_EMAIL, ADMIN_PASSWORD)).outcome is SignInOutcome.SIGNED_IN


async def _require_mfa(services: Services, email: str) -> int:
    async with services.db.write() as conn:
        await conn.execute("UPDATE subscriptions SET mfa_enabled = 1")
        await conn.execute("UPDATE users SET mfa_required = 1 WHERE email = ?", (email,))
    user = await account_store.user_by_email(services.db, email)
    assert user is not None
    return user.id


async def _add_method(services: Services, user_id: int, *, verified: bool) -> None:
    async with services.db.write() as conn:
        await conn.execute(
            "INSERT INTO mfa_methods (user_id, kind, destination, secret, verified_at, created_at)"
            " VALUES (?, 'email', 'x@example.com', x'00', ?, 0)",
            (user_id, 1.0 if verified else None),
        )


async def test_mfa_required_without_a_verified_method_needs_setup(seeded: Services) -> None:
    user_id = await _require_mfa(seeded, USER_EMAIL)
    await _add_method(seeded, user_id, verified=False)  # started but never confirmed
    for _ in range(3):
        await sign_in(seeded, USER_EMAIL, "wrong")
    result = await sign_in(seeded, USER_EMAIL, USER_PASSWORD)
    assert result.outcome is SignInOutcome.NEEDS_SETUP
    assert result.user is not None and result.user.id == user_id
    assert await _events(seeded, "signin.password_accepted") == ["needs MFA setup"]
    # The password alone does not clear the failure count: the code still has to be right.
    assert await _failed_attempts(seeded, USER_EMAIL) == 3


async def test_mfa_required_with_a_verified_method_needs_verification(seeded: Services) -> None:
    user_id = await _require_mfa(seeded, USER_EMAIL)
    await _add_method(seeded, user_id, verified=True)
    result = await sign_in(seeded, USER_EMAIL, USER_PASSWORD)
    assert result.outcome is SignInOutcome.NEEDS_VERIFICATION


async def test_a_verified_method_the_subscription_no_longer_allows_needs_setup(
    seeded: Services,
) -> None:
    user_id = await _require_mfa(seeded, USER_EMAIL)
    await _add_method(seeded, user_id, verified=True)  # an email method
    async with seeded.db.write() as conn:
        await conn.execute("UPDATE subscriptions SET allowed_methods = 'sms'")
    result = await sign_in(seeded, USER_EMAIL, USER_PASSWORD)
    assert result.outcome is SignInOutcome.NEEDS_SETUP


async def test_mfa_on_for_the_subscription_but_not_required_of_the_user_signs_in(
    seeded: Services,
) -> None:
    await _require_mfa(seeded, USER_EMAIL)
    assert (await sign_in(seeded, ADMIN_EMAIL, ADMIN_PASSWORD)).outcome is SignInOutcome.SIGNED_IN


async def test_a_required_user_of_a_subscription_with_mfa_off_signs_in(seeded: Services) -> None:
    await _require_mfa(seeded, USER_EMAIL)
    async with seeded.db.write() as conn:
        await conn.execute("UPDATE subscriptions SET mfa_enabled = 0")
    assert (await sign_in(seeded, USER_EMAIL, USER_PASSWORD)).outcome is SignInOutcome.SIGNED_IN


async def test_a_weaker_stored_hash_is_upgraded_on_a_successful_sign_in(
    seeded: Services, config: Config, clock: ManualClock
) -> None:
    old_hash = (await account_store.user_by_email(seeded.db, USER_EMAIL)).password_hash  # type: ignore[union-attr]
    stronger = config.replace("security", argon2_memory_kib=2048, argon2_time_cost=2)
    upgraded = await open_services(stronger, clock=clock)
    try:
        # A wrong password changes nothing.
        await sign_in(upgraded, USER_EMAIL, "wrong")
        assert (
            await account_store.user_by_email(upgraded.db, USER_EMAIL)
        ).password_hash == old_hash  # type: ignore[union-attr]
        result = await sign_in(upgraded, USER_EMAIL, USER_PASSWORD)
        assert result.outcome is SignInOutcome.SIGNED_IN
        stored = await account_store.user_by_email(upgraded.db, USER_EMAIL)
        assert stored is not None and stored.password_hash != old_hash
        parameters = extract_parameters(stored.password_hash)
        assert (parameters.memory_cost, parameters.time_cost) == (2048, 2)
        assert await _events(upgraded, "user.password_rehashed") == [None]
        # The new hash works, and with the same parameters nothing is rehashed again.
        assert (
            await sign_in(upgraded, USER_EMAIL, USER_PASSWORD)
        ).outcome is SignInOutcome.SIGNED_IN
        assert len(await _events(upgraded, "user.password_rehashed")) == 1
    finally:
        await upgraded.close()


async def test_a_display_name_is_irrelevant_to_signing_in(seeded: Services) -> None:
    await add_account(seeded, "odd@acme-logistics.com", "[bold red]x[/]", "plain old secret 12")
    result = await sign_in(seeded, "odd@acme-logistics.com", "plain old secret 12")
    assert result.user is not None and result.user.display_name == "[bold red]x[/]"


# ------------------------------------------------------------------- two processes, one account

ATTEMPTS_PER_PROCESS = 4


def _failing_signer(db_path: str, now: float) -> None:
    async def work() -> None:
        config = Config(security=FAST_SECURITY).with_database(db_path)
        services = await open_services(config, clock=ManualClock(now))
        try:
            for _ in range(ATTEMPTS_PER_PROCESS):
                result = await sign_in(services, USER_EMAIL, "a wrong guess")
                assert result.outcome is SignInOutcome.REJECTED
        finally:
            await services.close()

    asyncio.run(work())


async def test_two_processes_failing_on_one_account_together_reach_the_lockout(
    seeded: Services, db_path: Path, clock: ManualClock
) -> None:
    # Neither process alone reaches the 5 free failures; together they make 8 attempts.
    assert seeded.config.security.lockout_free_failures > ATTEMPTS_PER_PROCESS
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_failing_signer, args=(str(db_path), clock.now())) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        await asyncio.to_thread(worker.join, 120)
    assert [w.exitcode for w in workers] == [0, 0]

    # Exactly five failures counted, whatever the interleaving; the later attempts were refused
    # unjudged because the account was waiting.
    assert await _failed_attempts(seeded, USER_EMAIL) == 5
    details = await _events(seeded, "signin.failed")
    assert len(details) == 2 * ATTEMPTS_PER_PROCESS
    assert sum(d.startswith("wrong password") for d in details if d) == 5
    assert sum(d.startswith("account locked") for d in details if d) == 3
    assert (await sign_in(seeded, USER_EMAIL, USER_PASSWORD)).outcome is SignInOutcome.REJECTED
    clock.advance(30)
    assert (await sign_in(seeded, USER_EMAIL, USER_PASSWORD)).outcome is SignInOutcome.SIGNED_IN
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

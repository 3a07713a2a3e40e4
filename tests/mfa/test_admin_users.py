"""Admin user management against a real SQLite file: unlock, reset MFA, disable/enable, role, and
the paged, indexed list with its search."""

from __future__ import annotations

import pytest

from mfa import accounts, admin_users, recovery
from mfa.accounts import Account, AccountError
from mfa.clock import ManualClock
from mfa.services import Services
from mfa.signin import INCORRECT, SignInOutcome, sign_in
from store import accounts as account_store
from store import audit
from store.models import User
from tests.mfa.factor_helpers import make_user, reload, set_up_sms

PASSWORD = "a sturdy kiosk passphrase"


async def admin_and_user(services: Services) -> tuple[User, User]:
    user = await make_user(services, "jordan.lee@example.com")
    subscription = await account_store.subscription_by_id(services.db, user.subscription_id)
    assert subscription is not None
    admin, _ = await accounts.add_user(
        services, subscription, "boss@example.com", "Boss", "admin", PASSWORD
    )
    await accounts.set_password(services, user.id, PASSWORD)
    async with services.db.write() as conn:
        await conn.execute("UPDATE subscriptions SET mfa_enabled = 1")
    return admin, await reload(services, user)


async def lock(services: Services, user: User) -> None:
    async with services.db.write() as conn:
        await conn.execute("UPDATE users SET failed_attempts = 100 WHERE id = ?", (user.id,))


async def last_event(services: Services, user: User) -> tuple[str, int | None, str | None]:
    event = (await audit.events(services.db, user.id, limit=1))[0]
    return event.event, event.actor_id, event.detail


async def test_a_locked_account_is_unlocked_and_signs_in(services: Services) -> None:
    admin, user = await admin_and_user(services)
    await lock(services, user)
    assert (await admin_users.find_user(services, user.email)).lock_state == "locked"
    refused = await sign_in(services, user.email, PASSWORD)
    assert refused.outcome is SignInOutcome.REJECTED and refused.message == INCORRECT

    unlocked = await admin_users.unlock(services, user.id, actor_id=admin.id)
    assert unlocked.lock_state == "" and unlocked.failed_attempts == 0
    assert await last_event(services, user) == (
        "admin.user_unlocked",
        admin.id,
        "100 failures cleared",
    )
    assert (await sign_in(services, user.email, PASSWORD)).accepted


async def test_a_new_password_from_an_admin_also_unlocks(services: Services) -> None:
    _admin, user = await admin_and_user(services)
    await lock(services, user)
    await accounts.set_password(services, user.id, "another sturdy passphrase")
    assert (await reload(services, user)).failed_attempts == 0
    assert (await sign_in(services, user.email, "another sturdy passphrase")).accepted


async def test_a_waiting_account_shows_as_waiting_until_the_wait_ends(
    services: Services, clock: ManualClock
) -> None:
    _admin, user = await admin_and_user(services)
    async with services.db.write() as conn:
        await conn.execute(
            "UPDATE users SET failed_attempts = 6, locked_until = ? WHERE id = ?",
            (clock.now() + 60, user.id),
        )
    assert (await admin_users.find_user(services, user.email)).lock_state == "waiting"
    clock.advance(61)
    assert (await admin_users.find_user(services, user.email)).lock_state == ""


async def test_reset_mfa_removes_methods_codes_and_live_code_and_the_user_sets_up_again(
    config, clock: ManualClock
) -> None:
    from tests.mfa.factor_helpers import services_for

    async with services_for(config, clock, demo=True) as services:
        admin, user = await admin_and_user(services)
        await set_up_sms(services, user)
        assert await recovery.issue_first_set(services, Account.of(user))
        assert (await sign_in(services, user.email, PASSWORD)).outcome is (
            SignInOutcome.NEEDS_VERIFICATION
        )
        before = await admin_users.find_user(services, user.email)
        assert before.methods == ("SMS",) and before.recovery_codes_left == 10

        after = await admin_users.reset_mfa(services, user.id, actor_id=admin.id)
        assert after.methods == () and after.recovery_codes_left == 0
        assert after.mfa_state == "required: not set up yet"
        # The reset, then the security notice to the user (no mail server here: audited).
        [notice, reset] = await audit.events(services.db, user.id, limit=2)
        assert (reset.event, reset.actor_id, reset.detail) == (
            "admin.mfa_reset",
            admin.id,
            "removed methods: 1, recovery codes: 10, codes sent: 1",
        )
        assert (notice.event, notice.actor_id) == ("notice.failed", admin.id)
        assert notice.detail is not None and notice.detail.startswith("mfa reset: email")
        assert (
            await services.db.fetchone("SELECT 1 FROM otp_challenges WHERE user_id = ?", (user.id,))
            is None
        )
        assert (await sign_in(services, user.email, PASSWORD)).outcome is (
            SignInOutcome.NEEDS_SETUP
        )
        # From scratch: a new method brings a new first set of recovery codes.
        clock.advance(60)  # the resend cooldown survives a reset (the send limit still holds)
        await set_up_sms(services, await reload(services, user))
        assert await recovery.issue_first_set(services, Account.of(user))


async def test_a_disabled_user_gets_the_same_refusal_and_an_enabled_one_signs_in(
    services: Services,
) -> None:
    admin, user = await admin_and_user(services)
    disabled = await admin_users.set_disabled(services, user.id, True, actor_id=admin.id)
    assert disabled.disabled
    assert await last_event(services, user) == ("admin.user_disabled", admin.id, None)
    refused = await sign_in(services, user.email, PASSWORD)
    assert refused.outcome is SignInOutcome.REJECTED and refused.message == INCORRECT
    assert (await audit.events(services.db, user.id, limit=1))[0].detail == "account disabled"

    await admin_users.set_disabled(services, user.id, False, actor_id=admin.id)
    assert (await sign_in(services, user.email, PASSWORD)).accepted


async def test_an_admin_cant_disable_themselves_or_the_last_admin(services: Services) -> None:
    admin, user = await admin_and_user(services)
    with pytest.raises(AccountError, match="your own account"):
        await admin_users.set_disabled(services, admin.id, True, actor_id=admin.id)
    with pytest.raises(AccountError, match="last active administrator"):
        await admin_users.set_disabled(services, admin.id, True)  # the host's admin command
    with pytest.raises(AccountError, match="last active administrator"):
        await admin_users.set_role(services, admin.id, "user", actor_id=admin.id)
    assert (await reload(services, admin)).is_admin and (await reload(services, admin)).is_active

    # With a second admin, the first may become a user.
    await admin_users.set_role(services, user.id, "admin", actor_id=admin.id)
    assert await last_event(services, user) == ("admin.role_changed", admin.id, "admin")
    await admin_users.set_role(services, admin.id, "user", actor_id=user.id)
    assert not (await reload(services, admin)).is_admin


async def test_only_an_admin_of_the_subscription_can_act(services: Services) -> None:
    _admin, user = await admin_and_user(services)
    other = await make_user(services, "kim@example.com")
    with pytest.raises(AccountError, match="Only an administrator"):
        await admin_users.unlock(services, user.id, actor_id=other.id)


async def test_the_list_pages_by_address_and_searches_address_and_name_prefixes(
    services: Services,
) -> None:
    _admin, user = await admin_and_user(services)
    subscription_id = user.subscription_id
    names = [(f"user{i:03d}@example.com", f"Name {i:03d}") for i in range(450)]
    async with services.db.write() as conn:
        await conn.executemany(
            "INSERT INTO users (subscription_id, email, display_name, password_hash, created_at)"
            " VALUES (?, ?, ?, 'x', 0)",
            [(subscription_id, email, name) for email, name in names],
        )
    first = await admin_users.users_page(services, subscription_id)
    assert len(first) == admin_users.PAGE_SIZE
    assert [u.email for u in first[:2]] == ["boss@example.com", "jordan.lee@example.com"]
    seen = [u.email for u in first]
    while True:
        page = await admin_users.users_page(services, subscription_id, after=seen[-1])
        if not page:
            break
        seen += [u.email for u in page]
    assert seen == sorted(seen, key=str.lower) and len(seen) == 452 == len(set(seen))

    assert [
        u.email for u in await admin_users.users_page(services, subscription_id, search="JOR")
    ] == ["jordan.lee@example.com"]
    by_name = await admin_users.users_page(services, subscription_id, search="name 01")
    assert [u.display_name for u in by_name] == [f"Name {i:03d}" for i in range(10, 20)]
    assert await admin_users.users_page(services, subscription_id, search="lee") == []  # a prefix
    assert await admin_users.count_users(services, subscription_id) == 452


async def test_the_search_goes_through_an_index(services: Services) -> None:
    plan = await services.db.fetchall(
        "EXPLAIN QUERY PLAN SELECT id FROM users WHERE subscription_id = 1"
        " AND display_name >= 'a' COLLATE NOCASE AND display_name < 'b' COLLATE NOCASE"
    )
    assert any("users_by_subscription_name" in row[3] for row in plan), [row[3] for row in plan]

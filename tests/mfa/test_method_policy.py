"""The admin's policy of allowed methods: parsing, saving (at least one), and what it does to
sign-in: a user whose only method is no longer allowed sets up an allowed one."""

from __future__ import annotations

from pathlib import Path

import pytest

from mfa import accounts, factors, method_policy, signin
from mfa.clock import ManualClock
from mfa.method_policy import MethodPolicyError
from store import accounts as account_store
from tests.mfa.factor_helpers import set_up_sms
from tests.tui.helpers import DEMO_USER, seeded_services


def test_parse_methods() -> None:
    assert method_policy.parse_methods("totp, EMAIL") == ("email", "totp")
    assert method_policy.parse_methods("app,sms") == ("sms", "totp")
    with pytest.raises(MethodPolicyError, match="Unknown method 'fax'"):
        method_policy.parse_methods("email,fax")
    with pytest.raises(MethodPolicyError, match="at least one"):
        method_policy.parse_methods(" , ")


async def test_new_subscriptions_allow_every_method(tmp_path: Path, clock: ManualClock) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        subscription_id = await accounts.create_subscription(services, "New Co", [])
        assert await method_policy.allowed_methods(services, subscription_id) == (
            "email",
            "sms",
            "totp",
        )
        demo_subscription = (await account_store.subscriptions(services.db))[0]
        assert demo_subscription.allowed == ("email", "sms", "totp")
    finally:
        await services.close()


async def test_saving_keeps_at_least_one_and_is_audited(tmp_path: Path, clock: ManualClock) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        [subscription] = await account_store.subscriptions(services.db)
        with pytest.raises(MethodPolicyError, match="at least one"):
            await method_policy.set_allowed_methods(services, subscription.id, [])
        saved = await method_policy.set_allowed_methods(
            services, subscription.id, ["totp", "email"], actor_id=1
        )
        assert saved == ("email", "totp")
        assert await method_policy.allowed_methods(services, subscription.id) == saved
        rows = await services.db.fetchall(
            "SELECT detail FROM audit_events WHERE event = 'mfa.methods_allowed'"
        )
        assert [row["detail"] for row in rows] == ["email,totp"]
    finally:
        await services.close()


async def test_a_user_whose_only_method_is_no_longer_allowed_sets_up_another(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await seeded_services(tmp_path, clock, mfa_enabled=True)
    services.demo = True  # the outbox keeps the text with its code
    try:
        user = await account_store.user_by_email(services.db, DEMO_USER[0])
        assert user is not None
        await set_up_sms(services, user)
        assert not await factors.needs_setup(services, user)
        [subscription] = await account_store.subscriptions(services.db)
        await method_policy.set_allowed_methods(services, subscription.id, ["email", "totp"])
        assert await factors.needs_setup(services, user)
        assert await factors.allowed_kinds(services, user) == ("email", "totp")
        result = await signin.sign_in(services, *DEMO_USER)
        assert result.outcome is signin.SignInOutcome.NEEDS_SETUP
    finally:
        await services.close()


def test_the_strength_note_only_where_the_app_is_on_offer() -> None:
    assert factors.shows_strength_note(("email", "sms", "totp"))
    assert factors.shows_strength_note(("sms", "totp"))
    assert not factors.shows_strength_note(("email", "sms"))
    assert not factors.shows_strength_note(("totp",))

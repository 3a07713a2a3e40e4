"""The demo's data: 25 named users by default; ``--users N`` seeds N in all, fast (one
transaction, one shared password hash); the authenticator codes the Demo inbox shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from mfa import demo, signin, totp
from mfa.clock import ManualClock
from mfa.services import open_services
from store import accounts as account_store
from tests.mfa.totp_helpers import key_of, reference_code
from tests.tui.helpers import DEMO_USER, seeded_services, temp_config
from tui import cli


async def test_the_default_demo_stays_small(tmp_path: Path, clock: ManualClock) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        [subscription] = await account_store.subscriptions(services.db)
        assert await account_store.count_users(services.db, subscription.id) == len(demo.DEMO_USERS)
    finally:
        await services.close()


async def test_users_seeds_that_many_in_all_and_tops_up(tmp_path: Path, clock: ManualClock) -> None:
    services = await open_services(temp_config(tmp_path), clock=clock)
    try:
        await demo.seed(services, 2_000)
        [subscription] = await account_store.subscriptions(services.db)
        assert await account_store.count_users(services.db, subscription.id) == 2_000
        rows = await services.db.fetchall(
            "SELECT email, password_hash, email_deliverable FROM users WHERE email LIKE 'demo.user%'"
        )
        assert len(rows) == 2_000 - len(demo.DEMO_USERS)
        assert len({row["password_hash"] for row in rows}) == 1  # hashed once, shared
        assert all(row["email_deliverable"] == 1 for row in rows)
        assert rows[0]["email"] == demo.generated_email(len(demo.DEMO_USERS) + 1)
        # A generated user signs in with the demo password.
        result = await signin.sign_in(services, demo.generated_email(2_000), demo.USER_PASSWORD)
        assert result.outcome is signin.SignInOutcome.SIGNED_IN

        # Seeding again with more adds the missing ones; with fewer, nothing.
        await demo.seed(services, 2_500)
        assert await account_store.count_users(services.db, subscription.id) == 2_500
        assert await demo.add_generated_users(services, 100) == 0
    finally:
        await services.close()


def test_users_goes_with_demo(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--users", "100"])
    assert "--users goes with --demo" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--demo", "--users", "0"])
    assert "must be from 1" in capsys.readouterr().err


async def test_demo_app_codes_only_in_demo_mode(tmp_path: Path, clock: ManualClock) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        user = await account_store.user_by_email(services.db, DEMO_USER[0])
        assert user is not None
        setup = await totp.start_totp_setup(services, user.id)
        assert setup.key_groups is not None
        key = key_of(setup.key_groups.replace(" ", ""))
        assert (
            await totp.confirm_totp_setup(services, user.id, reference_code(key, clock.now()))
        ).ok
        assert await totp.demo_app_codes(services) == []
        services.demo = True
        clock.advance(40)
        [shown] = await totp.demo_app_codes(services)
        assert shown.email == DEMO_USER[0]
        assert shown.code == reference_code(key, clock.now())
        assert 1 <= shown.seconds_left <= 30
    finally:
        await services.close()

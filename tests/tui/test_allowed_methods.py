"""The admin's allowed methods in the screens: the General Preferences checkboxes, and Setup and
Verify offering only what is allowed (with the strength note only where the app is on offer)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Checkbox, Select

from mfa import method_policy, totp
from mfa.clock import ManualClock
from mfa.services import Services
from store import accounts as account_store
from tests.mfa.factor_helpers import set_up_sms
from tests.mfa.totp_helpers import key_of, reference_code
from tests.tui.helpers import (
    DEMO_ADMIN,
    DEMO_USER,
    running_app,
    seeded_services,
    settle,
    shown,
    sign_in,
)
from tui.screens.home import HomeScreen
from tui.screens.preferences import GeneralPreferencesScreen
from tui.screens.setup import SetupScreen
from tui.screens.verify import VerifyScreen
from tui.widgets.method_cards import MethodCards


async def allow(services: Services, *kinds: str) -> None:
    [subscription] = await account_store.subscriptions(services.db)
    await method_policy.set_allowed_methods(services, subscription.id, kinds)


async def allowed(services: Services) -> tuple[str, ...]:
    [subscription] = await account_store.subscriptions(services.db)
    return await method_policy.allowed_methods(services, subscription.id)


async def test_preferences_checkboxes_save_the_methods_and_keep_one(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_ADMIN)
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("p")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GeneralPreferencesScreen)
        boxes = {kind: screen.query_one(f"#allow-{kind}", Checkbox) for kind in totp_kinds()}
        assert all(box.value for box in boxes.values())

        boxes["sms"].focus()
        await pilot.press("space")
        await settle(pilot)
        assert await allowed(app.services) == ("email", "totp")
        message = shown(screen.query_one("#preferences-message"))
        assert message == "Users may use: Email, Authenticator app."

        boxes["email"].focus()
        await pilot.press("space")
        await settle(pilot)
        boxes["totp"].focus()
        await pilot.press("space")  # the last one: refused
        await settle(pilot)
        assert boxes["totp"].value
        assert await allowed(app.services) == ("totp",)
        assert shown(screen.query_one("#preferences-message")) == method_policy.NONE_ALLOWED


def totp_kinds() -> tuple[str, ...]:
    return ("email", "sms", totp.KIND)


async def test_setup_offers_only_the_allowed_methods(tmp_path: Path, clock: ManualClock) -> None:
    services = await seeded_services(tmp_path, clock, mfa_enabled=True)
    try:
        for kinds, note in (
            (("email", "totp"), True),
            (("email", "sms"), False),  # no stronger method on offer: no note
            (("totp",), False),
        ):
            await allow(services, *kinds)
            async with running_app(tmp_path, clock, services=services) as (app, pilot):
                await sign_in(pilot, *DEMO_USER)
                assert isinstance(app.screen, SetupScreen)
                cards = app.screen.query_one(MethodCards)
                assert tuple(card.kind for card in cards.all_cards) == kinds
                assert app.screen.query_one("#setup-note").display is note
    finally:
        await services.close()


async def test_verify_offers_only_allowed_methods_and_a_disallowed_only_method_means_setup(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await seeded_services(tmp_path, clock, mfa_enabled=True)
    services.demo = True
    try:
        user = await account_store.user_by_email(services.db, DEMO_USER[0])
        assert user is not None
        await set_up_sms(services, user)
        setup = await totp.start_totp_setup(services, user.id)
        assert setup.ok and setup.key_groups is not None
        secret = setup.key_groups.replace(" ", "")
        code = reference_code(key_of(secret), clock.now())
        assert (await totp.confirm_totp_setup(services, user.id, code)).ok
        clock.advance(60)

        # SMS and the app set up, only the app allowed: the dropdown offers the app alone.
        await allow(services, "totp")
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            screen = app.screen
            assert isinstance(screen, VerifyScreen)
            select = screen.query_one("#verify-method", Select)
            assert [str(prompt) for prompt, _ in select._options] == ["Authenticator app"]

        # Only email allowed: none of the user's methods is, so Setup, with the email card.
        await allow(services, "email")
        async with running_app(tmp_path, clock, services=services) as (app, pilot):
            await sign_in(pilot, *DEMO_USER)
            assert isinstance(app.screen, SetupScreen)
            cards = app.screen.query_one(MethodCards)
            assert [card.kind for card in cards.all_cards] == ["email"]
    finally:
        await services.close()

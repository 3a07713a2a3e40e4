"""The admin's Users and Audit log screens, and recovery codes on Verify, under Pilot against a
real SQLite file; snapshots at 80x24."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select

from mfa import admin_users, recovery
from mfa.accounts import Account
from mfa.clock import ManualClock
from mfa.services import Services
from mfa.signin import INCORRECT, SignInOutcome
from mfa.signin import sign_in as domain_sign_in
from store import accounts as account_store
from store import audit
from store.models import User
from tests.mfa.factor_helpers import granted, set_up_sms
from tests.tui.helpers import (
    DEMO_ADMIN,
    DEMO_USER,
    add_account_named_raw,
    demo_app,
    fill,
    running_app,
    seeded_services,
    settle,
    shown,
    sign_in,
    steady,
)
from tui.app import MfaApp
from tui.screens.audit import AuditScreen
from tui.screens.dialogs import ConfirmDialog, EditEmailDialog
from tui.screens.home import HomeScreen
from tui.screens.reauth import ReauthScreen
from tui.screens.recovery_codes import RecoveryCodesScreen
from tui.screens.setup import SetupScreen
from tui.screens.users import UsersScreen
from tui.screens.verify import RECOVERY_CHOICE, VerifyScreen

USER_EMAIL, USER_PASSWORD = DEMO_USER


@pytest.fixture
async def services(tmp_path: Path, clock: ManualClock):
    opened = await seeded_services(tmp_path, clock, mfa_enabled=True)
    opened.demo = True  # the outbox keeps text messages, where set_up_sms reads its code
    await admin_without_mfa(opened)
    try:
        yield opened
    finally:
        await opened.close()


async def admin_without_mfa(services: Services) -> None:
    """MFA is on for the subscription; the admin has no second factor to get through here."""
    async with services.db.write() as conn:
        await conn.execute("UPDATE users SET mfa_required = 0 WHERE role = 'admin'")


async def jordan(services: Services) -> User:
    user = await account_store.user_by_email(services.db, USER_EMAIL)
    assert user is not None
    return user


async def open_users(pilot: Pilot[None]) -> UsersScreen:
    await sign_in(pilot, *DEMO_ADMIN)
    assert isinstance(pilot.app.screen, HomeScreen)
    await pilot.press("u")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, UsersScreen)
    return screen


async def search(pilot: Pilot[None], text: str) -> None:
    await fill(pilot, "#users-search", text)  # Enter searches at once and goes to the list
    await settle(pilot)


def table_rows(screen: UsersScreen | AuditScreen, selector: str) -> list[list[str]]:
    table = screen.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def message(screen: UsersScreen) -> str:
    return shown(screen.query_one("#users-message"))


async def confirm(pilot: Pilot[None]) -> None:
    assert isinstance(pilot.app.screen, ConfirmDialog)
    await pilot.press("y")
    await settle(pilot)


async def last_event(services: Services, user: User) -> tuple[str, int | None]:
    event = (await audit.events(services.db, user.id, limit=1))[0]
    return event.event, event.actor_id


# ------------------------------------------------------------------------------------ users


async def test_an_admin_finds_a_locked_user_and_unlocks_them(
    tmp_path: Path, clock: ManualClock, services: Services
) -> None:
    user = await jordan(services)
    async with services.db.write() as conn:
        await conn.execute("UPDATE users SET failed_attempts = 100 WHERE id = ?", (user.id,))
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        screen = await open_users(pilot)
        await search(pilot, "JORDAN")
        assert table_rows(screen, "#users-table") == [
            [USER_EMAIL, "Jordan Lee", "user", "locked", "", "required", "not set up yet"]
        ]
        assert app.focused is screen.query_one("#users-table")
        await pilot.press("u")
        await settle(pilot)
        assert message(screen) == f"{USER_EMAIL} is unlocked."
        assert table_rows(screen, "#users-table")[0][3] == ""
    admin = await account_store.user_by_email(services.db, DEMO_ADMIN[0])
    assert await last_event(services, user) == ("admin.user_unlocked", admin.id)  # type: ignore[union-attr]
    assert (await domain_sign_in(services, USER_EMAIL, USER_PASSWORD)).accepted


async def test_a_reset_user_sets_up_again_from_scratch(
    tmp_path: Path, clock: ManualClock, services: Services
) -> None:
    user = await jordan(services)
    await set_up_sms(services, user)
    assert await recovery.issue_first_set(services, Account.of(user))
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        screen = await open_users(pilot)
        await search(pilot, "jordan.lee@")
        assert table_rows(screen, "#users-table")[0][5:7] == ["required", "SMS"]
        await pilot.press("r")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert dialog.question == f"Reset MFA for {USER_EMAIL}?"
        await confirm(pilot)
        assert message(screen) == f"MFA reset for {USER_EMAIL}: they set up again."
        assert table_rows(screen, "#users-table")[0][5:7] == ["required", "not set up yet"]
        # The reset, then its security notice to the user.
        latest = [e.event for e in await audit.events(services.db, user.id, limit=2)]
        assert latest[1] == "admin.mfa_reset" and latest[0].startswith("notice.")

        # The user signs in: set up from scratch.
        app.action_sign_out()
        await settle(pilot)
        await sign_in(pilot, USER_EMAIL, USER_PASSWORD)
        assert isinstance(app.screen, SetupScreen)
    assert await recovery.remaining(services, user.id) == 0


async def test_disable_and_enable_with_the_same_refusal_for_a_disabled_user(
    tmp_path: Path, clock: ManualClock, services: Services
) -> None:
    async with running_app(tmp_path, clock, services=services) as (_app, pilot):
        screen = await open_users(pilot)
        await search(pilot, "Jordan")
        await pilot.press("d")
        await settle(pilot)
        await confirm(pilot)
        assert message(screen) == f"{USER_EMAIL} is disabled."
        assert table_rows(screen, "#users-table")[0][4] == "yes"
        refused = await domain_sign_in(services, USER_EMAIL, USER_PASSWORD)
        assert refused.message == INCORRECT
        await pilot.press("d")  # enabling destroys nothing: no question
        await settle(pilot)
        assert message(screen) == f"{USER_EMAIL} can sign in again."
        assert (await domain_sign_in(services, USER_EMAIL, USER_PASSWORD)).accepted

        # The admin can't disable themselves, nor make the last admin a user.
        await search(pilot, "admin@")
        await pilot.press("d")
        await settle(pilot)
        await confirm(pilot)
        assert message(screen) == "You can't disable your own account."
        await pilot.press("o")
        await settle(pilot)
        await confirm(pilot)
        assert "last active administrator" in message(screen)


async def test_role_and_fix_email(tmp_path: Path, clock: ManualClock, services: Services) -> None:
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        screen = await open_users(pilot)
        await search(pilot, "jordan")
        await pilot.press("o")
        await settle(pilot)
        await confirm(pilot)
        assert message(screen) == f"{USER_EMAIL} is now an administrator."
        assert table_rows(screen, "#users-table")[0][2] == "admin"

        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EditEmailDialog)
        await fill(pilot, "#edit-email-input", "jordan.l@acme-logistics.com")
        await settle(pilot)
        assert app.screen is screen
        assert message(screen) == f"{USER_EMAIL} is now jordan.l@acme-logistics.com."
        assert table_rows(screen, "#users-table")[0][0] == "jordan.l@acme-logistics.com"
    user = await account_store.user_by_email(services.db, "jordan.l@acme-logistics.com")
    assert user is not None and user.role == "admin"


async def test_the_list_reads_a_page_at_a_time(
    tmp_path: Path, clock: ManualClock, services: Services
) -> None:
    async with services.db.write() as conn:
        await conn.executemany(
            "INSERT INTO users (subscription_id, email, display_name, password_hash, created_at)"
            " VALUES (1, ?, ?, 'x', 0)",
            [(f"zz{i:04d}@example.com", f"[b]Bulk[/b] {i}") for i in range(450)],
        )
    async with running_app(tmp_path, clock, services=services) as (_app, pilot):
        screen = await open_users(pilot)
        table = screen.query_one("#users-table", DataTable)
        assert table.row_count == admin_users.PAGE_SIZE
        await pilot.press("ctrl+end")
        await settle(pilot)
        assert table.row_count == 2 * admin_users.PAGE_SIZE
        await pilot.press("ctrl+end")
        await settle(pilot)
        await pilot.press("ctrl+end")
        await settle(pilot)
        assert table.row_count == 450 + 25  # the demo's users and the bulk ones, once each
        assert table_rows(screen, "#users-table")[-1][1] == "[b]Bulk[/b] 449"  # literally


# ------------------------------------------------------------------------------------ audit


async def test_the_audit_log_shows_everything_newest_first_and_filters(
    tmp_path: Path, clock: ManualClock, services: Services
) -> None:
    user = await jordan(services)
    async with services.db.write() as conn:
        await audit.record(
            conn, clock.now(), "signin.failed", subject_id=user.id, detail="[red]x\x1b[0m"
        )
    clock.advance(5)
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        await sign_in(pilot, *DEMO_ADMIN)
        await pilot.press("l")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        rows = table_rows(screen, "#audit-table")
        assert [row[1] for row in rows[:2]] == ["session.started", "signin.succeeded"]
        assert rows[-1][1] == "demo.seeded"

        await fill(pilot, "#audit-user", USER_EMAIL)
        await settle(pilot)
        rows = table_rows(screen, "#audit-table")
        assert rows[0][1:] == ["signin.failed", "system", USER_EMAIL, "[red]x^[[0m"]

        screen.query_one("#audit-user", Input).value = ""
        kind = screen.query_one("#audit-kind", Select)
        kind.value = "session"
        await settle(pilot)
        assert {row[1] for row in table_rows(screen, "#audit-table")} == {"session.started"}

        await fill(pilot, "#audit-since", "someday")
        await settle(pilot)
        assert "isn't a date" in shown(screen.query_one("#audit-message"))


# ------------------------------------------------------------------------- recovery codes


async def test_a_recovery_code_signs_in_once_and_is_refused_the_second_time(
    tmp_path: Path, clock: ManualClock, services: Services
) -> None:
    user = await jordan(services)
    await set_up_sms(services, user)  # the phone that was lost
    codes = await recovery.issue_first_set(services, Account.of(user))
    assert codes is not None
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        for attempt in range(2):
            clock.advance(60)
            await sign_in(pilot, USER_EMAIL, USER_PASSWORD)
            screen = app.screen
            assert isinstance(screen, VerifyScreen)
            select = screen.query_one("#verify-method", Select)
            assert [str(prompt) for prompt, _ in select._options][-1] == "Use a recovery code"
            select.value = RECOVERY_CHOICE
            await settle(pilot)
            assert shown(screen.query_one("#verify-message")).startswith(
                "Enter one of your recovery codes"
            )
            await fill(pilot, "#verify-code", codes[0])
            if attempt == 0:
                assert isinstance(app.screen, HomeScreen)
                assert "Recovery code accepted. You have 9 recovery codes left." in [
                    str(n.message) for n in app._notifications
                ]
                app.action_sign_out()
                await settle(pilot)
            else:
                assert app.screen is screen
                assert shown(screen.query_one("#verify-message")) == recovery.WRONG
    events = [(e.event, e.detail) for e in await audit.events(services.db, user.id)]
    assert events.count(("mfa.recovery_code_used", "9 left")) == 1
    assert events[0] == ("mfa.code_rejected", "sign-in: recovery code wrong")


async def test_the_security_page_counts_codes_and_makes_a_new_set(
    tmp_path: Path, clock: ManualClock, services: Services
) -> None:
    user = await jordan(services)
    await set_up_sms(services, user)
    old = await recovery.issue_first_set(services, Account.of(user))
    assert old is not None
    await recovery.use_recovery_code(services, Account.of(user), old[0])
    clock.advance(60)  # past the resend cooldown of the setup code
    async with running_app(tmp_path, clock, services=services) as (app, pilot):
        await sign_in(pilot, USER_EMAIL, USER_PASSWORD)
        await fill(pilot, "#verify-code", await _texted(services))
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("s")
        await settle(pilot)
        assert shown(app.screen.query_one("#security-recovery")) == "Recovery codes: 9 of 10 left."
        await pilot.press("n")
        await settle(pilot)
        await confirm(pilot)
        # Recovery codes stand in for a method: "Confirm it's you" first (password, SMS code).
        assert isinstance(app.screen, ReauthScreen)
        await fill(pilot, "#reauth-password", USER_PASSWORD)
        clock.advance(31)  # past the cooldown of the sign-in code
        await pilot.press("enter")  # Send code
        await settle(pilot)
        await fill(pilot, "#reauth-code", await _texted(services))
        codes_screen = app.screen
        assert isinstance(codes_screen, RecoveryCodesScreen)
        new = codes_screen.codes
        saved = tmp_path / "codes.txt"
        await fill(pilot, "#recovery-file", str(saved))
        assert saved.exists() and new[0] in saved.read_text()
        assert oct(saved.stat().st_mode & 0o777) == "0o600"
        await pilot.press("space", "tab", "enter")  # I have kept them; Continue
        await settle(pilot)
        assert shown(app.screen.query_one("#security-recovery")) == "Recovery codes: 10 of 10 left."
    assert not (await recovery.use_recovery_code(services, Account.of(user), old[1])).ok
    assert (await recovery.use_recovery_code(services, Account.of(user), new[1])).ok


async def _texted(services: Services) -> str:
    from tests.mfa.factor_helpers import texted_code

    return await texted_code(services)


# --------------------------------------------------------------------------------- snapshots


FIXED_CODES = [f"{a}{a}{a}{a}-2345-6789-ABC{a}" for a in "DEFGHJKMNP"]


def _prepare(services: Services) -> None:
    async def prepare() -> None:
        user = await jordan(services)
        async with services.db.write() as conn:
            await conn.execute("UPDATE users SET failed_attempts = 100 WHERE id = ?", (user.id,))
        await add_account_named_raw(
            services, "odd@example.com", "[bold]Odd[/] \x1b[31m", "a sturdy phrase 1"
        )
        await admin_without_mfa(services)
        await admin_users.set_disabled(services, user.id + 1, True)

    asyncio.run(prepare())


async def _users(pilot: Pilot[None]) -> None:
    await open_users(pilot)
    await pilot.press("down")
    await settle(pilot)
    steady(pilot)


async def _audit(pilot: Pilot[None]) -> None:
    await sign_in(pilot, *DEMO_ADMIN)
    await pilot.press("l")
    await settle(pilot)
    steady(pilot)


def test_snapshot_users(snap_compare, tmp_path: Path) -> None:
    with demo_app(tmp_path, mfa_enabled=True) as app:
        _prepare(app.services)
        assert snap_compare(app, terminal_size=(80, 24), run_before=_users)


def test_snapshot_audit_log(snap_compare, tmp_path: Path, monkeypatch) -> None:
    # The session id in the newest row's detail is random: fix it so the image is stable.
    monkeypatch.setattr("mfa.session._token_hex", lambda _size: "5e55104d00000001")
    with demo_app(tmp_path, mfa_enabled=True) as app:
        _prepare(app.services)
        assert snap_compare(app, terminal_size=(80, 24), run_before=_audit)


def test_snapshot_recovery_codes(snap_compare, tmp_path: Path, monkeypatch) -> None:
    codes = itertools.cycle(FIXED_CODES)
    monkeypatch.setattr(recovery, "new_code", lambda: next(codes))

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, MfaApp)
        await sign_in(pilot, *DEMO_ADMIN)
        user = await account_store.user_by_email(app.services.db, DEMO_ADMIN[0])
        assert user is not None
        shown_codes = await recovery.new_set(
            app.services, Account.of(user), attempt=await granted(app.services, Account.of(user))
        )
        app.push_screen(RecoveryCodesScreen(shown_codes, user.email))
        await settle(pilot)
        steady(pilot)

    with demo_app(tmp_path) as app:
        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_snapshot_verify_with_a_recovery_code(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await sign_in(pilot, *DEMO_USER)
        screen = pilot.app.screen
        assert isinstance(screen, VerifyScreen)
        screen.query_one("#verify-method", Select).value = RECOVERY_CHOICE
        await settle(pilot)
        screen.query_one("#verify-code", Input).focus()
        await settle(pilot)
        steady(pilot)

    with demo_app(tmp_path, mfa_enabled=True) as app:
        app.services.demo = True

        async def prepare() -> None:
            user = await jordan(app.services)
            await set_up_sms(app.services, user)
            await recovery.issue_first_set(app.services, Account.of(user))
            app.services.clock.advance(600)  # type: ignore[attr-defined]

        asyncio.run(prepare())
        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_sign_in_outcome_after_reset_is_setup(services: Services) -> None:
    user = await jordan(services)
    await set_up_sms(services, user)
    await admin_users.reset_mfa(services, user.id)
    result = await domain_sign_in(services, USER_EMAIL, USER_PASSWORD)
    assert result.outcome is SignInOutcome.NEEDS_SETUP

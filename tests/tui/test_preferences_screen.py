"""General Preferences under Pilot: the MFA switch, the MFA process from Begin to Retry on the demo
data, a job that outlives the screen, another session's job, an interrupted job, and snapshots."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path

import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, ProgressBar, Switch

from mfa import demo, mfa_process
from mfa.clock import ManualClock
from mfa.mfa_process import JobProgress
from mfa.services import Services, open_services
from store import accounts as account_store
from store import audit
from store.email_key import email_key
from tests.mfa.job_helpers import INSERT_USER, user_rows
from tests.tui.helpers import SIZE, add_account, seeded_services, shown, temp_config
from tui.app import MfaApp, create_app
from tui.jobs import MfaProcessUpdated
from tui.screens import preferences
from tui.screens.dialogs import ConfirmDialog, EditEmailDialog
from tui.screens.preferences import (
    COMPLETE,
    LOADING,
    OFF,
    READY,
    RUNNING,
    GeneralPreferencesScreen,
)

OTHER_SESSION = "another-host.example/4242/feed"
"""The lease owner of a job run by another admin's session on another host (always alive)."""


async def wait_for(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until ``condition`` holds (a generous safety limit, not a timing check)."""
    for _ in range(2_000):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"gave up waiting for {what}")


async def sleep_until(condition: Callable[[], bool], what: str) -> None:
    """Like :func:`wait_for` but only sleeping, so the app's loop runs as it would for a person."""
    for _ in range(20_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"gave up waiting for {what}")


@asynccontextmanager
async def app_on(
    services: Services, messages: list[Message] | None = None
) -> AsyncIterator[tuple[MfaApp, Pilot[None]]]:
    app = create_app(services, demo=True)
    hook = messages.append if messages is not None else None
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await pilot.pause()
        yield app, pilot


async def open_preferences(app: MfaApp, pilot: Pilot[None]) -> GeneralPreferencesScreen:
    admin = await account_store.user_by_email(app.services.db, demo.ADMIN_EMAIL)
    assert admin is not None
    screen = GeneralPreferencesScreen(admin)
    await app.push_screen(screen)
    await wait_for(pilot, lambda: screen.stage != LOADING, "the screen to load")
    await pilot.pause()  # the focus the load gives is applied after the stage shows
    return screen


async def switch_on_and_begin(pilot: Pilot[None], screen: GeneralPreferencesScreen) -> None:
    await pilot.click("#mfa-switch")
    await wait_for(pilot, lambda: screen.stage == READY, "Begin MFA Process to appear")
    await pilot.click("#begin-mfa")


def failure_rows(screen: GeneralPreferencesScreen) -> list[tuple[str, str, str]]:
    table = screen.query_one("#failed-users", DataTable)
    return [
        tuple(cell.plain for cell in table.get_row_at(index))  # type: ignore[misc]
        for index in range(table.row_count)
    ]


async def subscription_id(services: Services) -> int:
    subscription = await account_store.subscription_by_name(services.db, demo.SUBSCRIPTION)
    assert subscription is not None
    return subscription.id


async def mfa_enabled(services: Services) -> bool:
    subscription = await account_store.subscription_by_name(services.db, demo.SUBSCRIPTION)
    assert subscription is not None
    return subscription.mfa_enabled


async def test_the_whole_admin_flow_on_the_demo_data(tmp_path: Path, clock: ManualClock) -> None:
    services = await seeded_services(tmp_path, clock)
    messages: list[Message] = []
    try:
        async with app_on(services, messages) as (app, pilot):
            screen = await open_preferences(app, pilot)
            assert screen.stage == OFF
            assert shown(screen.query_one("#mfa-switch-state")) == "OFF"
            assert not screen.query_one("#begin-mfa").display

            assert app.focused is screen.query_one("#mfa-switch"), "keyboard first"
            await pilot.press("space")
            await wait_for(pilot, lambda: screen.stage == READY, "the switch to turn ON")
            assert shown(screen.query_one("#mfa-switch-state")) == "ON"
            assert screen.query_one("#begin-mfa").display
            assert not await mfa_enabled(services), "ON before Begin changes nothing yet"

            await pilot.click("#begin-mfa")
            await wait_for(pilot, lambda: screen.stage == COMPLETE, "MFA settings complete")
            progress = [
                m.progress for m in messages if isinstance(m, MfaProcessUpdated)
            ]  # what the screen was sent while the job ran
            assert progress[0] == JobProgress(screen.job_id or 0, "running", 25, 0, 0, 0)
            assert progress[-1] == JobProgress(screen.job_id or 0, "complete", 25, 25, 22, 3)
            bar = screen.query_one("#mfa-progress", ProgressBar)
            assert (bar.total, bar.progress) == (25, 25)
            assert await mfa_enabled(services)

            assert shown(screen.query_one("#mfa-failure-message")) == (
                "22 users succeeded and 3 users failed. They still need MFA."
            )
            rows = failure_rows(screen)
            assert [row[:2] for row in rows] == [
                ("dock@warehouse", "Warehouse Dock"),
                ("locker-bay@kiosk3", "Kiosk 3 Locker Bay"),
                ("ops@plant7", "Plant 7 Operations"),
            ]
            assert all(row[2] == "email address has no domain" for row in rows)
            assert screen.query_one("#retry-mfa").display

            # Fix ops@plant7 from the table: the third row, `e`, a new address, Enter.
            table = screen.query_one("#failed-users", DataTable)
            assert app.focused is table
            await pilot.press("down", "down", "e")
            await wait_for(pilot, lambda: isinstance(app.screen, EditEmailDialog), "the dialog")
            field = app.screen.query_one("#edit-email-input", Input)
            assert field.value == "ops@plant7"
            await pilot.press("end", *".acme-logistics.com", "enter")
            await wait_for(pilot, lambda: app.screen is screen, "the dialog to close")
            assert failure_rows(screen)[2][0] == "ops@plant7.acme-logistics.com"
            assert failure_rows(screen)[2][2] == "address fixed: select Retry MFA Process"

            first_job = screen.job_id
            screen.query_one("#retry-mfa", Button).focus()
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: screen.job_id != first_job and screen.stage == COMPLETE,
                "the retry to complete",
            )
            assert shown(screen.query_one("#mfa-failure-message")) == (
                "23 users succeeded and 2 users failed. They still need MFA."
            )
            assert [row[0] for row in failure_rows(screen)] == [
                "dock@warehouse",
                "locker-bay@kiosk3",
            ]
            retry_progress = [
                m.progress
                for m in messages
                if isinstance(m, MfaProcessUpdated) and m.progress.job_id == screen.job_id
            ]
            assert retry_progress[-1] == JobProgress(screen.job_id or 0, "complete", 3, 3, 1, 2)
        ops = await account_store.user_by_email(services.db, "ops@plant7.acme-logistics.com")
        assert ops is not None and ops.mfa_required
    finally:
        await services.close()


async def test_switching_on_by_keyboard_puts_begin_next_so_enter_begins(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        async with app_on(services) as (app, pilot):
            screen = await open_preferences(app, pilot)
            assert app.focused is screen.query_one("#mfa-switch")
            await pilot.press("space")
            await wait_for(pilot, lambda: screen.stage == READY, "Begin MFA Process to appear")
            await wait_for(
                pilot, lambda: app.focused is screen.query_one("#begin-mfa"), "Begin to take focus"
            )
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.stage == COMPLETE, "MFA settings complete")
            assert await mfa_enabled(services)
    finally:
        await services.close()


async def test_the_ui_answers_keys_mid_job_and_the_job_outlives_the_screen(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = await seeded_services(tmp_path, clock)
    big = 5_000
    # Another writer (a sign-in, another admin) takes the write lock right after the job's first
    # transaction and keeps it until the test has looked: the job is mid-way, whatever the speed.
    other_writer = sqlite3.connect(services.db.path, isolation_level=None)
    monkeypatch.setattr(mfa_process, "follow", partial(mfa_process.follow, batch_size=1_000))
    try:
        rows = user_rows(await subscription_id(services), big, 17, 0, "worker")
        async with services.db.write() as conn:
            await conn.executemany(INSERT_USER, rows)
        async with app_on(services) as (app, pilot):
            progressed = app.mfa_jobs._progressed

            def then_hold_the_lock(progress: JobProgress) -> None:
                progressed(progress)
                if progress.processed == 1_000:
                    other_writer.execute("BEGIN IMMEDIATE")

            monkeypatch.setattr(app.mfa_jobs, "_progressed", then_hold_the_lock)
            screen = await open_preferences(app, pilot)
            await pilot.click("#mfa-switch")
            await wait_for(pilot, lambda: screen.stage == READY, "Begin MFA Process to appear")
            # From here on the test only sleeps: Pilot's helpers wait for the CPU to go idle.
            screen.query_one("#begin-mfa", Button).press()
            await sleep_until(lambda: other_writer.in_transaction, "the job's first transaction")
            await sleep_until(
                lambda: shown(screen.query_one("#mfa-counts")).startswith("1,000"),
                "the screen to show the progress",
            )
            assert screen.stage == RUNNING
            assert screen.query_one("#mfa-running").display
            assert shown(screen.query_one("#mfa-counts")).endswith("failed")

            app.simulate_key("escape")  # leave the screen while the job runs
            await sleep_until(lambda: app.screen is not screen, "the key to be handled")
            job_id = screen.job_id or 0
            still = await mfa_process.job_progress(services, job_id)
            assert still is not None and still.status == "running", "...before the job ended"
            assert still.processed == 1_000 < still.total

            other_writer.execute("COMMIT")
            await wait_for(
                pilot, lambda: not app.mfa_jobs.is_following(job_id), "the App's job to end"
            )
        final = await mfa_process.job_progress(services, job_id)
        assert final is not None and final.is_complete
        assert final.processed == final.total == 25 + big
    finally:
        other_writer.close()
        await services.close()


async def test_a_check_for_other_sessions_that_read_before_the_switch_keeps_its_note(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page looks for other sessions' changes every second. A look that read the setting just
    before this admin switched MFA off must not take that for another session's change: reading
    the page again would wipe the "MFA is OFF" note."""
    monkeypatch.setattr(preferences, "OTHER_SESSIONS_CHECK_SECONDS", 3600.0)
    services = await seeded_services(tmp_path, clock)
    try:
        job, _ = await mfa_process.begin(services, await subscription_id(services))
        await mfa_process.follow(services, job.job_id)
        async with app_on(services) as (app, pilot):
            screen = await open_preferences(app, pilot)
            assert screen.stage == COMPLETE
            read, answer = asyncio.Event(), asyncio.Event()
            really_enabled = mfa_process.mfa_enabled

            async def read_then_answer_late(*args: object) -> bool | None:
                value = await really_enabled(*args)  # type: ignore[arg-type]
                read.set()
                await answer.wait()
                return value

            monkeypatch.setattr(mfa_process, "mfa_enabled", read_then_answer_late)
            looking = screen._check_other_sessions()
            await asyncio.wait_for(read.wait(), timeout=10)  # it has read "MFA is ON"

            await pilot.click("#mfa-switch")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
            await pilot.click("#confirm")
            await wait_for(pilot, lambda: screen.stage == OFF, "MFA to be off")
            notice = screen.query_one("#preferences-message")
            assert shown(notice).startswith("MFA is OFF: 25 users are no longer required")

            answer.set()  # the look ends with what it read before the switch
            await looking.wait()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert screen.stage == OFF
            assert shown(notice).startswith("MFA is OFF: 25 users are no longer required")
    finally:
        await services.close()


async def test_a_second_admin_pressing_begin_sees_the_running_job(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The page must still show what it loaded when the admin presses Begin: its look for other
    # sessions' changes (every second) would otherwise, on a slow machine, find the job first.
    monkeypatch.setattr(preferences, "OTHER_SESSIONS_CHECK_SECONDS", 3600.0)
    services = await seeded_services(tmp_path, clock)
    other = await open_services(temp_config(tmp_path), clock=clock)
    try:
        async with app_on(services) as (app, pilot):
            screen = await open_preferences(app, pilot)
            assert screen.stage == OFF
            # Meanwhile another admin, in another session, begins and is 10 users in.
            job, started = await mfa_process.begin(other, await subscription_id(other))
            assert started
            other_run = mfa_process.progress_of(
                other, job.job_id, batch_size=10, owner=OTHER_SESSION
            )
            assert (await anext(other_run)).processed == 0
            assert (await anext(other_run)).processed == 10

            await switch_on_and_begin(pilot, screen)
            await wait_for(pilot, lambda: screen.stage == RUNNING, "the running job")
            assert screen.job_id == job.job_id
            bar = screen.query_one("#mfa-progress", ProgressBar)
            assert (bar.total, bar.progress) == (25, 10)
            row = await services.db.fetchone("SELECT count(*) FROM mfa_jobs")
            assert row is not None and row[0] == 1

            # The other session finishes; this one, watching, sees it complete.
            rest = [p async for p in other_run]
            assert rest[-1].is_complete
            await wait_for(pilot, lambda: screen.stage == COMPLETE, "the watched job to complete")
            assert shown(screen.query_one("#mfa-failure-message")) == (
                "22 users succeeded and 3 users failed. They still need MFA."
            )
    finally:
        await other.close()
        await services.close()


async def test_an_interrupted_job_is_shown_and_resumed_when_the_screen_opens(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        job, _ = await mfa_process.begin(services, await subscription_id(services))
        crashed = mfa_process.progress_of(services, job.job_id, batch_size=10, owner=OTHER_SESSION)
        assert (await anext(crashed)).processed == 0
        assert (await anext(crashed)).processed == 10
        await crashed.aclose()  # that session is gone; its lease runs out
        clock.advance(mfa_process.LEASE_SECONDS + 1)

        async with app_on(services) as (app, pilot):
            screen = await open_preferences(app, pilot)
            assert screen.job_id == job.job_id
            await wait_for(pilot, lambda: screen.stage == COMPLETE, "the resumed job to complete")
            assert shown(screen.query_one("#mfa-failure-message")) == (
                "22 users succeeded and 3 users failed. They still need MFA."
            )
        events = await audit.events(services.db)
        assert any(event.event == "mfa.process_resumed" for event in events)
    finally:
        await services.close()


async def test_turning_the_switch_off_asks_first_and_keeps_methods(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        job, _ = await mfa_process.begin(services, await subscription_id(services))
        await mfa_process.follow(services, job.job_id)
        jordan = await account_store.user_by_email(services.db, "jordan.lee@acme-logistics.com")
        assert jordan is not None
        async with services.db.write() as conn:
            await conn.execute(
                "INSERT INTO mfa_methods (user_id, kind, destination, secret, created_at)"
                " VALUES (?, 'email', ?, x'00', 0)",
                (jordan.id, jordan.email),
            )
        async with app_on(services) as (app, pilot):
            screen = await open_preferences(app, pilot)
            assert screen.stage == COMPLETE
            assert screen.query_one("#mfa-switch", Switch).value

            await pilot.click("#mfa-switch")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
            await pilot.press("n")
            await wait_for(pilot, lambda: app.screen is screen, "the dialog to close")
            assert screen.query_one("#mfa-switch", Switch).value
            assert shown(screen.query_one("#mfa-switch-state")) == "ON"
            assert await mfa_enabled(services)

            await pilot.click("#mfa-switch")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
            await pilot.click("#confirm")
            await wait_for(pilot, lambda: screen.stage == OFF, "MFA to be off")
            assert not screen.query_one("#mfa-switch", Switch).value
            notice = screen.query_one("#preferences-message")
            # 25: the 3 users the process failed were required too.
            assert shown(notice).startswith("MFA is OFF: 25 users are no longer required")

            # Switching on again and beginning: the OFF notice doesn't stay beside the process.
            await switch_on_and_begin(pilot, screen)
            await wait_for(pilot, lambda: screen.stage in (RUNNING, COMPLETE), "the process")
            assert shown(notice) == ""
            assert not any("MFA is OFF" in str(n.message) for n in app._notifications)
            await wait_for(pilot, lambda: screen.stage == COMPLETE, "MFA settings complete")
            await pilot.click("#mfa-switch")  # leave MFA off, as the checks below expect
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
            await pilot.click("#confirm")
            await wait_for(pilot, lambda: screen.stage == OFF, "MFA to be off")
        assert not await mfa_enabled(services)
        users = await account_store.users_of(services.db, await subscription_id(services))
        assert not any(user.mfa_required for user in users)
        methods = await services.db.fetchall("SELECT user_id FROM mfa_methods")
        assert [row[0] for row in methods] == [jordan.id]
    finally:
        await services.close()


async def test_names_and_reasons_from_the_database_are_shown_literally(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        await add_account(services, "bay@[dock]", "[bold red]Dock[/] Bay", "a long passphrase here")
        async with app_on(services) as (app, pilot):
            screen = await open_preferences(app, pilot)
            await switch_on_and_begin(pilot, screen)
            await wait_for(pilot, lambda: screen.stage == COMPLETE, "MFA settings complete")
            rows = failure_rows(screen)
            assert ("bay@[dock]", "[bold red]Dock[/] Bay") in [row[:2] for row in rows]
    finally:
        await services.close()


async def test_the_fix_email_dialog_shows_a_stored_escape_sequence_made_visible(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await seeded_services(tmp_path, clock)
    stored = "ops\x1b]0;owned\x07\t@plant7"
    try:
        async with services.db.write() as conn:
            await conn.execute(
                "UPDATE users SET email = ?, email_key = ? WHERE email = 'ops@plant7'",
                (stored, email_key(stored)),
            )
        user = await account_store.user_by_email(services.db, stored)
        assert user is not None
        async with app_on(services) as (app, pilot):
            await app.push_screen(EditEmailDialog(user.id, user.email, user.display_name))
            await wait_for(pilot, lambda: isinstance(app.screen, EditEmailDialog), "the dialog")
            field = app.screen.query_one("#edit-email-input", Input)
            assert field.value == "ops^[]0;owned^G^I@plant7"
    finally:
        await services.close()


async def test_an_address_that_is_not_one_keeps_the_dialog_open_with_the_reason(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        job, _ = await mfa_process.begin(services, await subscription_id(services))
        await mfa_process.follow(services, job.job_id)
        async with app_on(services) as (app, pilot):
            screen = await open_preferences(app, pilot)
            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, EditEmailDialog), "the dialog")
            dialog = app.screen
            dialog.query_one("#edit-email-input", Input).value = ""
            await pilot.press(*"no at sign", "enter")
            await wait_for(
                pilot, lambda: shown(dialog.query_one("#edit-email-error")) != "", "the reason"
            )
            assert "is not an email address" in shown(dialog.query_one("#edit-email-error"))
            assert app.screen is dialog
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen, "the dialog to close")
        unchanged = await account_store.user_by_email(services.db, "dock@warehouse")
        assert unchanged is not None
    finally:
        await services.close()


async def test_a_control_sequence_in_a_new_address_is_refused_in_the_dialog(
    tmp_path: Path, clock: ManualClock
) -> None:
    services = await seeded_services(tmp_path, clock)
    try:
        job, _ = await mfa_process.begin(services, await subscription_id(services))
        await mfa_process.follow(services, job.job_id)
        async with app_on(services) as (app, pilot):
            await open_preferences(app, pilot)
            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, EditEmailDialog), "the dialog")
            dialog = app.screen
            dialog.query_one(
                "#edit-email-input", Input
            ).value = "dock\x1b]0;owned\x07@warehouse.com"
            await pilot.press("enter")
            await wait_for(
                pilot, lambda: shown(dialog.query_one("#edit-email-error")) != "", "the reason"
            )
            reason = shown(dialog.query_one("#edit-email-error"))
            assert "U+001B" in reason and "\x1b]" not in reason
            assert app.screen is dialog
        assert await account_store.user_by_email(services.db, "dock@warehouse") is not None
    finally:
        await services.close()


# ---------------------------------------------------------------------------------- snapshots


@contextmanager
def prepared_app(
    tmp_path: Path, prepare: Callable[[Services], Awaitable[None]] | None = None
) -> Iterator[MfaApp]:
    """The demo database, put in a state by ``prepare``, and an app on it (for snap_compare)."""

    async def setup() -> Services:
        services = await seeded_services(tmp_path, ManualClock())
        if prepare is not None:
            await prepare(services)
        return services

    services = asyncio.run(setup())
    try:
        app = create_app(services, demo=True)
        app.animation_level = "none"
        yield app
    finally:
        asyncio.run(services.close())


def showing(stage: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, MfaApp)
        screen = await open_preferences(app, pilot)
        await wait_for(pilot, lambda: screen.stage == stage, stage)
        await pilot.pause()

    return run_before


async def _enable_and_run(services: Services) -> None:
    job, _ = await mfa_process.begin(services, await subscription_id(services))
    await mfa_process.follow(services, job.job_id)


async def _fix_every_address_and_run(services: Services) -> None:
    for old, new in (
        ("ops@plant7", "ops@plant7.acme-logistics.com"),
        ("dock@warehouse", "dock@warehouse.acme-logistics.com"),
        ("locker-bay@kiosk3", "locker-bay@kiosk3.acme-logistics.com"),
    ):
        user = await account_store.user_by_email(services.db, old)
        assert user is not None
        async with services.db.write() as conn:
            await account_store.set_email(conn, user.id, new, True, None)
    await _enable_and_run(services)


async def _half_done_by_another_session(services: Services) -> None:
    job, _ = await mfa_process.begin(services, await subscription_id(services))
    run = mfa_process.progress_of(services, job.job_id, batch_size=12, owner=OTHER_SESSION)
    assert (await anext(run)).processed == 0
    assert (await anext(run)).processed == 12
    await run.aclose()  # its lease stays valid on the ManualClock: the screen watches, frozen


async def _switched_on(services: Services) -> None:
    async with services.db.write() as conn:
        await conn.execute("UPDATE subscriptions SET mfa_enabled = 1")


def test_snapshot_mfa_off(snap_compare, tmp_path: Path) -> None:
    with prepared_app(tmp_path) as app:
        assert snap_compare(app, terminal_size=SIZE, run_before=showing(OFF))


def test_snapshot_mfa_on_before_begin(snap_compare, tmp_path: Path) -> None:
    with prepared_app(tmp_path, _switched_on) as app:
        assert snap_compare(app, terminal_size=SIZE, run_before=showing(READY))


def test_snapshot_mfa_settings_processing(snap_compare, tmp_path: Path) -> None:
    with prepared_app(tmp_path, _half_done_by_another_session) as app:
        assert snap_compare(app, terminal_size=SIZE, run_before=showing(RUNNING))


def test_snapshot_mfa_settings_complete(snap_compare, tmp_path: Path) -> None:
    with prepared_app(tmp_path, _fix_every_address_and_run) as app:
        assert snap_compare(app, terminal_size=SIZE, run_before=showing(COMPLETE))


def test_snapshot_mfa_settings_complete_with_failures(snap_compare, tmp_path: Path) -> None:
    with prepared_app(tmp_path, _enable_and_run) as app:
        assert snap_compare(app, terminal_size=SIZE, run_before=showing(COMPLETE))


def test_snapshot_turning_mfa_off_asks_first(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await showing(COMPLETE)(pilot)
        await pilot.click("#mfa-switch")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog), "the question")
        await pilot.pause()

    with prepared_app(tmp_path, _enable_and_run) as app:
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)

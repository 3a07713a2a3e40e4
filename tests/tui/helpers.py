"""Build the app on a seeded temporary database, for Pilot tests and snapshot tests.

Pilot tests (async)::

    async with running_app(tmp_path, clock) as (app, pilot):
        await sign_in(pilot, *DEMO_ADMIN)
        assert isinstance(app.screen, HomeScreen)

Snapshot tests (plain ``def``; ``snap_compare`` runs the app in its own event loop)::

    def test_home(snap_compare, tmp_path):
        with demo_app(tmp_path) as app:
            assert snap_compare(app, terminal_size=(80, 24), run_before=signed_in_as(*DEMO_ADMIN))

The database is the demo's (``mfa.demo.seed``: "Acme Logistics", its four products, an admin and
24 users) with cheap argon2 parameters; ``mfa_enabled=True`` turns MFA on for the subscription and
marks every user as required to use it, as the MFA process would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input

from mfa import demo
from mfa.accounts import add_user
from mfa.clock import ManualClock
from mfa.config import Config, SecurityConfig
from mfa.services import Services, open_services
from store import accounts as account_store
from store.models import User
from tests.conftest import FAST_SECURITY
from tui.app import MfaApp, create_app
from tui.widgets.countdown import CountingDown

DEMO_ADMIN = (demo.ADMIN_EMAIL, demo.ADMIN_PASSWORD)
"""(email, password) of the demo admin."""
DEMO_USER = (demo.DEMO_USERS[1].email, demo.USER_PASSWORD)
"""(email, password) of a demo user (Jordan Lee)."""

SIZE = (80, 24)


def temp_config(tmp_path: Path, security: SecurityConfig = FAST_SECURITY) -> Config:
    """A configuration with its database and key file in ``tmp_path``."""
    return (
        Config(security=security)
        .with_database(tmp_path / "mfa.db")
        .replace("security", key_file=str(tmp_path / "mfa.key"))
    )


async def seed_demo(services: Services, *, mfa_enabled: bool = False) -> None:
    """Fill ``services``' database with the demo data (MFA on for everyone if asked)."""
    await demo.seed(services)
    if mfa_enabled:
        async with services.db.write() as conn:
            await conn.execute("UPDATE subscriptions SET mfa_enabled = 1")
            await conn.execute("UPDATE users SET mfa_required = 1")


async def seeded_services(
    tmp_path: Path,
    clock: ManualClock,
    *,
    mfa_enabled: bool = False,
    config: Config | None = None,
) -> Services:
    """Open services on a new demo database in ``tmp_path``. The caller closes them."""
    services = await open_services(config or temp_config(tmp_path), clock=clock)
    try:
        await seed_demo(services, mfa_enabled=mfa_enabled)
    except BaseException:
        await services.close()
        raise
    return services


@asynccontextmanager
async def running_app(
    tmp_path: Path,
    clock: ManualClock,
    *,
    mfa_enabled: bool = False,
    demo_mode: bool = True,
    config: Config | None = None,
    services: Services | None = None,
) -> AsyncIterator[tuple[MfaApp, Pilot[None]]]:
    """Run the app at 80x24 on a seeded database (or on ``services``, left open) under Pilot."""
    owned = services is None
    if services is None:
        services = await seeded_services(tmp_path, clock, mfa_enabled=mfa_enabled, config=config)
    try:
        app = create_app(services, demo=demo_mode)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            yield app, pilot
    finally:
        if owned:
            await services.close()


@contextmanager
def demo_app(
    tmp_path: Path,
    clock: ManualClock | None = None,
    *,
    mfa_enabled: bool = False,
    demo_mode: bool = True,
    config: Config | None = None,
) -> Iterator[MfaApp]:
    """An app on a seeded database, for ``snap_compare`` (which runs it in its own event loop).

    The database is prepared in a throwaway event loop; aiosqlite's connection thread serves any
    loop, so the app's loop can use it. The services are closed when the block ends.
    """
    services = asyncio.run(
        seeded_services(tmp_path, clock or ManualClock(), mfa_enabled=mfa_enabled, config=config)
    )
    try:
        yield create_app(services, demo=demo_mode)
    finally:
        asyncio.run(services.close())


# ---------------------------------------------------------------------------------- driving it


async def settle(pilot: Pilot[None]) -> None:
    """Wait until every worker has finished and the messages they sent are handled."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def type_text(pilot: Pilot[None], text: str) -> None:
    """Type ``text`` key by key into whatever has focus.

    Slow (Pilot waits for the app to go idle after every key): only for tests about typing.
    """
    await pilot.press(*text)


async def fill(pilot: Pilot[None], selector: str, text: str, *, submit: bool = True) -> None:
    """Put ``text`` in the input field ``selector`` (focused), then press Enter and wait.

    The value is set as a whole (an ``Input.Changed`` follows as for typing); only Enter is a key.
    """
    field = pilot.app.screen.query_one(selector, Input)
    field.focus()
    field.value = text
    field.cursor_position = len(text)
    await pilot.pause()
    if submit:
        await pilot.press("enter")
        await settle(pilot)


async def wait_until(pilot: Pilot[None], condition: Callable[[], bool], what: str) -> None:
    """Let the app run until ``condition`` holds: for outcomes that wait on a real server (a
    generous safety limit, not a timing check)."""
    for _ in range(1_000):
        if condition():
            return
        await settle(pilot)
        await pilot.pause(0.01)
    raise AssertionError(f"gave up waiting for {what}")


async def tick(pilot: Pilot[None]) -> None:
    """The clock was moved: bring every countdown on the screen up to date, as its one-second
    timer would, and wait for what follows (a send that waited for the countdown, say)."""
    for widget in pilot.app.screen.query("*"):
        if isinstance(widget, CountingDown):
            widget.tick()
    await settle(pilot)


async def sign_in(pilot: Pilot[None], email: str, password: str, *, typed: bool = False) -> None:
    """Fill in the sign-in screen (Enter moves on, Enter submits) and wait for the outcome.

    ``typed=True`` types every character as a key; by default the fields are filled directly
    (much faster: Pilot waits for the app to go idle after every key) and only Enter is pressed.
    """
    screen = pilot.app.screen
    email_field = screen.query_one("#email", Input)
    password_field = screen.query_one("#password", Input)
    email_field.focus()
    email_field.clear()
    await pilot.pause()
    if typed:
        await type_text(pilot, email)
    else:
        email_field.value = email
    await pilot.press("enter")
    if typed:
        await type_text(pilot, password)
    else:
        password_field.value = password
    await pilot.press("enter")
    await settle(pilot)


def signed_in_as(email: str, password: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    """A ``run_before`` for ``snap_compare`` that signs in and holds the cursor still."""

    async def run_before(pilot: Pilot[None]) -> None:
        await sign_in(pilot, email, password)
        steady(pilot)

    return run_before


def steady(pilot: Pilot[None]) -> None:
    """Stop cursors blinking so snapshots don't depend on the moment they are taken."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


def shown(widget: Widget) -> str:
    """The plain text a ``Static``-like widget shows."""
    visual = widget.visual  # type: ignore[attr-defined]
    return str(getattr(visual, "plain", visual))


async def add_account(
    services: Services,
    email: str,
    display_name: str,
    password: str,
    *,
    role: str = "user",
) -> User:
    """Add an account to the demo subscription (for names, roles and states the demo lacks)."""
    subscription = await account_store.subscription_by_name(services.db, demo.SUBSCRIPTION)
    assert subscription is not None
    user, _warning = await add_user(services, subscription, email, display_name, role, password)
    return user


async def keep_recovery_codes(pilot: Pilot[None]) -> list[str]:
    """On the recovery codes screen (shown after the first method is set up): tick "I have kept
    these codes" and Continue, by keyboard. Returns the codes that were shown."""
    from textual.widgets import Checkbox

    from tui.screens.recovery_codes import RecoveryCodesScreen

    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RecoveryCodesScreen), f"expected the recovery codes, not {screen}"
    codes = list(screen.codes)
    screen.query_one("#recovery-kept", Checkbox).focus()
    await pilot.press("space", "tab", "enter")
    await settle(pilot)
    return codes


async def add_account_named_raw(
    services: Services, email: str, display_name: str, password: str
) -> None:
    """An account whose stored name the checks of today refuse (control characters), as an older
    version could have stored it: added with a plain name, then renamed in the database."""
    user = await add_account(services, email, "Placeholder", password)
    async with services.db.write() as conn:
        await conn.execute(
            "UPDATE users SET display_name = ? WHERE id = ?", (display_name, user.id)
        )

"""The Textual application: builds the screens around one ``Services`` object and owns the session.

The app decides where a sign-in goes (home, MFA setup, MFA verification), keeps the
:class:`mfa.session.Session`, records activity on every key, and ends the session on **Sign out**,
after ``idle_lock_seconds`` without a key, or at ``session_max_seconds``. Whatever screens were
open, the sign-in screen is then the only one left.

The MFA screens finish a sign-in by calling :meth:`MfaApp.complete_sign_in`.

Screens needed only after the password (home, setup, verify), the MFA-job runner, the demo's
inbox, data and mail server are imported where they are first used: the sign-in screen is what
start-up has to be quick for.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, on, work
from textual.app import App
from textual.binding import Binding
from textual.content import Content
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from mfa import session as sessions
from mfa.config import Config
from mfa.services import Services, StoreError, open_services
from mfa.session import Session, SessionEnd, new_attempt_id
from mfa.wording import duration_words
from tui import lifecycle
from tui.keys import KeyOrder
from tui.launch import ProductChosen, ProductLauncher
from tui.messages import PasswordAccepted, SignInShown, SignOutRequested
from tui.screens.signin import SignInScreen
from tui.theme import detect_plain_terminal, format_title, use_terminal_colours

if TYPE_CHECKING:
    from mfa.accounts import Account
    from tui.jobs import MfaJobRunner
    from tui.screens.inbox import DemoInboxWatch

STAND_IN = (sys.executable, "-m", "tui.demo_product")
"""The program every demo product runs: it shows who launched it and waits for a key."""

CSS_FILE = Path(__file__).parent / "screens.tcss"
"""A link to ``screens.tcss`` at the top of the tree, so that an installed (not editable) copy
carries the file too (package data)."""
COLOURS_FILE = Path(__file__).parent / "colours.tcss"
"""The 16-colour and NO_COLOR rules (tui.theme), kept apart from the layout of the screens (a link
to ``colours.tcss`` at the top of the tree, like ``CSS_FILE``). Read only where they apply: every
rule there is under ``:ansi``, and every rule loaded costs time each time a widget is styled."""

SESSION_CHECK_SECONDS = 5.0
"""How often the idle lock and the absolute limit are checked (against ``services.now()``)."""


class MfaApp(App[None]):
    """mfa-tui: sign-in with multi-factor authentication, and the admin's MFA settings."""

    TITLE = "mfa-tui"
    SUB_TITLE = "Sign in"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="quit"),
        Binding("ctrl+o", "demo_inbox", "Demo inbox", id="demo-inbox"),
    ]

    def __init__(self, services: Services, *, demo: bool = False) -> None:
        # 16 colours or NO_COLOR: colour numbers as they are, a theme made of them, and the rules
        # for them (colours.tcss).
        plain = detect_plain_terminal()
        super().__init__(
            ansi_color=True if plain else None,
            css_path=[CSS_FILE, COLOURS_FILE] if plain else [CSS_FILE],
        )
        use_terminal_colours(self)
        self.services = services
        """The domain: configuration, database, clock. Screens call ``mfa`` with it."""
        self.demo = demo
        """True when running on the seeded demo database."""
        self.session: Session | None = None
        """The current session: None before a right password, ``signed_in=False`` between the
        password and the second factor, ``signed_in=True`` once home."""
        self.key_order = KeyOrder(self)
        """Hands keys that arrive together to the focus one at a time (tui.keys)."""
        self.launcher = ProductLauncher(self)
        """Runs a product chosen on home in this terminal."""

    @cached_property
    def terminal_attempt_id(self) -> str:
        """Names this terminal's sign-in attempts (``mfa.signin.sign_in``): codes asked for here
        can be entered only here, not in another terminal signed in as the same user. Made at the
        first sign-in, not at start-up (see ``new_attempt_id``)."""
        return new_attempt_id()

    @cached_property
    def mfa_jobs(self) -> MfaJobRunner:
        """Runs the MFA process at App level, so it outlives the screen that started it."""
        from tui.jobs import MfaJobRunner

        return MfaJobRunner(self, self.services)

    @cached_property
    def demo_inbox(self) -> DemoInboxWatch:
        """In demo mode: notices newly delivered messages (a notification each)."""
        from tui.screens.inbox import DemoInboxWatch

        return DemoInboxWatch(self, self.services)

    def on_mount(self) -> None:
        if not self.is_headless:  # Pilot tests have no terminal to hang up
            lifecycle.watch_for_hangup(self)
        self.push_screen(SignInScreen())
        if self.demo:
            self.demo_inbox.start()
        self.set_interval(SESSION_CHECK_SECONDS, self.check_session, name="session-check")
        self.call_after_refresh(self._prune_old_events)

    @work(group="housekeeping", exit_on_error=False)
    async def _prune_old_events(self) -> None:
        """Old audit events go once the sign-in screen is up, not before it shows (bounded
        batches; only a read when nothing is old enough). A failure here stops nobody."""
        from mfa.audit_log import prune

        await prune(self.services)

    # ------------------------------------------------------------------------------ activity

    async def on_event(self, event: events.Event) -> None:
        # Every key (and click) reaches the app first, before any widget can stop it.
        if isinstance(event, (events.Key, events.MouseDown)) and not event.is_forwarded:
            self.record_activity()
        # Keys typed ahead wait for the one before to take effect (it may move the focus).
        if self.key_order.hold(event):
            return
        await super().on_event(event)
        self.key_order.handled(event)

    def record_activity(self) -> None:
        """The person did something: the idle lock starts counting again."""
        if self.session is not None:
            self.session.touch(self.services.now())

    def check_session(self) -> None:
        """End the session if it has been idle too long or reached its absolute limit.

        Runs every few seconds; tests move the clock and call it directly.
        """
        if self.session is None or self.launcher.running:
            return  # while a product runs, the limits wait for it to exit
        reason = self.session.end_reason(self.services.now(), self.services.config.security)
        if reason is not None:
            self.end_session(reason)

    # ------------------------------------------------------------------------------ signing in

    @on(PasswordAccepted)
    def _password_accepted(self, message: PasswordAccepted) -> None:
        from mfa.signin import SignInOutcome  # loaded by the sign-in screen's worker by now

        result = message.result
        user = result.user
        assert user is not None
        if result.outcome is SignInOutcome.SIGNED_IN:
            self.complete_sign_in(user)
            return
        # The second factor comes next; the idle rules apply meanwhile.
        self.session = Session.start(
            user, self.services.now(), signed_in=False, attempt_id=result.attempt_id
        )
        if result.outcome is SignInOutcome.NEEDS_SETUP:
            from tui.screens.setup import SetupScreen

            self.push_screen(SetupScreen(user))
        else:
            from tui.screens.verify import VerifyScreen

            self.push_screen(VerifyScreen(user))

    @on(SignInShown)
    def _sign_in_shown(self) -> None:
        # Back on the sign-in screen with a half-finished sign-in: it is abandoned.
        if self.session is not None and not self.session.signed_in:
            self.end_session(SessionEnd.SIGNED_OUT, show_sign_in=False)

    def complete_sign_in(self, user: Account) -> None:
        """Start the session for ``user`` and show the home screen.

        Called when the password was enough, and by the Setup and Verify screens once the second
        factor is right. Whatever screens are open are replaced by the home screen.
        """
        pending = self.session
        verified = pending is not None and not pending.signed_in and pending.user.id == user.id
        # The session goes on from this terminal's sign-in attempt.
        self.session = Session.start(
            user, self.services.now(), mfa_verified=verified, attempt_id=self.terminal_attempt_id
        )
        self._open_home(self.session)

    @work(exclusive=True, group="session", exit_on_error=False)
    async def _open_home(self, session: Session) -> None:
        from mfa.accounts import account_home

        services = self.services
        await sessions.record_start(services, session)
        home = await account_home(services, session.user)
        if self.session is not session:
            return  # ended while loading
        session.user = home.account
        from tui.screens.home import HomeScreen

        self._show_only(HomeScreen(home.account, home.subscription_name, home.products))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "session" and event.state is WorkerState.ERROR:
            # The home screen couldn't be loaded: don't leave a session without a screen.
            self.session = None
            self._show_only(
                SignInScreen(f"Couldn't open your home screen ({event.worker.error}). Try again.")
            )

    # ------------------------------------------------------------------------------ signing out

    @on(SignOutRequested)
    def action_sign_out(self) -> None:
        """End the session and return to an empty sign-in screen."""
        self.end_session(SessionEnd.SIGNED_OUT)

    @on(ProductChosen)
    def _product_chosen(self, message: ProductChosen) -> None:
        self.launcher.launch(message.product)

    async def action_quit(self) -> None:
        """Ctrl+Q: the exit status says whether someone was signed in (``tui.lifecycle``)."""
        self.exit(return_code=lifecycle.quit_status(self))

    def end_session(self, reason: SessionEnd, *, show_sign_in: bool = True) -> None:
        """End the current session (if any) for ``reason`` and show the sign-in screen.

        In kiosk mode the program ends instead (so an SSH session closes with it).
        """
        if show_sign_in and self.services.config.session.kiosk:
            self._end_kiosk(reason)
            return
        session, self.session = self.session, None
        if session is not None:
            self._record_end(session, reason)
        if show_sign_in:
            self._show_only(SignInScreen(self._end_notice(reason)))

    def _end_notice(self, reason: SessionEnd) -> str:
        security = self.services.config.security
        if reason is SessionEnd.IDLE:
            return (
                f"Signed out after {duration_words(security.idle_lock_seconds)} without activity."
            )
        if reason is SessionEnd.TIME_LIMIT:
            limit = duration_words(security.session_max_seconds)
            return f"Signed out: a session lasts at most {limit}. Sign in again to go on."
        return ""

    @work(group="audit", exit_on_error=False)
    async def _record_end(self, session: Session, reason: SessionEnd) -> None:
        await sessions.record_end(self.services, session, reason)

    @work(group="kiosk", exclusive=True, exit_on_error=False)
    async def _end_kiosk(self, reason: SessionEnd) -> None:
        session, self.session = self.session, None
        try:
            if session is not None:
                await sessions.record_end(self.services, session, reason)
        finally:
            signed_in = session is not None and session.signed_in
            status = lifecycle.EXIT_SIGNED_IN if signed_in else lifecycle.EXIT_NOT_SIGNED_IN
            self.exit(return_code=status)

    # ------------------------------------------------------------------------------ screens

    @property
    def attempt_id(self) -> str:
        """The current sign-in attempt (codes and re-authentication belong to it)."""
        if self.session is None:
            return self.terminal_attempt_id
        return self.session.attempt_id

    def format_title(self, title: str, sub_title: str) -> Content:
        return format_title(self, title, sub_title)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The demo inbox exists only in demo mode (and is then shown in every footer).
        return self.demo if action == "demo_inbox" else True

    def action_demo_inbox(self) -> None:
        """Open the demo inbox (Ctrl+O again, or Escape, closes it)."""
        from tui.screens.inbox import toggle_demo_inbox

        toggle_demo_inbox(self)

    def _show_only(self, screen: Screen[None]) -> None:
        """Make ``screen`` the only screen above the default one (closing any others)."""
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if len(self.screen_stack) == 2:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)


def create_app(services: Services, *, demo: bool = False) -> MfaApp:
    """Build the app the same way for tests and for the command line."""
    return MfaApp(services, demo=demo)


async def _run(config: Config, demo: bool, reset: bool, demo_users: int | None = None) -> int:
    db_path = config.database_path
    if demo:
        from mfa import demo as demo_data  # only --demo loads it

        db_path = demo_data.demo_database_path(config)
    if demo and reset:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(db_path) + suffix).unlink()
    try:
        services = await open_services(config.with_database(db_path), demo=demo)
    except StoreError as error:
        print(f"mfa-tui: {error}")
        return 2
    try:
        if demo:
            await demo_data.seed(services, demo_users)
        app = create_app(services, demo=demo)
        await app.run_async()
        return app.return_code or 0
    finally:
        await services.close()


def run_app(
    config: Config, *, demo: bool = False, reset: bool = False, demo_users: int | None = None
) -> int:
    """Run the terminal UI until the user quits; returns the exit code. ``demo_users``: with
    ``demo``, seed that many users in all (``--users``)."""
    if not demo:
        return asyncio.run(_run(config, demo, reset))
    # The demo's mail server (its own thread) receives the real SMTP traffic of the codes.
    from mfa import demo as demo_data
    from mfa.demo_mail import DemoMailSink, demo_config

    with DemoMailSink() as mail_server:
        config = demo_data.with_stand_ins(demo_config(config, mail_server), STAND_IN)
        return asyncio.run(_run(config, demo, reset, demo_users))

"""MFA setup: shown after a right password when MFA is required and no method is set up yet.

The user guide's "Setting up multi-factor authentication (users)", step by step: a card per method
the subscription allows, each with its **Setup** button; email: **Send me the code** (to the
account's address); SMS: the mobile number and **Send code**; then the code received and
**Verify**; the authenticator app: its QR code and key, then the app's code and **Verify**. Once one method is verified the screen says so and offers the other card's Setup (an
optional second method) or **Continue**, which finishes the sign-in (``MfaApp.complete_sign_in``).
The cards and the work behind them live in ``tui.widgets.method_cards``.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from mfa import factors
from mfa.accounts import Account
from mfa.factors import CODE_METHODS_NOTE
from tui.screens.on_app import OnMfaApp
from tui.screens.recovery_codes import offer_first_set
from tui.widgets.message_line import MessageLine
from tui.widgets.method_cards import METHOD_CARDS_CSS, CardStage, MethodCards
from tui.widgets.stage import Stage, show_stage
from tui.widgets.worker_errors import ReportsWorkerErrors

INTRO = (
    "Multi-factor authentication is on for your subscription. Select the Setup button below the "
    "method you wish to set up."
)
SECOND_METHOD = (
    "(Optional) To set up a second method, select the Setup button below the other method."
)
SET_UP = "Multi-factor authentication is set up."
CONTINUE_HINT = "Select Continue to finish signing in."
NO_METHODS = (
    "Multi-factor authentication is on for your subscription, but it allows no method to "
    "receive sign-in codes. Please contact your administrator."
)
CONTINUE_LABEL = "Continue"


class SetupStage(Stage):
    """What the Setup screen shows."""

    LOADING = "loading"
    """Reading which methods the subscription allows."""
    NO_METHODS = "no-methods"
    """The subscription allows none: only the status line and Escape."""
    CHOOSING = "choosing"
    """The cards: no method verified yet."""
    SET_UP = "set-up"
    """A method is verified: Continue is offered (and the other card, optionally)."""


class SetupScreen(OnMfaApp, ReportsWorkerErrors, Screen[None]):
    """Setting up the first (and optionally a second) MFA method during sign-in."""

    CSS_PATH = ["setup.tcss", METHOD_CARDS_CSS]
    SUB_TITLE = "Set up multi-factor authentication"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back to sign in", id="setup.back")]
    WORKER_FAILURES = {
        "setup-screen": "Reading the methods you can set up failed: {error}. Press Escape and "
        "sign in again.",
        "setup-recovery": "Making your recovery codes failed: {error}. Continue, and make them "
        "on the Security settings page.",
    }

    stage: reactive[SetupStage] = reactive(SetupStage.LOADING)
    """Where the screen is (one CSS class, see :class:`SetupStage`)."""

    def __init__(self, user: Account) -> None:
        """``user`` gave the right password and has to set up a method before going on."""
        super().__init__()
        self.user = user
        self.issuing_codes = False
        """The first set of recovery codes is being made (Continue waits for its screen)."""

    def watch_stage(self, old: SetupStage, new: SetupStage) -> None:
        show_stage(self, old, new)

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="setup") as body:
            body.can_focus = False  # Tab goes to the cards' fields and buttons
            with Horizontal(id="setup-top"):
                yield MessageLine(id="setup-status")
                yield Button(CONTINUE_LABEL, id="setup-continue", variant="success")
            yield Static(CODE_METHODS_NOTE, id="setup-note")
        yield Footer()

    def on_mount(self) -> None:
        self._load()

    @work(exclusive=True, group="setup-screen", exit_on_error=False)
    async def _load(self) -> None:
        choice = await factors.setup_choice(self.mfa_app.services, self.user)
        kinds = choice.kinds
        status = self.query_one("#setup-status", MessageLine)
        if not kinds:
            self.stage = SetupStage.NO_METHODS
            status.show(choice.email_note or NO_METHODS)
            return
        # Sent codes are weaker than an authenticator app: said only when one is on offer.
        self.set_class(not factors.shows_strength_note(kinds), "-no-note")
        await self.query_one("#setup", VerticalScroll).mount(
            MethodCards(self.user, kinds, id="setup-cards")
        )
        # The words point at the cards: they appear together.
        status.show(f"{INTRO} {choice.email_note}" if choice.email_note else INTRO)
        self.stage = SetupStage.CHOOSING

    @on(MethodCards.MethodVerified)
    def _method_verified(self, message: MethodCards.MethodVerified) -> None:
        cards = self.query_one(MethodCards)
        others_open = any(card.stage is not CardStage.DONE for card in cards.all_cards)
        parts = [SET_UP, SECOND_METHOD if others_open else "", CONTINUE_HINT]
        self.query_one("#setup-status", MessageLine).success(
            " ".join(part for part in parts if part)
        )
        self.stage = SetupStage.SET_UP
        self.query_one("#setup-continue", Button).focus()
        self.query_one("#setup", VerticalScroll).scroll_home(animate=False)
        self.issuing_codes = True
        self._recovery_codes()

    @work(exclusive=True, group="setup-recovery", exit_on_error=False)
    async def _recovery_codes(self) -> None:
        # The first verified method brings the set of recovery codes, shown once.
        try:
            problem = await offer_first_set(self.mfa_app, self.user, self._codes_kept)
        finally:
            self.issuing_codes = False
        if problem is not None:
            self.query_one("#setup-status", MessageLine).error(problem)

    def _codes_kept(self, _: None = None) -> None:
        self.query_one("#setup-continue", Button).focus()

    @on(Button.Pressed, "#setup-continue")
    def _continue(self) -> None:
        cards = self.query(MethodCards)
        if cards and cards.first().busy:
            return  # a second method is being checked: let it finish
        if self.issuing_codes:
            return  # the recovery codes are about to be shown
        self.mfa_app.complete_sign_in(self.user)

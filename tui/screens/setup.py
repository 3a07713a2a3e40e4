"""MFA setup: shown after a right password when MFA is required and no method is set up yet.

The user guide's "Setting up multi-factor authentication (users)", step by step: a card per method
the subscription allows, each with its **Setup** button; email: **Send me the code** (to the
account's address); SMS: the mobile number and **Send code**; then the code received and
**Verify**. Once one method is verified the screen says so and offers the other card's Setup (an
optional second method) or **Continue**, which finishes the sign-in (``MfaApp.complete_sign_in``).
The cards and the work behind them live in ``tui.widgets.method_cards``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from mfa import factors
from mfa.factors import CODE_METHODS_NOTE
from store.models import User
from tui.literal import literal
from tui.widgets.method_cards import DONE, MethodCards

if TYPE_CHECKING:
    from tui.app import MfaApp

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


class SetupScreen(Screen[None]):
    """Setting up the first (and optionally a second) MFA method during sign-in."""

    SUB_TITLE = "Set up multi-factor authentication"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back to sign in", id="setup.back")]

    def __init__(self, user: User) -> None:
        """``user`` gave the right password and has to set up a method before going on."""
        super().__init__()
        self.user = user
        self.status = ""
        """The line at the top right now (the intro, or what is set up and what comes next)."""

    @property
    def mfa_app(self) -> MfaApp:
        return cast("MfaApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="setup") as body:
            body.can_focus = False  # Tab goes to the cards' fields and buttons
            with Horizontal(id="setup-top"):
                yield Static(id="setup-status")
                yield Button(CONTINUE_LABEL, id="setup-continue", variant="success")
            yield Static(CODE_METHODS_NOTE, id="setup-note")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#setup-continue", Button).display = False
        self._show_status("")
        self._load()

    @work(exclusive=True, group="setup-screen", exit_on_error=False)
    async def _load(self) -> None:
        kinds = await factors.allowed_kinds(self.mfa_app.services, self.user)
        if not kinds:
            self._show_status(NO_METHODS)
            return
        self._show_status(INTRO)
        await self.query_one("#setup", VerticalScroll).mount(
            MethodCards(self.user, kinds, id="setup-cards")
        )

    def _show_status(self, text: str, *, success: bool = False) -> None:
        self.status = text
        status = self.query_one("#setup-status", Static)
        status.update(literal(text))
        status.set_class(success, "success")

    @on(MethodCards.MethodVerified)
    def _method_verified(self, message: MethodCards.MethodVerified) -> None:
        cards = self.query_one(MethodCards)
        others_open = any(card.stage != DONE for card in cards.cards)
        parts = [SET_UP, SECOND_METHOD if others_open else "", CONTINUE_HINT]
        self._show_status(" ".join(part for part in parts if part), success=True)
        button = self.query_one("#setup-continue", Button)
        button.display = True
        button.focus()
        self.query_one("#setup", VerticalScroll).scroll_home(animate=False)

    @on(Button.Pressed, "#setup-continue")
    def _continue(self) -> None:
        cards = self.query(MethodCards)
        if cards and cards.first().busy:
            return  # a second method is being checked: let it finish
        self.mfa_app.complete_sign_in(self.user)

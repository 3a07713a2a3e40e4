"""Method cards: how the Setup screen and the Security page set up email or SMS codes.

A :class:`MethodCard` shows one method and walks the user guide's steps: **Setup**, then for email
**Send me the code** (to the account's address, shown masked) or for SMS a mobile number and
**Send code**, then the code received and **Verify**.

:class:`MethodCards` holds a screen's cards side by side and does the work: sends and verifications
call ``mfa.factors`` in workers, one at a time, with the cards' buttons disabled meanwhile, so one
press sends one code and the screen keeps answering keys. After a send the card's send button
becomes "Send a new code", usable once the account may ask for another code; until then a
countdown, ticking every second by ``services.now()``, says how long is left. The cooldown belongs
to the account, so every open card follows it. Messages come from the domain and are shown
literally. A verified method is announced with :class:`MethodCards.MethodVerified`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker, WorkerState

from mfa import factors
from mfa.codes import describe_wait
from mfa.delivery import mask_email
from mfa.factors import KIND_NAMES, LiveCode, SendResult, VerifyResult
from store.models import User
from tui.literal import literal

if TYPE_CHECKING:
    from mfa.services import Services

CLOSED, OPEN, CODE, DONE = "closed", "open", "code", "done"
"""A card's stages: only its Setup button; asking where to send; a code sent, waiting for it;
verified."""

SETUP_LABEL = "Setup"
SEND_LABELS = {"email": "Send me the code", "sms": "Send code"}
RESEND_LABEL = "Send a new code"
SENDING_LABEL = "Sending…"
VERIFY_LABEL = "Verify"
VERIFYING_LABEL = "Verifying…"
CODE_PROMPT = "Enter the code you received"
PHONE_PROMPT = "Mobile phone number"
PHONE_PLACEHOLDER = "+1 415 555 0100"

ABOUT = {
    "email": "The code will be sent to the email address for your account.",
    "sms": "The code will be sent by text message to your mobile phone.",
}
"""What each card says before its Setup button is selected."""

SEND_GROUP = "setup-send"
VERIFY_GROUP = "setup-verify"
LOAD_GROUP = "setup-load"
COUNTDOWN_SECONDS = 1.0


def email_destination(account_email: str) -> str:
    """The email card's line once opened: where "Send me the code" sends."""
    return f"The code will be sent to {mask_email(account_email)}."


def countdown_text(seconds_left: float) -> str:
    """The line under a send button while the account has to wait before another code."""
    return f"You can ask for another code in {describe_wait(seconds_left)}."


def pending_code_text(live: LiveCode) -> str:
    """A card reopened while a setup code it sent earlier still works."""
    return f"A code was sent to {live.masked_destination}. Enter it, or send a new code."


class MethodCard(Vertical):
    """One method kind's card: Setup, where to send, the code, Verify.

    The card only shows; :class:`MethodCards` reacts to its buttons and fields. Widget ids carry
    the kind (``#sms-phone``, ``#email-send``, ...), so a screen with both cards has unique ids.
    """

    def __init__(self, kind: str, account_email: str) -> None:
        """Args:
        kind: ``"email"`` or ``"sms"``.
        account_email: The account's address (the email card shows it masked).
        """
        super().__init__(id=f"{kind}-card", classes="method-card")
        self.kind = kind
        self.account_email = account_email
        self.stage = CLOSED
        """One of CLOSED, OPEN, CODE, DONE."""
        self.message = ""
        """The text of the card's message line (empty when there is none)."""
        self.border_title = KIND_NAMES[kind]

    @property
    def send_label(self) -> str:
        """The send button's label when idle: the guide's words, or "Send a new code" after a send."""
        return RESEND_LABEL if self.stage == CODE else SEND_LABELS[self.kind]

    def compose(self) -> ComposeResult:
        kind = self.kind
        yield Static(ABOUT[kind], classes="card-about")
        yield Button(SETUP_LABEL, id=f"{kind}-setup", classes="card-setup", variant="primary")
        with Vertical(classes="card-form"):
            if kind == "email":
                yield Static(literal(email_destination(self.account_email)), id="email-address")
            else:
                yield Label(PHONE_PROMPT, classes="card-label")
                yield Input(placeholder=PHONE_PLACEHOLDER, id="sms-phone", classes="card-phone")
            with Horizontal(classes="card-send-row"):
                yield Button(
                    SEND_LABELS[kind], id=f"{kind}-send", classes="card-send", variant="primary"
                )
                yield Static(id=f"{kind}-countdown", classes="card-countdown")
        yield Static(id=f"{kind}-message", classes="card-message")
        with Vertical(classes="card-code"):
            yield Label(CODE_PROMPT, classes="card-label")
            with Horizontal(classes="card-code-row"):
                yield Input(
                    placeholder="6 digits",
                    restrict=r"[0-9]*",
                    max_length=6,
                    id=f"{kind}-code",
                    classes="card-code-input",
                )
                yield Button(VERIFY_LABEL, id=f"{kind}-verify", classes="card-verify")

    def on_mount(self) -> None:
        self._show_stage()
        self.show_message("")
        self.show_countdown(None)

    # ---- parts -------------------------------------------------------------------------------

    @property
    def setup_button(self) -> Button:
        return self.query_one(".card-setup", Button)

    @property
    def send_button(self) -> Button:
        return self.query_one(".card-send", Button)

    @property
    def verify_button(self) -> Button:
        return self.query_one(".card-verify", Button)

    @property
    def code_input(self) -> Input:
        return self.query_one(".card-code-input", Input)

    @property
    def phone_text(self) -> str:
        """What was typed as the mobile number (empty for the email card)."""
        return self.query_one(".card-phone", Input).value if self.kind == "sms" else ""

    # ---- stages ------------------------------------------------------------------------------

    def open(self) -> None:
        """Setup was selected: ask where to send (the address is the account's for email)."""
        if self.stage == CLOSED:
            self.stage = OPEN
            self._show_stage()
        self.focus_next_step()

    def focus_next_step(self) -> None:
        """Put the focus where the person goes next in this card's stage."""
        if self.stage == CLOSED:
            self.setup_button.focus()
        elif self.stage == OPEN:
            if self.kind == "sms":
                self.query_one(".card-phone", Input).focus()
            else:
                self.send_button.focus()
        elif self.stage == CODE:
            self.code_input.focus()

    def show_sent(self, result: SendResult) -> None:
        """A code went out: ask for it."""
        self.stage = CODE
        self._show_stage()
        self.show_message(result.message, "notice")
        self.code_input.clear()
        self.code_input.focus()

    def show_pending(self, live: LiveCode) -> None:
        """A code this card sent earlier still works: ask for it (after the screen reopened)."""
        self.stage = CODE
        self._show_stage()
        self.show_message(pending_code_text(live), "notice")

    def show_send_refused(self, result: SendResult) -> None:
        """Nothing was sent: say why (the number, the mail server, the cooldown, ...)."""
        self.show_message(result.message, "error")
        if result.status == "invalid_number":
            self.query_one(".card-phone", Input).focus()

    def show_verify_refused(self, result: VerifyResult) -> None:
        """The code wasn't accepted: say why and how many tries are left."""
        self.show_message(result.message, "error")
        self.code_input.clear()
        if result.needs_new_code and not self.send_button.disabled:
            self.send_button.focus()
        else:
            self.code_input.focus()

    def show_done(self, result: VerifyResult) -> None:
        """The method is verified."""
        self.stage = DONE
        self._show_stage()
        self.show_message(result.message, "success")

    def show_message(self, text: str, style: str = "notice") -> None:
        """Show ``text`` literally in the card's message line; ``style``: error, notice, success."""
        self.message = text
        line = self.query_one(".card-message", Static)
        line.update(literal(text))
        for name in ("error", "notice", "success"):
            line.set_class(name == style, name)
        line.display = bool(text)

    def show_countdown(self, seconds_left: float | None) -> None:
        """Show how long until another code may be sent (None: now, and the line goes away)."""
        line = self.query_one(".card-countdown", Static)
        waiting = seconds_left is not None and self.stage in (OPEN, CODE)
        line.update(countdown_text(seconds_left) if waiting and seconds_left else "")
        line.display = waiting

    def set_enabled(self, *, busy: str | None, may_send: bool) -> None:
        """Enable what can be used now.

        Args:
            busy: ``"send"`` or ``"verify"`` while this card's request runs, ``"other"`` while
                another card's does, None when nothing runs.
            may_send: The account may ask for another code now.
        """
        self.setup_button.disabled = busy is not None
        self.send_button.disabled = busy is not None or not may_send
        self.send_button.label = SENDING_LABEL if busy == "send" else self.send_label
        self.verify_button.disabled = busy is not None
        self.verify_button.label = VERIFYING_LABEL if busy == "verify" else VERIFY_LABEL

    def _show_stage(self) -> None:
        stage = self.stage
        self.set_class(stage == DONE, "-done")
        self.query_one(".card-about").display = stage == CLOSED
        self.setup_button.display = stage == CLOSED
        self.query_one(".card-form").display = stage in (OPEN, CODE)
        self.query_one(".card-code").display = stage == CODE
        self.send_button.label = self.send_label
        if stage == DONE:
            self.show_countdown(None)


class MethodCards(Horizontal):
    """The cards of one screen, side by side; runs their sends and verifications."""

    class MethodVerified(Message):
        """A method was verified: set up, or its phone number changed."""

        def __init__(self, kind: str, result: VerifyResult) -> None:
            super().__init__()
            self.kind = kind
            """``"email"`` or ``"sms"``."""
            self.result = result
            """The domain's verdict; ``result.message`` says where codes go now."""

    def __init__(
        self,
        user: User,
        kinds: Sequence[str],
        *,
        open_cards: bool = False,
        id: str | None = None,
    ) -> None:
        """Args:
        user: Whose methods these are.
        kinds: The kinds to offer, in display order. Setting SMS up again on an account that
            has it changes the number (verified anew; until then the old number stays).
        open_cards: Start past the Setup button (the method was chosen already).
        id: The widget id.
        """
        super().__init__(id=id, classes="method-cards")
        self.user = user
        self.kinds = tuple(kinds)
        self.open_cards = open_cards
        self.resend_at: float | None = None
        """When the account may ask for another code (None: now)."""
        self.busy_card: MethodCard | None = None
        """The card whose request is running, if any."""
        self.busy_action: str | None = None
        """``"send"`` or ``"verify"`` while a request runs."""
        self._last_request_card: MethodCard | None = None
        """Where an unexpected failure of the latest request is reported."""

    @property
    def busy(self) -> bool:
        """A send or a verification is running."""
        return self.busy_card is not None

    @property
    def services(self) -> Services:
        return cast("Services", self.app.services)  # type: ignore[attr-defined]

    @property
    def cards(self) -> list[MethodCard]:
        return list(self.query(MethodCard))

    def card(self, kind: str) -> MethodCard | None:
        """The card of ``kind``, if this container shows one."""
        return next((card for card in self.cards if card.kind == kind), None)

    def compose(self) -> ComposeResult:
        for kind in self.kinds:
            yield MethodCard(kind, self.user.email)

    def on_mount(self) -> None:
        if self.open_cards:
            for card in self.cards:
                card.open()
        elif self.cards:
            self.cards[0].setup_button.focus()
        self.refresh_countdown()
        self.set_interval(COUNTDOWN_SECONDS, self.refresh_countdown, name="resend-countdown")
        self._load()

    @work(exclusive=True, group=LOAD_GROUP, exit_on_error=False)
    async def _load(self) -> None:
        """Pick up where an earlier visit stopped: a cooldown running, a setup code still live."""
        services = self.services
        self.resend_at = await factors.next_send_at(services, self.user)
        live = await factors.live_code(services, self.user)
        if live is not None and live.purpose == "setup":
            card = self.card(live.kind)
            if card is not None and card.stage != DONE:
                card.show_pending(live)
                card.focus_next_step()
        self.refresh_countdown()

    # ---- the countdown -----------------------------------------------------------------------

    def _seconds_to_resend(self) -> float | None:
        """How long until the account may ask for another code; None when it may now."""
        if self.resend_at is None:
            return None
        seconds_left = self.resend_at - self.services.now()
        if seconds_left <= 0:
            self.resend_at = None
            return None
        return seconds_left

    def refresh_countdown(self) -> None:
        """Update the countdowns and the send buttons from ``services.now()`` (every second)."""
        seconds_left = self._seconds_to_resend()
        for card in self.cards:
            card.show_countdown(seconds_left)
            busy = None
            if self.busy_card is card:
                busy = self.busy_action
            elif self.busy_card is not None:
                busy = "other"
            card.set_enabled(busy=busy, may_send=seconds_left is None)

    def _set_busy(self, card: MethodCard | None, action: str | None = None) -> None:
        self.busy_card = card
        self.busy_action = action
        if card is not None:
            self._last_request_card = card
        if self.is_attached:
            self.refresh_countdown()

    # ---- requests ----------------------------------------------------------------------------

    def _card_of(self, widget: Widget) -> MethodCard:
        return widget.query_ancestor(MethodCard)

    @on(Button.Pressed, ".card-setup")
    def _setup_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        card = self._card_of(event.button)
        card.open()
        self.refresh_countdown()

    @on(Button.Pressed, ".card-send")
    @on(Input.Submitted, ".card-phone")
    def _send_pressed(self, event: Button.Pressed | Input.Submitted) -> None:
        event.stop()
        card = self._card_of(event.control)
        if self.busy or card.stage not in (OPEN, CODE):
            return  # one press, one code: nothing while a request runs
        seconds_left = self._seconds_to_resend()
        if seconds_left is not None:
            # Enter in the phone field while the button waits: say why nothing is sent.
            card.show_message(countdown_text(seconds_left), "error")
            return
        self._set_busy(card, "send")
        self._send(card, card.phone_text)

    @work(exclusive=True, group=SEND_GROUP, exit_on_error=False)
    async def _send(self, card: MethodCard, phone_text: str) -> None:
        services = self.services
        try:
            if card.kind == "email":
                result = await factors.start_email_setup(services, self.user)
            else:
                result = await factors.start_sms_setup(services, self.user, phone_text)
        finally:
            self._set_busy(None)
        if result.ok or result.resend_available_at is not None:
            self.resend_at = result.resend_available_at
        if result.ok:
            card.show_sent(result)
        else:
            card.show_send_refused(result)
        self.refresh_countdown()

    @on(Button.Pressed, ".card-verify")
    @on(Input.Submitted, ".card-code-input")
    def _verify_pressed(self, event: Button.Pressed | Input.Submitted) -> None:
        event.stop()
        card = self._card_of(event.control)
        if self.busy or card.stage != CODE:
            return
        self._set_busy(card, "verify")
        self._verify(card, card.code_input.value)

    @work(exclusive=True, group=VERIFY_GROUP, exit_on_error=False)
    async def _verify(self, card: MethodCard, code: str) -> None:
        try:
            result = await factors.confirm_setup(self.services, self.user, card.kind, code)
        finally:
            self._set_busy(None)
        if result.ok:
            card.show_done(result)
            self.post_message(self.MethodVerified(card.kind, result))
        else:
            card.show_verify_refused(result)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        group = event.worker.group
        if group not in (SEND_GROUP, VERIFY_GROUP, LOAD_GROUP):
            return
        self._set_busy(None)
        what = {SEND_GROUP: "Sending the code", VERIFY_GROUP: "Checking the code"}.get(
            group, "Reading your methods"
        )
        target = self._last_request_card or (self.cards[0] if self.cards else None)
        if target is not None:
            target.show_message(
                f"{what} failed: {event.worker.error}. Try again, or tell your administrator.",
                "error",
            )

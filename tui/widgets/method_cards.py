"""Method cards: how the Setup screen and the Security page set up email, SMS or an authenticator app.

A :class:`MethodCard` shows one method and walks the user guide's steps: **Setup**, then for email
**Send me the code** (to the account's address, shown masked) or for SMS a mobile number and
**Send code**, then the code received and **Verify**. Its :class:`CardStage` is a reactive that sets
one CSS class on the card (``-closed``, ``-open``, ``-code``, ``-done``); ``method_cards.tcss``
(beside this module, :data:`METHOD_CARDS_CSS`) decides what each stage shows.

:class:`MethodCards` holds a screen's cards side by side and does the work: sends and verifications
call ``mfa.factors`` in workers, one at a time, with the cards' buttons disabled meanwhile, so one
press sends one code and the screen keeps answering keys. After a send the card's send button
becomes "Send a new code", usable once another code may go to that method; until then a
:class:`~tui.widgets.countdown.Countdown` on the card says how long is left. The cooldown belongs
to the method (``mfa.sending``): setting up a second method right after the first sends at once.
Messages come from the domain and are shown literally in the card's
:class:`~tui.widgets.message_line.MessageLine`. A verified method is announced with
:class:`MethodCards.MethodVerified`.

The authenticator app has a :class:`TotpCard` (below the others, full width): nothing is sent, so
its **Setup** makes a key (``mfa.totp.start_totp_setup``) and opens
``tui.screens.authenticator.AuthenticatorSetupScreen`` with the QR code, the key, the code field
and **Verify**; the card is done when that screen comes back verified.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static

from mfa import factors, sending, totp
from mfa.accounts import Account
from mfa.delivery import mask_email
from mfa.factors import CODE_KINDS, KIND_NAMES, LiveCode, VerifyResult
from mfa.reauth import ReauthRequired
from mfa.sending import SendResult
from mfa.wording import resend_wait_sentence
from tui.literal import literal
from tui.screens.authenticator import AuthenticatorSetupScreen
from tui.widgets.code_input import CodeInput
from tui.widgets.countdown import Countdown, CountdownFinished
from tui.widgets.message_line import MessageLine, Severity
from tui.widgets.stage import Stage, show_stage
from tui.widgets.worker_errors import TRY_AGAIN, ReportsWorkerErrors

if TYPE_CHECKING:
    from mfa.services import Services

METHOD_CARDS_CSS = Path(__file__).with_name("method_cards.tcss")
"""The cards' styles: each screen that shows cards names this file in its ``CSS_PATH`` (Textual
reads it once, when the first of them is shown)."""


class CardStage(Stage):
    """A card's stages."""

    CLOSED = "closed"
    """Only its Setup button."""
    OPEN = "open"
    """Asking where to send."""
    CODE = "code"
    """A code was sent: waiting for it."""
    DONE = "done"
    """Verified."""


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
    "totp": "Codes come from an app on your phone (Google Authenticator, Microsoft "
    "Authenticator, FreeOTP, ...): scan a QR code, nothing is sent.",
}
"""What each card says before its Setup button is selected."""

SEND_GROUP = "setup-send"
VERIFY_GROUP = "setup-verify"
LOAD_GROUP = "setup-load"
TOTP_GROUP = "setup-totp"


def email_destination(account_email: str) -> str:
    """The email card's line once opened: where "Send me the code" sends."""
    return f"The code will be sent to {mask_email(account_email)}."


def pending_code_text(live: LiveCode) -> str:
    """A card reopened while a setup code it sent earlier still works."""
    return f"A code was sent to {live.masked_destination}. Enter it, or send a new code."


class MethodCard(Vertical):
    """One method kind's card: Setup, where to send, the code, Verify.

    The card only shows; :class:`MethodCards` reacts to its buttons and fields. Widget ids carry
    the kind (``#sms-phone``, ``#email-send``, ...), so a screen with both cards has unique ids.
    """

    stage: reactive[CardStage] = reactive(CardStage.CLOSED)
    """Where the card is in the guide's steps (one CSS class, see :class:`CardStage`)."""

    def __init__(self, kind: str, account_email: str) -> None:
        """Args:
        kind: ``"email"`` or ``"sms"``.
        account_email: The account's address (the email card shows it masked).
        """
        super().__init__(id=f"{kind}-card", classes="method-card")
        self.kind = kind
        self.account_email = account_email
        self.border_title = KIND_NAMES[kind]

    def watch_stage(self, old: CardStage, new: CardStage) -> None:
        show_stage(self, old, new)

    @property
    def send_label(self) -> str:
        """The send button's idle label: the guide's words, or "Send a new code" after a send."""
        return RESEND_LABEL if self.stage is CardStage.CODE else SEND_LABELS[self.kind]

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
                yield Countdown(
                    resend_wait_sentence, id=f"{kind}-countdown", classes="card-countdown"
                )
        yield MessageLine(id=f"{kind}-message", classes="card-message")
        with Vertical(classes="card-code"):
            yield Label(CODE_PROMPT, classes="card-label")
            with Horizontal(classes="card-code-row"):
                yield CodeInput(id=f"{kind}-code", classes="card-code-input")
                yield Button(VERIFY_LABEL, id=f"{kind}-verify", classes="card-verify")

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
    def countdown(self) -> Countdown:
        return self.query_one(".card-countdown", Countdown)

    @property
    def message_line(self) -> MessageLine:
        return self.query_one(".card-message", MessageLine)

    @property
    def phone_text(self) -> str:
        """What was typed as the mobile number (empty for the email card)."""
        return self.query_one(".card-phone", Input).value if self.kind == "sms" else ""

    # ---- stages ------------------------------------------------------------------------------

    def open(self) -> None:
        """Setup was selected: ask where to send (the address is the account's for email)."""
        if self.stage is CardStage.CLOSED:
            self.stage = CardStage.OPEN
        self.focus_next_step()

    def focus_next_step(self) -> None:
        """Put the focus where the person goes next in this card's stage."""
        if self.stage is CardStage.CLOSED:
            target: Widget = self.setup_button
        elif self.stage is CardStage.OPEN:
            target = self.query_one(".card-phone") if self.kind == "sms" else self.send_button
        elif self.stage is CardStage.CODE:
            target = self.code_input
        else:
            return
        _focus(target)

    def show_sent(self, result: SendResult) -> None:
        """A code went out: ask for it."""
        self.stage = CardStage.CODE
        self.show_message(result.message, "notice")
        self.code_input.clear()

    def show_pending(self, live: LiveCode) -> None:
        """A code this card sent earlier still works: ask for it (after the screen reopened)."""
        self.stage = CardStage.CODE
        self.show_message(pending_code_text(live), "notice")

    def show_send_refused(self, result: SendResult) -> None:
        """Nothing was sent: say why (the number, the mail server, the cooldown, ...)."""
        self.show_message(result.message, "error")

    def focus_after_send_refused(self, result: SendResult) -> None:
        """After a refusal the person fixes the number, or tries the send button again."""
        if result.status == "invalid_number":
            _focus(self.query_one(".card-phone"))
        elif not self.send_button.disabled:
            _focus(self.send_button)
        else:
            self.focus_next_step()

    def show_verify_refused(self, result: VerifyResult) -> None:
        """The code wasn't accepted: say why and how many tries are left."""
        self.show_message(result.message, "error")
        self.code_input.clear()
        if result.needs_new_code and not self.send_button.disabled:
            _focus(self.send_button)
        else:
            _focus(self.code_input)

    def show_done(self, result: VerifyResult) -> None:
        """The method is verified."""
        self.stage = CardStage.DONE
        self.countdown.stop()
        self.show_message(result.message, "success")

    def show_message(self, text: str, severity: Severity = "notice") -> None:
        """Show ``text`` literally in the card's message line."""
        self.message_line.show(text, severity)

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


class TotpCard(Vertical):
    """The authenticator app's card: what it is and **Setup**; done once the app is verified.

    Its stages are :class:`CardStage`'s CLOSED and DONE (the QR code and the code field are on a
    screen of their own, which needs the terminal's full height).
    """

    kind = totp.KIND

    stage: reactive[CardStage] = reactive(CardStage.CLOSED)
    """CLOSED until the app is verified, then DONE (one CSS class)."""

    def __init__(self) -> None:
        super().__init__(id="totp-card", classes="method-card totp-card")
        self.border_title = KIND_NAMES[totp.KIND]

    def watch_stage(self, old: CardStage, new: CardStage) -> None:
        show_stage(self, old, new)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="totp-card-row"):
            yield Static(ABOUT[totp.KIND], classes="card-about")
            yield Button(SETUP_LABEL, id="totp-setup", classes="card-setup", variant="primary")
        yield MessageLine(id="totp-card-message", classes="card-message")

    @property
    def setup_button(self) -> Button:
        return self.query_one(".card-setup", Button)

    @property
    def message_line(self) -> MessageLine:
        return self.query_one(".card-message", MessageLine)

    def show_message(self, text: str, severity: Severity = "notice") -> None:
        """Show ``text`` literally in the card's message line."""
        self.message_line.show(text, severity)

    def show_done(self, result: VerifyResult) -> None:
        """The app is verified."""
        self.stage = CardStage.DONE
        self.show_message(result.message, "success")

    def focus_next_step(self) -> None:
        if self.stage is CardStage.CLOSED:
            _focus(self.setup_button)


def _focus(widget: Widget) -> None:
    if not widget.disabled:
        widget.focus()


class MethodCards(ReportsWorkerErrors, Vertical):
    """The cards of one screen: email and SMS side by side, the authenticator app below them;
    runs their sends and verifications."""

    WORKER_FAILURES = {
        SEND_GROUP: f"Sending the code failed: {{error}}. {TRY_AGAIN}",
        VERIFY_GROUP: f"Checking the code failed: {{error}}. {TRY_AGAIN}",
        LOAD_GROUP: f"Reading your methods failed: {{error}}. {TRY_AGAIN}",
        TOTP_GROUP: f"Making a key for the app failed: {{error}}. {TRY_AGAIN}",
    }

    class MethodVerified(Message):
        """A method was verified: set up, or its phone number changed."""

        def __init__(self, kind: str, result: VerifyResult) -> None:
            super().__init__()
            self.kind = kind
            """``"email"``, ``"sms"`` or ``"totp"``."""
            self.result = result
            """The domain's verdict; ``result.message`` says where codes go now."""

    def __init__(
        self,
        user: Account,
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
        self.resend_at: dict[str, float] = {}
        """When another code may go to each kind's method (a kind absent: now)."""
        self.busy_card: MethodCard | TotpCard | None = None
        """The card whose request is running, if any."""
        self.busy_action: str | None = None
        """``"send"`` or ``"verify"`` while a request runs."""
        self._last_request_card: MethodCard | TotpCard | None = None
        """Where an unexpected failure of the latest request is reported."""

    @property
    def busy(self) -> bool:
        """A send or a verification is running."""
        return self.busy_card is not None

    @property
    def services(self) -> Services:
        return cast("Services", self.app.services)  # type: ignore[attr-defined]

    @property
    def attempt_id(self) -> str:
        """The sign-in attempt: its re-authentication grant allows the setup, and its codes."""
        return cast(str, self.app.attempt_id)  # type: ignore[attr-defined]

    @property
    def cards(self) -> list[MethodCard]:
        """The cards of methods a code is sent to (email, SMS)."""
        return list(self.query(MethodCard))

    @property
    def totp_card(self) -> TotpCard | None:
        """The authenticator app's card, if offered."""
        found = self.query(TotpCard)
        return found.first() if found else None

    @property
    def all_cards(self) -> list[MethodCard | TotpCard]:
        """Every card, in display order."""
        found: list[MethodCard | TotpCard] = list(self.cards)
        if self.totp_card is not None:
            found.append(self.totp_card)
        return found

    def card(self, kind: str) -> MethodCard | None:
        """The card of ``kind``, if this container shows one."""
        return next((card for card in self.cards if card.kind == kind), None)

    def compose(self) -> ComposeResult:
        code_kinds = [kind for kind in self.kinds if kind in CODE_KINDS]
        if code_kinds:
            with Horizontal(classes="method-card-row"):
                for kind in code_kinds:
                    yield MethodCard(kind, self.user.email)
        if totp.KIND in self.kinds:
            yield TotpCard()

    def on_mount(self) -> None:
        if self.open_cards:
            for card in self.cards:
                card.open()
            if not self.cards and self.totp_card is not None:
                self._start_totp(self.totp_card)
        elif self.all_cards:
            self.all_cards[0].setup_button.focus()
        self._refresh_buttons()
        self._load()

    @work(exclusive=True, group=LOAD_GROUP, exit_on_error=False)
    async def _load(self) -> None:
        """Pick up where an earlier visit stopped: a cooldown running, a setup code still live."""
        services = self.services
        for card in self.cards:
            self._wait_until(card.kind, await sending.next_send_at(services, self.user, card.kind))
        live = await factors.live_code(services, self.user, attempt=self.attempt_id)
        if live is not None and live.purpose == "setup":
            card = self.card(live.kind)
            if card is not None and card.stage is not CardStage.DONE:
                card.show_pending(live)
                self._refresh_buttons()
                card.focus_next_step()

    # ---- the cooldown ------------------------------------------------------------------------

    def _wait_until(self, kind: str, resend_at: float | None) -> None:
        """Another code may go to ``kind``'s method at ``resend_at`` (None: now)."""
        if resend_at is None:
            self.resend_at.pop(kind, None)
        else:
            self.resend_at[kind] = resend_at
        card = self.card(kind)
        if card is not None:
            card.countdown.count_to(resend_at)
        self._refresh_buttons()

    @on(CountdownFinished, ".card-countdown")
    def _cooldown_over(self, event: CountdownFinished) -> None:
        event.stop()
        kind = self._card_of(event.countdown).kind
        if kind in self.resend_at and self._seconds_to_resend(kind) is None:
            self._wait_until(kind, None)

    def _seconds_to_resend(self, kind: str) -> float | None:
        """How long until another code may go to ``kind``'s method; None when it may now."""
        resend_at = self.resend_at.get(kind)
        if resend_at is None:
            return None
        seconds_left = resend_at - self.services.now()
        return seconds_left if seconds_left > 0 else None

    def _refresh_buttons(self) -> None:
        """Enable what can be used now, on every card."""
        for card in self.cards:
            busy = None
            if self.busy_card is card:
                busy = self.busy_action
            elif self.busy_card is not None:
                busy = "other"
            card.set_enabled(busy=busy, may_send=self._seconds_to_resend(card.kind) is None)
        if self.totp_card is not None:
            self.totp_card.setup_button.disabled = self.busy_card is not None

    def _set_busy(self, card: MethodCard | TotpCard | None, action: str | None = None) -> None:
        self.busy_card = card
        self.busy_action = action
        if card is not None:
            self._last_request_card = card
        if self.is_attached:
            self._refresh_buttons()

    # ---- requests ----------------------------------------------------------------------------

    def _card_of(self, widget: Widget) -> MethodCard:
        return widget.query_ancestor(MethodCard)

    @on(Button.Pressed, ".card-setup")
    def _setup_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "totp-setup":
            if self.totp_card is not None and not self.busy:
                self._start_totp(self.totp_card)
            return
        card = self._card_of(event.button)
        card.open()
        self._refresh_buttons()

    # ---- the authenticator app -----------------------------------------------------------------

    def _start_totp(self, card: TotpCard) -> None:
        self._set_busy(card, "setup")
        self._make_totp_key(card)

    @work(exclusive=True, group=TOTP_GROUP, exit_on_error=False)
    async def _make_totp_key(self, card: TotpCard) -> None:
        try:
            setup = await totp.start_totp_setup(
                self.services, self.user.id, attempt=self.attempt_id
            )
        except ReauthRequired as error:
            # The re-authentication ran out while the card was open: no key was made.
            card.show_message(str(error), "error")
            return
        finally:
            self._set_busy(None)
        if not setup.ok:
            card.show_message(setup.message, "error")
            card.focus_next_step()
            return
        card.message_line.clear()
        self.app.push_screen(
            AuthenticatorSetupScreen(self.user, setup), lambda result: self._totp_done(card, result)
        )

    def _totp_done(self, card: TotpCard, result: VerifyResult | None) -> None:
        if result is None:
            card.focus_next_step()  # closed before verifying: Setup again makes a new key
            return
        card.show_done(result)
        self.post_message(self.MethodVerified(card.kind, result))

    @on(Button.Pressed, ".card-send")
    @on(Input.Submitted, ".card-phone")
    def _send_pressed(self, event: Button.Pressed | Input.Submitted) -> None:
        event.stop()
        card = self._card_of(event.control)
        if self.busy or card.stage not in (CardStage.OPEN, CardStage.CODE):
            return  # one press, one code: nothing while a request runs
        seconds_left = self._seconds_to_resend(card.kind)
        if seconds_left is not None:
            # Enter in the phone field while the button waits: say why nothing is sent.
            card.show_message(resend_wait_sentence(seconds_left), "error")
            return
        self._set_busy(card, "send")
        self._send(card, card.phone_text)

    @work(exclusive=True, group=SEND_GROUP, exit_on_error=False)
    async def _send(self, card: MethodCard, phone_text: str) -> None:
        services = self.services
        try:
            if card.kind == "email":
                result = await sending.start_email_setup(
                    services, self.user, attempt=self.attempt_id
                )
            else:
                result = await sending.start_sms_setup(
                    services, self.user, phone_text, attempt=self.attempt_id
                )
        except ReauthRequired as error:
            # The re-authentication ran out while the card was open: nothing was sent.
            card.show_message(str(error), "error")
            return
        finally:
            self._set_busy(None)
        if result.ok:
            card.show_sent(result)
        else:
            card.show_send_refused(result)
        if result.ok or result.resend_available_at is not None:
            self._wait_until(card.kind, result.resend_available_at)
        else:
            self._refresh_buttons()
        if result.ok:
            card.focus_next_step()
        else:
            card.focus_after_send_refused(result)

    @on(Button.Pressed, ".card-verify")
    @on(Input.Submitted, ".card-code-input")
    def _verify_pressed(self, event: Button.Pressed | Input.Submitted) -> None:
        event.stop()
        card = self._card_of(event.control)
        if self.busy or card.stage is not CardStage.CODE:
            return
        self._set_busy(card, "verify")
        self._verify(card, card.code_input.value)

    @work(exclusive=True, group=VERIFY_GROUP, exit_on_error=False)
    async def _verify(self, card: MethodCard, code: str) -> None:
        try:
            result = await factors.confirm_setup(
                self.services, self.user, card.kind, code, attempt=self.attempt_id
            )
        finally:
            self._set_busy(None)
        if result.ok:
            card.show_done(result)
            self.post_message(self.MethodVerified(card.kind, result))
        else:
            card.show_verify_refused(result)

    def worker_failed(self, group: str, text: str) -> None:
        self._set_busy(None)
        target = self._last_request_card or (self.all_cards[0] if self.all_cards else None)
        if target is not None:
            target.show_message(text, "error")
            if (
                isinstance(target, MethodCard)
                and group == SEND_GROUP
                and not target.send_button.disabled
            ):
                _focus(target.send_button)  # try the send again
            else:
                target.focus_next_step()

"""The Verify screen: the second step of signing in with multi-factor authentication.

The user guide's "Signing in with multi-factor authentication (users)": after the password, "the
verification code will be sent to the last method you used. To use a different method, select the
drop-down arrow and choose the other method. Enter the code you receive and select Verify."

What the screen does (the rules themselves live in ``mfa.factors`` and ``mfa.codes``):

- On arrival it sends one code to the default method (the preferred one, else the last used),
  unless a sign-in code that still works was sent a moment ago (the person went back and signed
  in again): then it shows where that code went and sends nothing.
- The dropdown (a ``Select``) lists the user's methods; choosing another one sends one code there,
  at once (the resend cooldown is per method). ``Select.Changed`` also fires when the dropdown is
  mounted with its value: a change to the method already chosen is ignored, so nothing is sent
  twice. The lines above and below the form always describe the method now chosen.
- The authenticator app is one of the choices (and can be the default): nothing is sent, the
  screen says "Enter the code from your authenticator app." and Resend is not offered (the
  screen's ``-app`` class).
- **Resend code** sends again to the chosen method. After a send that succeeded it counts down
  (30 s by default) on its label; a failed send starts no countdown and says why. A send asked
  for (on arrival or by a switch) while that countdown runs goes out when it ends, and the screen
  counts down to it ("We'll send a code to ... in 12 s.") instead of refusing.
- **Verify** (or Enter in the code field) checks the code in a worker; the button is disabled
  meanwhile. Wrong, expired, replaced and void codes get the domain's message as it is; after too
  many failures the account waits, and Verify counts down to the moment it may be used again.
- Success hands over to the app (``complete_sign_in``), which opens the home screen.
- Escape goes back to the sign-in screen, which abandons the half-finished sign-in.
- "Use a recovery code" is the dropdown's last choice while the user has unused codes: nothing
  is sent, the field takes a recovery code, and Verify uses it up (``mfa.recovery``); the home
  screen then says how many are left.

The countdowns are widgets (``tui.widgets.countdown``) reading ``services.now()``: Resend and Verify
count on their labels, and a line under the form counts to a send that waits. The screen only
points them at the moments the account waits for, and acts when one of them finishes.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static

from mfa import factors, recovery, sending
from mfa.accounts import Account
from mfa.codes import VerifyResult
from mfa.factors import APP_CODE_LINE, Method
from mfa.sending import SendResult
from mfa.wording import countdown_words, last_code_sentence
from tui.literal import literal
from tui.widgets.code_input import CODE_CHARACTERS, CODE_LENGTH, CodeInput
from tui.widgets.countdown import Countdown, CountdownButton, CountdownFinished
from tui.widgets.message_line import MessageLine
from tui.widgets.stage import Stage, show_stage
from tui.widgets.worker_errors import ReportsWorkerErrors

if TYPE_CHECKING:
    from mfa.services import Services
    from tui.app import MfaApp

TITLE = "Verify it's you"
METHOD_LABEL = "Send the code to"
SWITCH_HINT = "To use a different method, select the drop-down arrow and choose the other method."
"""From the user guide, word for word."""
CODE_PROMPT = "Enter the code you receive and select Verify."
"""From the user guide, word for word."""
VERIFY_LABEL = "Verify"
CHECKING_LABEL = "Checking…"
RESEND_LABEL = "Resend code"
TRY_AGAIN_NOW = "You can try again now."
TRY_AGAIN_WITH_NEW_CODE = "You can try again now, with a new code: select Resend code."
USE_RECOVERY_CODE = "Use a recovery code"
RECOVERY_CHOICE = -1
"""The dropdown's value for "Use a recovery code" (method ids are positive)."""
RECOVERY_PROMPT = "Enter one of your recovery codes (like 7KQM-2XWD-9PLT-C4RB) and select Verify."
NO_METHODS = (
    "You have no method to receive a code any more. Press Escape to go back, and ask an "
    "administrator for help."
)


def sent_to(masked: str) -> str:
    """The line that says where the live code went (the domain's words for a send)."""
    return f"We sent a code to {masked}."


def sending_to(masked: str) -> str:
    return f"Sending a code to {masked}…"


def sending_in(masked: str, seconds: float) -> str:
    """The message while a send waits for the resend cooldown."""
    return f"We'll send a code to {masked} in {countdown_words(seconds)}."


class VerifyStage(Stage):
    """Where the Verify screen is."""

    LOADING = "loading"
    """Reading the user's methods (and sending the first code)."""
    READY = "ready"
    """A code can be entered, sent again, or sent to another method."""
    NO_METHODS = "no-methods"
    """The user has no method left: only Escape."""
    LOCKED = "locked"
    """The account reached the hard failure limit: only an administrator can unlock it."""


class VerifyScreen(ReportsWorkerErrors, Screen[None]):
    """Enter the code sent to one of your methods; switch method with the dropdown."""

    CSS_PATH = "verify.tcss"
    SUB_TITLE = "Verify"
    AUTO_FOCUS = "#verify-code"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back to sign in", id="verify-back")]
    WORKER_FAILURES = {
        "verify-send": "Couldn't send the code ({error}). Try again.",
        "verify-check": "Couldn't check the code ({error}). Try again.",
        "verify-load": "Couldn't load your methods ({error}). Press Escape and sign in again.",
    }
    ERROR_LINE = "#verify-message"

    stage: reactive[VerifyStage] = reactive(VerifyStage.LOADING)
    """Where the screen is (one CSS class, see :class:`VerifyStage`)."""
    sending: reactive[bool] = reactive(False, init=False)
    """A send runs: the dropdown and Resend wait for it."""
    checking: reactive[bool] = reactive(False, init=False)
    """A code is being checked: Verify waits for it."""

    def __init__(self, user: Account) -> None:
        """``user`` gave the right password and has at least one verified method."""
        super().__init__()
        self.user = user
        self.methods: dict[int, Method] = {}
        """The user's methods a code may go to, by id (loaded on mount)."""
        self.chosen_method_id: int | None = None
        """The method the dropdown shows: where the next send goes."""
        self.resend_at: float | None = None
        """When Resend becomes available again (None: now)."""
        self.retry_at: float | None = None
        """While the account has to wait after too many failures: when it may try again."""
        self.needs_new_code = False
        """The last code entered was expired or void: only a new one can be entered."""
        self.pending_send_id: int | None = None
        """A method a code goes to as soon as the resend cooldown is over (the send asked for on
        arrival or by a switch came too soon after the previous one)."""
        self.using_recovery = False
        """The dropdown shows "Use a recovery code": Verify takes a recovery code."""
        self.sent_method_id: int | None = None
        """The method the "We sent a code to ..." line speaks of."""

    @property
    def services(self) -> Services:
        return cast("MfaApp", self.app).services

    @property
    def attempt_id(self) -> str:
        """This sign-in attempt: the codes it asks for can be entered only here."""
        return cast("MfaApp", self.app).attempt_id

    # ------------------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="verify-form") as form:
            form.border_title = TITLE
            yield MessageLine(id="verify-sent")
            yield Label(METHOD_LABEL, id="verify-method-label")
            yield Vertical(id="verify-method-slot")
            yield Static(SWITCH_HINT, id="verify-switch-hint")
            yield Label(CODE_PROMPT, id="verify-code-label")
            with Horizontal(id="verify-entry"):
                yield CodeInput("6-digit code", id="verify-code")
                yield CountdownButton(VERIFY_LABEL, id="verify", variant="primary")
                yield CountdownButton(RESEND_LABEL, id="resend")
            yield MessageLine(id="verify-message")
            yield Countdown(countdown_words, id="verify-pending")
        yield Footer()

    def on_mount(self) -> None:
        self._update_buttons()
        self._load()

    # ------------------------------------------------------------------------------ what is shown

    @property
    def sent_line(self) -> MessageLine:
        """Where the code that can be entered went ("We sent a code to ..."), or nothing."""
        return self.query_one("#verify-sent", MessageLine)

    @property
    def message_line(self) -> MessageLine:
        """The latest outcome under the form (a refusal, a failed send), or nothing."""
        return self.query_one("#verify-message", MessageLine)

    def watch_stage(self, old: VerifyStage, new: VerifyStage) -> None:
        show_stage(self, old, new)
        self._update_buttons()

    def watch_sending(self, sending: bool) -> None:
        select = self._method_select()
        if select is not None:
            select.disabled = sending
        self._update_buttons()

    def watch_checking(self) -> None:
        self._update_buttons()

    def _update_buttons(self) -> None:
        """Hold Verify and Resend while they can't be used (their countdowns come first)."""
        verify = self.query_one("#verify", CountdownButton)
        verify.set_held(
            self.checking or self.stage in (VerifyStage.NO_METHODS, VerifyStage.LOCKED),
            CHECKING_LABEL if self.checking else None,
        )
        resend = self.query_one("#resend", CountdownButton)
        chosen = self.methods.get(self.chosen_method_id) if self.chosen_method_id else None
        resend.set_held(
            self.sending or chosen is None or not chosen.sends_codes or self.using_recovery
        )

    def _method_select(self) -> Select[int] | None:
        found = self.query("#verify-method")
        return cast("Select[int]", found.first()) if found else None

    def _focus(self, selector: str) -> None:
        widget = self.query_one(selector)
        if not widget.disabled:
            widget.focus()

    # ------------------------------------------------------------------------------ arriving

    @work(exclusive=True, group="verify-load", exit_on_error=False)
    async def _load(self) -> None:
        services = self.services
        methods = await factors.sign_in_methods(services, self.user)
        default = await factors.default_method(services, self.user)
        live = await factors.live_code(services, self.user, attempt=self.attempt_id)
        recovery_left = await recovery.remaining(services, self.user.id)
        if not methods or default is None:
            self.stage = VerifyStage.NO_METHODS
            self.message_line.error(NO_METHODS)
            return
        self.methods = {method.id: method for method in methods}
        # A sign-in code sent moments ago still works (the person went back and signed in again):
        # show it instead of sending another one.
        already_sent = (
            live is not None and live.purpose == "sign_in" and live.method_id in self.methods
        )
        self.chosen_method_id = live.method_id if live is not None and already_sent else default.id
        # Chosen before mounting: the Changed event the Select posts on mount is then ignored.
        choices: list[tuple[object, int]] = [
            (literal(method.label), method.id) for method in methods
        ]
        if recovery_left:
            choices.append((USE_RECOVERY_CODE, RECOVERY_CHOICE))
        select: Select[int] = Select(
            choices,  # type: ignore[arg-type]
            value=self.chosen_method_id,
            allow_blank=False,
            id="verify-method",
        )
        await self.query_one("#verify-method-slot").mount(select)
        self.stage = VerifyStage.READY
        chosen = self.methods[self.chosen_method_id]
        if live is not None and already_sent:
            self.sent_method_id = live.method_id
            self.sent_line.show(sent_to(live.masked_destination))
            self.resend_at = await sending.next_send_at(services, self.user, chosen.kind)
            self._update_waits()
        elif not chosen.sends_codes:
            self._use_app()
        else:
            self._start_send(self.chosen_method_id)

    # ------------------------------------------------------------------------------ sending

    @on(Select.Changed, "#verify-method")
    def _method_chosen(self, event: Select.Changed) -> None:
        value = event.value
        if value == RECOVERY_CHOICE:
            self._use_recovery(True)
            return
        if isinstance(value, int) and self.using_recovery:
            self._use_recovery(False)
        if not isinstance(value, int) or value == self.chosen_method_id:
            return  # the Select announcing the value it was mounted with, or no change
        self.chosen_method_id = value
        method = self.methods.get(value)
        if method is not None and not method.sends_codes:
            self._use_app()
        else:
            self._start_send(value)

    def _use_app(self) -> None:
        """The authenticator app is chosen: nothing is sent; its code is entered."""
        self.pending_send_id = None
        self.query_one("#verify-pending", Countdown).stop()
        self.sent_method_id = self.chosen_method_id
        self.sent_line.show(APP_CODE_LINE)
        self.message_line.clear()
        self.add_class("-app")
        self._update_buttons()
        self.query_one("#verify-code", Input).clear()
        self._focus("#verify-code")

    def _use_recovery(self, on: bool) -> None:
        """Switch the code field between a sent code and a recovery code."""
        self.using_recovery = on
        field = self.query_one("#verify-code", Input)
        field.clear()
        self.set_class(on, "-recovery")  # a wider field; no Resend (verify.tcss)
        if on:
            field.restrict = r"[0-9A-Za-z\- ]*"
            field.max_length = 24
            field.placeholder = "Recovery code"
            self.message_line.show(RECOVERY_PROMPT)
        else:
            field.restrict = CODE_CHARACTERS
            field.max_length = CODE_LENGTH
            field.placeholder = "6-digit code"
            self.message_line.clear()
        self._update_buttons()

    @on(Button.Pressed, "#resend")
    def _resend(self) -> None:
        if self.chosen_method_id is not None and not self.sending:
            self._start_send(self.chosen_method_id)

    def _start_send(self, method_id: int) -> None:
        self.pending_send_id = None
        self.query_one("#verify-pending", Countdown).stop()
        self.remove_class("-app")
        if method_id != self.sent_method_id:
            # The lines speak of the method now chosen, never of the one before.
            self.sent_line.clear()
            self.sent_method_id = None
            self.resend_at = None
        method = self.methods.get(method_id)
        self.sending = True
        if method is not None:
            self.message_line.show(sending_to(method.masked))
        self._send(method_id)

    @work(exclusive=True, group="verify-send", exit_on_error=False)
    async def _send(self, method_id: int) -> None:
        result = await sending.send_sign_in_code(
            self.services, self.user, method_id, attempt=self.attempt_id
        )
        self._sent(method_id, result)

    def _sent(self, method_id: int, result: SendResult) -> None:
        if method_id != self.chosen_method_id:
            self.sending = False
            return  # another method was chosen meanwhile: this is not about it
        if result.ok:
            self.needs_new_code = False
            self.sent_method_id = method_id
            self.sent_line.show(result.message)
            self.message_line.show(self._last_code_note(result))
            self.query_one("#verify-code", Input).clear()
        elif result.status == "cooldown":
            # Asked for too soon after the last code: it goes out when the cooldown ends, and
            # a countdown under the form says when.
            self.pending_send_id = method_id
            self.message_line.clear()
        else:
            self.message_line.error(result.message)
        if result.status == "locked":
            self._lock(result.resend_available_at)
        if result.ok or result.status in ("cooldown", "limit"):
            self.resend_at = result.resend_available_at
        self.sending = False
        self._update_waits()
        if result.ok:
            self._focus("#verify-code")
        elif result.status not in ("cooldown", "limit", "locked"):
            # The message suggests trying again or choosing another method.
            self._focus("#verify-method" if len(self.methods) > 1 else "#resend")
        if self.focused is None:
            self._focus("#verify-code")

    def _last_code_note(self, result: SendResult) -> str:
        """After a send that used up the send limit: say how long until the next code."""
        if result.resend_available_at is None:
            return ""
        wait = result.resend_available_at - self.services.now()
        if wait <= self.services.config.security.resend_cooldown_seconds:
            return ""
        return last_code_sentence(wait)

    # ------------------------------------------------------------------------------ verifying

    @on(Input.Submitted, "#verify-code")
    @on(Button.Pressed, "#verify")
    def _submit(self) -> None:
        if self.checking or self.query_one("#verify", Button).disabled:
            return
        self.checking = True
        self._check(self.query_one("#verify-code", Input).value, self.using_recovery)

    @work(exclusive=True, group="verify-check", exit_on_error=False)
    async def _check(self, code: str, recovery_code: bool) -> None:
        if recovery_code:
            result = await recovery.use_recovery_code(self.services, self.user, code)
            if result.ok:
                # Said on the home screen, which replaces this one at once.
                self.app.notify(result.message, title="Recovery code used", markup=False)
        else:
            chosen = self.methods.get(self.chosen_method_id) if self.chosen_method_id else None
            result = await factors.verify_sign_in(
                self.services, self.user, code, chosen, attempt=self.attempt_id
            )
        self._checked(result)

    def _checked(self, result: VerifyResult) -> None:
        if result.ok:
            self.message_line.clear()
            cast("MfaApp", self.app).complete_sign_in(self.user)
            return
        self.message_line.error(result.message)
        self.needs_new_code = result.needs_new_code
        code_field = self.query_one("#verify-code", Input)
        if result.status != "malformed":
            code_field.clear()
        if result.status == "locked" or result.retry_at is not None:
            self._lock(result.retry_at)
        self.checking = False
        self._update_waits()
        if result.needs_new_code and not self.query_one("#resend", Button).disabled:
            self._focus("#resend")  # the message says to send a new code; here it is
        else:
            self._focus("#verify-code")

    def _lock(self, retry_at: float | None) -> None:
        """The account has to wait until ``retry_at`` (None: until an administrator unlocks it)."""
        if retry_at is None:
            self.stage = VerifyStage.LOCKED
        else:
            self.retry_at = retry_at

    # ------------------------------------------------------------------------------ countdowns

    def _update_waits(self) -> None:
        """Point the countdowns at the moments the account waits for."""
        now = self.services.now()
        if self.resend_at is not None and self.resend_at <= now:
            self.resend_at = None
        # No code can be sent while the account waits either: Resend counts to the later end.
        resend_from = max(
            (moment for moment in (self.resend_at, self.retry_at) if moment is not None),
            default=None,
        )
        self.query_one("#resend", CountdownButton).count_to(resend_from)
        self.query_one("#verify", CountdownButton).count_to(self.retry_at)
        if self.pending_send_id is not None:
            method = self.methods.get(self.pending_send_id)
            pending = self.query_one("#verify-pending", Countdown)
            if method is not None:
                pending.words = partial(sending_in, method.masked)
            if resend_from is None:
                self._start_send(self.pending_send_id)
            else:
                pending.count_to(resend_from)  # a moment already past sends at once

    @on(CountdownFinished, "#resend")
    def _cooldown_over(self) -> None:
        self.resend_at = None

    @on(CountdownFinished, "#verify-pending")
    def _pending_due(self) -> None:
        if self.pending_send_id is not None and not self.sending:
            self._start_send(self.pending_send_id)

    @on(CountdownFinished, "#verify")
    def _wait_over(self) -> None:
        if self.retry_at is None:
            return
        self.retry_at = None
        self.message_line.show(TRY_AGAIN_WITH_NEW_CODE if self.needs_new_code else TRY_AGAIN_NOW)

    # ------------------------------------------------------------------------------ failures

    def worker_failed(self, group: str, text: str) -> None:
        super().worker_failed(group, text)
        if group == "verify-send":
            self.sending = False
            self._focus("#resend")  # try again
        elif group == "verify-check":
            self.checking = False
            self._focus("#verify-code")

"""The Verify screen: the second step of signing in with multi-factor authentication.

The user guide's "Signing in with multi-factor authentication (users)": after the password, "the
verification code will be sent to the last method you used. To use a different method, select the
drop-down arrow and choose the other method. Enter the code you receive and select Verify."

What the screen does (the rules themselves live in ``mfa.factors`` and ``mfa.codes``):

- On arrival it sends one code to the default method (the preferred one, else the last used),
  unless a sign-in code that still works was sent a moment ago (the person went back and signed
  in again): then it shows where that code went and sends nothing.
- The dropdown (a ``Select``) lists the user's methods; choosing another one sends one code there.
  ``Select.Changed`` also fires when the dropdown is mounted with its value: a change to the
  method already chosen is ignored, so nothing is sent twice.
- **Resend code** sends again to the chosen method. After a send that succeeded it counts down
  (30 s by default) on its label; a failed send starts no countdown and says why. A send asked
  for (on arrival or by a switch) while that countdown runs goes out when it ends, and the screen
  counts down to it ("We'll send a code to ... in 12 s.") instead of refusing.
- **Verify** (or Enter in the code field) checks the code in a worker; the button is disabled
  meanwhile. Wrong, expired, replaced and void codes get the domain's message as it is; after too
  many failures the account waits, and Verify counts down to the moment it may be used again.
- Success hands over to the app (``complete_sign_in``), which opens the home screen.
- Escape goes back to the sign-in screen, which abandons the half-finished sign-in.

Countdowns are computed from ``services.now()`` by :meth:`VerifyScreen.refresh_countdowns`, which
a one-second timer calls only while a countdown runs (tests move the clock and call it), and
widgets are touched only when what they show changes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from mfa import factors
from mfa.codes import VerifyResult, describe_wait
from mfa.factors import Method, SendResult
from store.models import User
from tui.literal import literal

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
NO_METHODS = (
    "You have no method to receive a code any more. Press Escape to go back, and ask an "
    "administrator for help."
)

COUNTDOWN_SECONDS = 1.0
"""How often a running countdown is brought up to date."""


def sent_to(masked: str) -> str:
    """The line that says where the live code went (the domain's words for a send)."""
    return f"We sent a code to {masked}."


def sending_to(masked: str) -> str:
    return f"Sending a code to {masked}…"


def sending_in(masked: str, seconds: float) -> str:
    """The message while a send waits for the resend cooldown."""
    return f"We'll send a code to {masked} in {countdown_words(seconds)}."


def countdown_words(seconds: float) -> str:
    """A short countdown for a button: ``25 s``, ``4:05``, ``1:00:00`` (rounded up)."""
    whole = max(0, math.ceil(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class VerifyScreen(Screen[None]):
    """Enter the code sent to one of your methods; switch method with the dropdown."""

    SUB_TITLE = "Verify"
    AUTO_FOCUS = "#verify-code"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back to sign in", id="verify-back")]

    def __init__(self, user: User) -> None:
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
        self.locked_for_good = False
        """The account reached the hard failure limit: only an administrator can unlock it."""
        self.needs_new_code = False
        """The last code entered was expired or void: only a new one can be entered."""
        self.pending_send_id: int | None = None
        """A method a code goes to as soon as the resend cooldown is over (the send asked for on
        arrival or by a switch came too soon after the previous one)."""
        self._sent_line = ""
        self._message_text = ""
        self._sending = False
        self._checking = False
        self._countdown: Timer | None = None
        self._no_methods = False
        self._shown: dict[str, tuple[str, bool]] = {}
        """Each button's (label, disabled) as last set, so unchanged values aren't set again."""

    @property
    def services(self) -> Services:
        return cast("MfaApp", self.app).services

    # ------------------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="verify-form") as form:
            form.border_title = TITLE
            yield Static(id="verify-sent", classes="-empty")
            yield Label(METHOD_LABEL, id="verify-method-label")
            yield Vertical(id="verify-method-slot")
            yield Static(SWITCH_HINT, id="verify-switch-hint")
            yield Label(CODE_PROMPT, id="verify-code-label")
            with Horizontal(id="verify-entry"):
                yield Input(
                    placeholder="6-digit code",
                    restrict=r"[0-9]*",
                    max_length=6,
                    id="verify-code",
                )
                yield Button(VERIFY_LABEL, id="verify", variant="primary")
                yield Button(RESEND_LABEL, id="resend", disabled=True)
            yield Static(id="verify-message", classes="-empty")
        yield Footer()

    def on_mount(self) -> None:
        self._countdown = self.set_interval(
            COUNTDOWN_SECONDS, self.refresh_countdowns, pause=True, name="verify-countdown"
        )
        self._load()

    # ------------------------------------------------------------------------------ what is shown

    @property
    def sent_line(self) -> str:
        """Where the code that can be entered went ("We sent a code to ..."), or empty."""
        return self._sent_line

    @property
    def message(self) -> str:
        """The latest outcome shown under the form (a refusal, a failed send), or empty."""
        return self._message_text

    def _show_sent_line(self, text: str) -> None:
        self._sent_line = text
        line = self.query_one("#verify-sent", Static)
        line.update(literal(text))
        line.set_class(not text, "-empty")

    def _show_message(self, text: str, *, error: bool = True) -> None:
        self._message_text = text
        message = self.query_one("#verify-message", Static)
        message.update(literal(text))
        message.set_class(error, "error")
        message.set_class(not error, "notice")
        message.set_class(not text, "-empty")

    def _set_button(self, button_id: str, label: str, disabled: bool) -> None:
        if self._shown.get(button_id) == (label, disabled):
            return
        self._shown[button_id] = (label, disabled)
        button = self.query_one(f"#{button_id}", Button)
        button.label = label
        button.disabled = disabled

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
        live = await factors.live_code(services, self.user)
        if not methods or default is None:
            self._no_methods = True
            self._show_message(NO_METHODS)
            self.refresh_countdowns()
            return
        self.methods = {method.id: method for method in methods}
        # A sign-in code sent moments ago still works (the person went back and signed in again):
        # show it instead of sending another one.
        already_sent = (
            live is not None and live.purpose == "sign_in" and live.method_id in self.methods
        )
        self.chosen_method_id = live.method_id if live is not None and already_sent else default.id
        # Chosen before mounting: the Changed event the Select posts on mount is then ignored.
        select: Select[int] = Select(
            [(literal(method.label), method.id) for method in methods],
            value=self.chosen_method_id,
            allow_blank=False,
            id="verify-method",
        )
        await self.query_one("#verify-method-slot").mount(select)
        if live is not None and already_sent:
            self._show_sent_line(sent_to(live.masked_destination))
            self.resend_at = await factors.next_send_at(services, self.user)
            self.refresh_countdowns()
        else:
            self._start_send(self.chosen_method_id)

    # ------------------------------------------------------------------------------ sending

    @on(Select.Changed, "#verify-method")
    def _method_chosen(self, event: Select.Changed) -> None:
        value = event.value
        if not isinstance(value, int) or value == self.chosen_method_id:
            return  # the Select announcing the value it was mounted with, or no change
        self.chosen_method_id = value
        self._start_send(value)

    @on(Button.Pressed, "#resend")
    def _resend(self) -> None:
        if self.chosen_method_id is not None and not self._sending:
            self._start_send(self.chosen_method_id)

    def _start_send(self, method_id: int) -> None:
        self.pending_send_id = None
        method = self.methods.get(method_id)
        self._set_sending(True)
        if method is not None:
            self._show_message(sending_to(method.masked), error=False)
        self._send(method_id)

    def _set_sending(self, sending: bool) -> None:
        self._sending = sending
        select = self._method_select()
        if select is not None and select.disabled != sending:
            select.disabled = sending
        self.refresh_countdowns()

    @work(exclusive=True, group="verify-send", exit_on_error=False)
    async def _send(self, method_id: int) -> None:
        result = await factors.send_sign_in_code(self.services, self.user, method_id)
        self._sent(method_id, result)

    def _sent(self, method_id: int, result: SendResult) -> None:
        if result.ok:
            self.needs_new_code = False
            self._show_sent_line(result.message)
            self._show_message(self._last_code_note(result), error=False)
            self.query_one("#verify-code", Input).clear()
        elif result.status == "cooldown":
            # Asked for too soon after the last code: it goes out when the cooldown ends, and
            # the message counts down to it (refresh_countdowns).
            self.pending_send_id = method_id
        else:
            self._show_message(result.message)
        if result.status == "locked":
            self._lock(result.resend_available_at)
        if result.ok or result.status in ("cooldown", "limit"):
            self.resend_at = result.resend_available_at
        self._set_sending(False)
        if result.ok:
            self._focus("#verify-code")
        elif result.status not in ("cooldown", "limit", "locked") and len(self.methods) > 1:
            self._focus("#verify-method")  # the message suggests choosing another method

    def _last_code_note(self, result: SendResult) -> str:
        """After a send that used up the send limit: say how long until the next code."""
        if result.resend_available_at is None:
            return ""
        wait = result.resend_available_at - self.services.now()
        if wait <= self.services.config.security.resend_cooldown_seconds:
            return ""
        return (
            "That was the last code you can ask for now: you can ask for another in "
            f"{describe_wait(wait)}."
        )

    # ------------------------------------------------------------------------------ verifying

    @on(Input.Submitted, "#verify-code")
    @on(Button.Pressed, "#verify")
    def _submit(self) -> None:
        if self._checking or self.query_one("#verify", Button).disabled:
            return
        self._set_checking(True)
        self._check(self.query_one("#verify-code", Input).value)

    def _set_checking(self, checking: bool) -> None:
        self._checking = checking
        self.refresh_countdowns()

    @work(exclusive=True, group="verify-check", exit_on_error=False)
    async def _check(self, code: str) -> None:
        result = await factors.verify_sign_in(self.services, self.user, code)
        self._checked(result)

    def _checked(self, result: VerifyResult) -> None:
        if result.ok:
            self._show_message("")
            cast("MfaApp", self.app).complete_sign_in(self.user)
            return
        self._show_message(result.message)
        self.needs_new_code = result.needs_new_code
        code_field = self.query_one("#verify-code", Input)
        if result.status != "malformed":
            code_field.clear()
        if result.status == "locked" or result.retry_at is not None:
            self._lock(result.retry_at)
        self._set_checking(False)
        if result.needs_new_code and not self.query_one("#resend", Button).disabled:
            self._focus("#resend")  # the message says to send a new code; here it is
        else:
            self._focus("#verify-code")

    def _lock(self, retry_at: float | None) -> None:
        """The account has to wait until ``retry_at`` (None: until an administrator unlocks it)."""
        if retry_at is None:
            self.locked_for_good = True
        else:
            self.retry_at = retry_at

    # ------------------------------------------------------------------------------ countdowns

    def refresh_countdowns(self) -> None:
        """Bring the Resend and Verify buttons up to date with ``services.now()``.

        The timer runs only while a countdown does; nothing is redrawn unless it changed.
        """
        now = self.services.now()
        counting = False

        if self.resend_at is not None and self.resend_at <= now:
            self.resend_at = None
        # No code can be sent while the account waits either: Resend counts to the later end.
        resend_from = max(
            (moment for moment in (self.resend_at, self.retry_at) if moment is not None),
            default=None,
        )
        if resend_from is not None and resend_from > now:
            counting = True
            self._set_button(
                "resend", f"{RESEND_LABEL} ({countdown_words(resend_from - now)})", True
            )
        else:
            self._set_button("resend", RESEND_LABEL, self._sending or self.chosen_method_id is None)

        if self.pending_send_id is not None:
            if resend_from is not None and resend_from > now:
                self._show_pending_send(resend_from - now)
            elif not self._sending:
                self._start_send(self.pending_send_id)
                return

        if self.retry_at is not None and self.retry_at > now:
            counting = True
            self._set_button(
                "verify", f"{VERIFY_LABEL} ({countdown_words(self.retry_at - now)})", True
            )
        else:
            if self.retry_at is not None:
                self.retry_at = None
                again = TRY_AGAIN_WITH_NEW_CODE if self.needs_new_code else TRY_AGAIN_NOW
                self._show_message(again, error=False)
            if self._checking:
                self._set_button("verify", CHECKING_LABEL, True)
            else:
                self._set_button("verify", VERIFY_LABEL, self.locked_for_good or self._no_methods)

        if self._countdown is not None:
            if counting:
                self._countdown.resume()
            else:
                self._countdown.pause()

    def _show_pending_send(self, seconds: float) -> None:
        method = self.methods.get(self.pending_send_id or 0)
        if method is not None:
            text = sending_in(method.masked, seconds)
            if text != self._message_text:
                self._show_message(text, error=False)

    # ------------------------------------------------------------------------------ failures

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        if event.worker.group == "verify-send":
            self._show_message(f"Couldn't send the code ({error}). Try again.")
            self._set_sending(False)
        elif event.worker.group == "verify-check":
            self._show_message(f"Couldn't check the code ({error}). Try again.")
            self._set_checking(False)
        elif event.worker.group == "verify-load":
            self._show_message(
                f"Couldn't load your methods ({error}). Press Escape and sign in again."
            )

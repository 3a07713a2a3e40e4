"""Confirm it's you: re-authentication before the signed-in user's methods change.

Opened by the Security page before adding a method, changing the phone number, removing a method
or choosing the default, unless the session re-authenticated a moment ago. It asks for the
password and, when the user has a verified method, a code from it: the method is chosen in a
dropdown (the default method first), **Send code** sends it (an authenticator app needs no
sending: its code is typed as the app shows it), and **Confirm** hands both to
``mfa.reauth.step_up``. The screen dismisses with True once the domain granted the change, False
when closed (Escape). The domain, not this screen, enforces the rule: the change functions refuse
without the grant.

Not a modal screen: the app's keys, the demo inbox among them, stay at hand while waiting for the
code. Enter moves from the password to the next step; messages (a wrong password, a wrong code,
the wait after too many failures) come from the domain and are shown literally in the message line.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static

from mfa import factors, reauth, sending, totp
from mfa.accounts import Account
from mfa.factors import Method
from tui.literal import literal
from tui.screens.on_app import OnMfaApp
from tui.widgets.code_input import CodeInput
from tui.widgets.message_line import MessageLine
from tui.widgets.worker_errors import TRY_AGAIN, ReportsWorkerErrors

TITLE = "Confirm it's you"
WITH_CODE = (
    "Before your verification methods change, enter your password and a code from one of "
    "your methods."
)
PASSWORD_ONLY = "Before your verification methods change, enter your password."
SEND_LABEL = "Send code"
CONFIRM_LABEL = "Confirm"
ENTER_PASSWORD = "Enter your password."
APP_CODE = "Enter the code your authenticator app shows."
SEND_FIRST = "Send a code first, then enter it."
LOAD_GROUP = "reauth-load"
SEND_GROUP = "reauth-send"
CONFIRM_GROUP = "reauth-confirm"


class ReauthScreen(OnMfaApp, ReportsWorkerErrors, Screen[bool]):
    """Asks for the password (and a code from an existing method) before a method change."""

    CSS_PATH = "reauth.tcss"
    SUB_TITLE = "Security settings"
    AUTO_FOCUS = "#reauth-password"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="reauth.cancel")]
    WORKER_FAILURES = {
        LOAD_GROUP: f"Reading your methods failed: {{error}}. {TRY_AGAIN}",
        SEND_GROUP: f"Sending the code failed: {{error}}. {TRY_AGAIN}",
        CONFIRM_GROUP: f"Checking failed: {{error}}. {TRY_AGAIN}",
    }

    def __init__(self, user: Account) -> None:
        """``user`` is signed in; the methods about to change are theirs."""
        super().__init__()
        self.user = user
        self.methods: list[Method] = []
        """Where a code may be sent (empty: the password is enough)."""
        self.code_sent = False
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="reauth-form") as form:
            form.border_title = TITLE
            yield Static(PASSWORD_ONLY, id="reauth-intro")
            yield Label("Password")
            yield Input(password=True, id="reauth-password")
            with Vertical(id="reauth-code-part"):
                yield Label("Send a code to")
                with Horizontal(classes="reauth-row"):
                    yield Select[int]([], allow_blank=True, id="reauth-method")
                    yield Button(SEND_LABEL, id="reauth-send", variant="primary")
                yield Label("Code")
                with Horizontal(classes="reauth-row"):
                    yield CodeInput(id="reauth-code")
                    yield Button(CONFIRM_LABEL, id="reauth-confirm", variant="success")
            yield Button(CONFIRM_LABEL, id="reauth-confirm-password", variant="success")
            yield MessageLine(id="reauth-message")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#reauth-code-part").display = False
        self._load()

    @work(exclusive=True, group=LOAD_GROUP, exit_on_error=False)
    async def _load(self) -> None:
        services = self.mfa_app.services
        if not await reauth.needs_code(services, self.user):
            return
        self.methods = await factors.sign_in_methods(services, self.user)
        default = await factors.default_method(services, self.user)
        select = self.query_one("#reauth-method", Select)
        with select.prevent(Select.Changed):
            select.set_options([(literal(m.label), m.id) for m in self.methods])
            if default is not None:
                select.value = default.id
            elif self.methods:
                select.value = self.methods[0].id
        self.query_one("#reauth-intro", Static).update(WITH_CODE)
        self.query_one("#reauth-code-part").display = True
        self.query_one("#reauth-confirm-password").display = False
        self._show_choice()

    @property
    def needs_code(self) -> bool:
        return bool(self.methods)

    @property
    def app_chosen(self) -> bool:
        """The chosen method is an authenticator app: nothing is sent, its code is typed."""
        chosen = self.query_one("#reauth-method", Select).value
        return any(m.id == chosen and m.kind == totp.KIND for m in self.methods)

    @on(Select.Changed, "#reauth-method")
    def _method_chosen(self) -> None:
        self._show_choice()

    def _show_choice(self) -> None:
        app = self.app_chosen
        self.query_one("#reauth-send", Button).display = not app
        if app:
            self._message().show(APP_CODE)

    def _message(self) -> MessageLine:
        return self.query_one("#reauth-message", MessageLine)

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for button in self.query(Button):
            button.disabled = busy

    # ---- the steps -----------------------------------------------------------------------------

    @on(Input.Submitted, "#reauth-password")
    def _password_entered(self) -> None:
        if not self.needs_code:
            self._confirm()
        elif self.code_sent or self.app_chosen:
            self.query_one("#reauth-code", Input).focus()
        else:
            self.query_one("#reauth-send", Button).focus()

    @on(Button.Pressed, "#reauth-send")
    def _send_pressed(self) -> None:
        method_id = self.query_one("#reauth-method", Select).value
        if self.busy or not isinstance(method_id, int):
            return
        self._set_busy(True)
        self._send(method_id)

    @work(exclusive=True, group=SEND_GROUP, exit_on_error=False)
    async def _send(self, method_id: int) -> None:
        try:
            result = await sending.send_step_up_code(
                self.mfa_app.services, self.user, method_id, attempt=self.mfa_app.attempt_id
            )
        finally:
            self._set_busy(False)
        if result.ok:
            self.code_sent = True
            self._message().show(result.message)
            code = self.query_one("#reauth-code", Input)
            code.clear()
            code.focus()
        else:
            self._message().error(result.message)
            self.query_one("#reauth-send", Button).focus()  # try again (after the wait it names)

    @on(Input.Submitted, "#reauth-code")
    @on(Button.Pressed, "#reauth-confirm")
    @on(Button.Pressed, "#reauth-confirm-password")
    def _confirm(self) -> None:
        if self.busy:
            return
        password = self.query_one("#reauth-password", Input).value
        if not password:
            self._message().error(ENTER_PASSWORD)
            self.query_one("#reauth-password", Input).focus()
            return
        code = self.query_one("#reauth-code", Input).value
        if self.needs_code and not self.code_sent and not self.app_chosen and not code:
            self._message().error(SEND_FIRST)
            self.query_one("#reauth-send", Button).focus()
            return
        self._set_busy(True)
        self._check(password, code)

    @work(exclusive=True, group=CONFIRM_GROUP, exit_on_error=False)
    async def _check(self, password: str, code: str) -> None:
        try:
            result = await reauth.step_up(
                self.mfa_app.services,
                self.user,
                self.mfa_app.attempt_id,
                password,
                code,
                app=self.app_chosen,
            )
        finally:
            self._set_busy(False)
        if result.ok:
            self.dismiss(True)
            return
        self._message().error(result.message)
        if result.code_result is None:  # the password (or the account) was refused
            field = self.query_one("#reauth-password", Input)
            field.clear()
            field.focus()
        else:
            code_field = self.query_one("#reauth-code", Input)
            code_field.clear()
            if result.code_result.needs_new_code and not self.app_chosen:
                self.query_one("#reauth-send", Button).focus()
            else:
                code_field.focus()

    def action_cancel(self) -> None:
        """Close without confirming (nothing changes)."""
        if not self.busy:
            self.dismiss(False)

    def worker_failed(self, group: str, text: str) -> None:
        self._set_busy(False)
        super().worker_failed(group, text)

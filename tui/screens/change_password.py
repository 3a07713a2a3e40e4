"""The signed-in user changes their own password: current password, new password, the new one again.

Opened from the Security page. Enter moves from field to field and submits from the last one (or
**Change password**). Two new passwords that differ are caught here; everything else is judged by
``mfa.accounts.change_password`` in a worker (argon2 runs in a thread, so keys keep working), and its
refusal is shown beside the form as it is: a wrong current password (which counts in the account's
failure throttle, with the wait when one starts), the password rule that was broken, or the same
password again. On success a notification says so and the Security page is back.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from mfa.accounts import CURRENT_PASSWORD_WRONG, Account, AccountError, change_password
from mfa.config import SecurityConfig
from tui.screens.on_app import OnMfaApp
from tui.widgets.message_line import MessageLine
from tui.widgets.worker_errors import TRY_AGAIN, ReportsWorkerErrors

TITLE = "Change password"
CHANGE_LABEL = "Change password"
BUSY_LABEL = "Changing…"
ENTER_CURRENT = "Enter your current password."
ENTER_NEW = "Enter a new password."
PASSWORDS_DIFFER = "The two new passwords differ."
CHANGED = "Your password was changed."


def rules_text(security: SecurityConfig) -> str:
    """The password rules in one line, with the configured minimum length."""
    return (
        f"At least {security.min_password_length} characters; no common passwords; "
        "no composition rules."
    )


class ChangePasswordScreen(OnMfaApp, ReportsWorkerErrors, Screen[None]):
    """Changes the signed-in user's password; closes (back to the Security page) once changed."""

    CSS_PATH = "change_password.tcss"
    SUB_TITLE = "Security settings"
    AUTO_FOCUS = "#current-password"
    BINDINGS = [Binding("escape", "back", "Back", id="change-password.back")]
    WORKER_FAILURES = {"change-password": f"That didn't work: {{error}}. {TRY_AGAIN}"}

    def __init__(self, user: Account) -> None:
        """``user`` is signed in; the password changed is theirs."""
        super().__init__()
        self.user = user

    @property
    def busy(self) -> bool:
        """True while the passwords are being checked."""
        return self.query_one("#change-password", Button).disabled

    def compose(self) -> ComposeResult:
        security = self.mfa_app.services.config.security
        yield Header()
        with Horizontal(id="change-password-layout"):
            with Vertical(id="change-password-form") as form:
                form.border_title = TITLE
                yield Label("Current password")
                yield Input(password=True, id="current-password")
                yield Label("New password")
                yield Input(password=True, id="new-password")
                yield Label("Repeat new password")
                yield Input(password=True, id="repeat-password")
                yield Static(rules_text(security), id="change-password-rules")
                yield Button(CHANGE_LABEL, id="change-password", variant="primary")
            with Vertical(id="change-password-side"):
                yield MessageLine(id="change-password-message")
        yield Footer()

    def show_error(self, text: str) -> None:
        """Show ``text`` beside the form, literally (empty: no message)."""
        self.query_one("#change-password-message", MessageLine).error(text)

    def action_back(self) -> None:
        """Back to the Security page (not while the passwords are being checked)."""
        if not self.busy:
            self.dismiss(None)

    # ------------------------------------------------------------------------------ submitting

    @on(Input.Submitted, "#current-password")
    def _to_new(self) -> None:
        self.query_one("#new-password", Input).focus()

    @on(Input.Submitted, "#new-password")
    def _to_repeat(self) -> None:
        self.query_one("#repeat-password", Input).focus()

    @on(Input.Submitted, "#repeat-password")
    @on(Button.Pressed, "#change-password")
    def _submit(self) -> None:
        if self.busy:
            return
        current = self.query_one("#current-password", Input)
        new = self.query_one("#new-password", Input)
        repeat = self.query_one("#repeat-password", Input)
        if not current.value:
            self.show_error(ENTER_CURRENT)
            current.focus()
        elif not new.value:
            self.show_error(ENTER_NEW)
            new.focus()
        elif new.value != repeat.value:
            self.show_error(PASSWORDS_DIFFER)
            repeat.clear()
            repeat.focus()
        else:
            self._set_busy(True)
            self._change(current.value, new.value)

    def _set_busy(self, busy: bool) -> None:
        button = self.query_one("#change-password", Button)
        button.disabled = busy
        button.label = BUSY_LABEL if busy else CHANGE_LABEL
        if busy:
            self.show_error("")

    @work(exclusive=True, group="change-password", exit_on_error=False)
    async def _change(self, current: str, new: str) -> None:
        try:
            await change_password(self.mfa_app.services, self.user.id, current, new)
        except AccountError as error:
            self._set_busy(False)
            self._refused(str(error))
            return
        self.app.notify(CHANGED)
        self.dismiss(None)

    def _refused(self, text: str) -> None:
        self.show_error(text)
        if text.startswith(CURRENT_PASSWORD_WRONG):
            field = self.query_one("#current-password", Input)
            field.clear()
        else:
            field = self.query_one("#new-password", Input)
        field.focus()

    def worker_failed(self, group: str, text: str) -> None:
        self._set_busy(False)
        super().worker_failed(group, text)
        self.query_one("#repeat-password", Input).focus()  # Enter there tries again

"""The sign-in screen: email address, password, **Sign In**.

Enter in the email field moves to the password; Enter in the password field (or the button) signs
in. The password is checked by ``mfa.signin.sign_in`` in a worker (the argon2 work runs in a thread),
so the screen keeps answering keys meanwhile. A refusal shows beside the form; a right password is
handed to the app (``PasswordAccepted``), which decides where to go next.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from tui.messages import PasswordAccepted, SignInShown
from tui.widgets.message_line import MessageLine
from tui.widgets.worker_errors import TRY_AGAIN, ReportsWorkerErrors

SIGN_IN_LABEL = "Sign In"
BUSY_LABEL = "Signing in…"
ENTER_EMAIL = "Enter your email address."
ENTER_PASSWORD = "Enter your password."


class SignInScreen(ReportsWorkerErrors, Screen[None]):
    """Where every session starts."""

    SUB_TITLE = "Sign in"
    AUTO_FOCUS = "#email"
    WORKER_FAILURES = {"sign-in": f"Signing in failed: {{error}}. {TRY_AGAIN}"}

    def __init__(self, notice: str = "") -> None:
        """``notice``: shown beside the form on arrival (why the last session ended, say)."""
        super().__init__()
        self._notice = notice

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="signin-layout"):
            with Vertical(id="signin-form") as form:
                form.border_title = "Sign in"
                yield Label("Email address", id="email-label")
                yield Input(placeholder="you@example.com", id="email")
                yield Label("Password", id="password-label")
                yield Input(password=True, id="password")
                yield Button(SIGN_IN_LABEL, id="sign-in", variant="primary")
            with Vertical(id="signin-side"):
                yield MessageLine(self._notice, id="signin-message")
                if getattr(self.app, "demo", False):
                    yield Static(self._demo_hint(), id="demo-accounts")
        yield Footer()

    def on_screen_resume(self) -> None:
        # Back from the Setup or Verify screen: the password is not kept around.
        self.query_one("#password", Input).clear()
        self.post_message(SignInShown())

    @staticmethod
    def _demo_hint() -> Text:
        from mfa import demo as demo_data  # only in the demo: start-up needn't load it

        hint = Text("Demo accounts\n", style="bold")
        hint.append("Admin\n", style="italic")
        hint.append(f" {demo_data.ADMIN_EMAIL}\n {demo_data.ADMIN_PASSWORD}\n")
        hint.append("User\n", style="italic")
        hint.append(f" {demo_data.DEMO_USERS[1].email}\n {demo_data.USER_PASSWORD}")
        return hint

    # ------------------------------------------------------------------------------ what is shown

    @property
    def message_line(self) -> MessageLine:
        """The line beside the form: a refusal, or why the last session ended."""
        return self.query_one("#signin-message", MessageLine)

    def show_error(self, text: str) -> None:
        """Show ``text`` beside the form as a refusal."""
        self.message_line.error(text)

    def show_notice(self, text: str) -> None:
        """Show ``text`` beside the form as information (not an error)."""
        self.message_line.show(text)

    # ------------------------------------------------------------------------------ signing in

    @on(Input.Submitted, "#email")
    def _focus_password(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#sign-in")
    def _submit(self) -> None:
        email = self.query_one("#email", Input)
        password = self.query_one("#password", Input)
        if self.query_one("#sign-in", Button).disabled:
            return  # already checking
        if not email.value.strip():
            self.show_error(ENTER_EMAIL)
            email.focus()
            return
        if not password.value:
            self.show_error(ENTER_PASSWORD)
            password.focus()
            return
        self._set_busy(True)
        self._check_password(email.value, password.value)

    def _set_busy(self, busy: bool) -> None:
        button = self.query_one("#sign-in", Button)
        button.disabled = busy
        button.label = BUSY_LABEL if busy else SIGN_IN_LABEL
        if busy:
            self.message_line.clear()

    @work(exclusive=True, group="sign-in", exit_on_error=False)
    async def _check_password(self, email: str, password: str) -> None:
        from mfa.signin import sign_in  # the first sign-in loads it, not start-up

        app = self.app
        result = await sign_in(
            app.services,  # type: ignore[attr-defined]
            email,
            password,
            attempt_id=app.terminal_attempt_id,  # type: ignore[attr-defined]
        )
        self._set_busy(False)
        password_input = self.query_one("#password", Input)
        password_input.clear()
        if result.accepted:
            self.post_message(PasswordAccepted(result))
        else:
            self.show_error(result.message)
            password_input.focus()

    def worker_failed(self, group: str, text: str) -> None:
        self._set_busy(False)
        super().worker_failed(group, text)
        # Enter in the password field tries again (the button had the focus, and was disabled).
        self.query_one("#password", Input).focus()

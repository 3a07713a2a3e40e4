"""Setting up an authenticator app: the QR code, the key for typing, the app's code and Verify.

The Authenticator app card's **Setup** (``tui.widgets.method_cards``) opens this screen with what
``mfa.totp.start_totp_setup`` returned. The QR code needs nearly the whole height of an 80x24
terminal, so the screen has no header: the code on the left (``tui.widgets.qr.QrCode`` takes the
widest quiet zone that fits), and beside it, in the 33-35 columns left, what to do, the key in
groups of four, the code field and **Verify**. It dismisses with the domain's verdict once the app
is verified, or None on Escape (the app stays "Not verified"; Setup again makes a new key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Static

from mfa import factors
from mfa.accounts import Account
from mfa.codes import VerifyResult
from mfa.totp import NAME, TotpSetup
from tui.literal import literal
from tui.widgets.code_input import CodeInput
from tui.widgets.message_line import MessageLine
from tui.widgets.qr import QrCode
from tui.widgets.worker_errors import TRY_AGAIN, ReportsWorkerErrors

if TYPE_CHECKING:
    from tui.app import MfaApp

SCAN_TEXT = "Scan the QR code with your authenticator app, or type this key into it:"
CODE_PROMPT = "Then enter the 6-digit code the app shows."
VERIFY_LABEL = "Verify"
VERIFYING_LABEL = "Verifying…"
REPLACING_NOTE = "Your current app keeps working until a code of the new one is entered."


def key_lines(key_groups: str) -> str:
    """The key's groups of four, four groups a line (``ABCD EFGH IJKL MNOP``: 19 columns)."""
    groups = key_groups.split()
    return "\n".join(" ".join(groups[i : i + 4]) for i in range(0, len(groups), 4))


class AuthenticatorSetupScreen(ReportsWorkerErrors, Screen[VerifyResult | None]):
    """The QR code and the key of a new authenticator app, then its code and **Verify**."""

    CSS_PATH = "authenticator.tcss"
    SUB_TITLE = "Set up an authenticator app"
    AUTO_FOCUS = "#totp-code"
    BINDINGS = [Binding("escape", "close", "Back", id="totp-setup.close")]
    WORKER_FAILURES = {"totp-verify": f"Checking the code failed: {{error}}. {TRY_AGAIN}"}
    ERROR_LINE = "#totp-message"

    def __init__(self, user: Account, setup: TotpSetup) -> None:
        """``setup`` is a ready setup (``setup.ok``): its URI and key are shown."""
        super().__init__()
        self.user = user
        self.setup = setup
        self.checking = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="totp-layout"):
            yield QrCode(self.setup.uri or "", id="totp-qr")
            with Vertical(id="totp-side"):
                yield Static(NAME, classes="title")
                yield Static(SCAN_TEXT, id="totp-scan")
                # Base32 letters and digits only: nothing in it to escape.
                yield Static(Text(key_lines(self.setup.key_groups or "")), id="totp-key")
                yield Static(
                    literal(f"{self.setup.issuer}: {self.setup.account}"), id="totp-account"
                )
                if self.setup.replacing:
                    yield Static(REPLACING_NOTE, id="totp-replacing")
                yield Static(CODE_PROMPT, id="totp-code-label")
                with Horizontal(id="totp-entry"):
                    yield CodeInput(id="totp-code")
                    yield Button(VERIFY_LABEL, id="totp-verify", variant="primary")
                yield MessageLine(id="totp-message")
        yield Footer()

    @on(Input.Submitted, "#totp-code")
    @on(Button.Pressed, "#totp-verify")
    def _submit(self) -> None:
        if self.checking:
            return
        self._set_checking(True)
        self._verify(self.query_one("#totp-code", Input).value)

    def _set_checking(self, checking: bool) -> None:
        self.checking = checking
        button = self.query_one("#totp-verify", Button)
        button.disabled = checking
        button.label = VERIFYING_LABEL if checking else VERIFY_LABEL

    @work(exclusive=True, group="totp-verify", exit_on_error=False)
    async def _verify(self, code: str) -> None:
        services = cast("MfaApp", self.app).services
        try:
            result = await factors.confirm_setup(
                services, self.user, "totp", code, attempt=cast("MfaApp", self.app).attempt_id
            )
        finally:
            self._set_checking(False)
        if result.ok:
            self.dismiss(result)
            return
        self.query_one("#totp-message", MessageLine).error(result.message)
        field = self.query_one("#totp-code", Input)
        if result.status != "malformed":
            field.clear()
        field.focus()

    def action_close(self) -> None:
        """Back to the cards without the app (not while its code is being checked)."""
        if not self.checking:
            self.dismiss(None)

    def worker_failed(self, group: str, text: str) -> None:
        super().worker_failed(group, text)
        self._set_checking(False)
        self.query_one("#totp-code", Input).focus()

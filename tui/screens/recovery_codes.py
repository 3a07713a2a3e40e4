"""The recovery codes, shown once: right after the first method is set up, and when the Security
page makes a new set.

The person keeps them one of two ways: **Copy to clipboard** (OSC 52, through
``App.copy_to_clipboard``: terminals that don't allow it ignore it, so the screen says to check
by pasting) or **Save to file** (a new file with the name typed, mode 0600, never over an
existing file: ``mfa.recovery.save_codes``). **Continue** works only once "I have kept these
codes" is ticked; the codes are not shown again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Footer, Header, Input, Static

from mfa import recovery
from mfa.accounts import Account
from mfa.recovery import RecoveryError
from tui.literal import literal
from tui.widgets.message_line import MessageLine

if TYPE_CHECKING:
    from tui.app import MfaApp

TITLE = "Your recovery codes"
EXPLANATION = (
    "If you can't receive a verification code, one of these signs you in, once. This is the "
    "only time they are shown: copy them or save them to a file now."
)
COPIED = (
    "Sent to the clipboard (if your terminal allows it): paste them somewhere to check, "
    "or save them to a file."
)
KEPT_LABEL = "I have kept these codes"


class RecoveryCodesScreen(Screen[None]):
    """Shows a new set of recovery codes until the person confirms they kept them."""

    CSS_PATH = "recovery_codes.tcss"
    SUB_TITLE = "Recovery codes"
    AUTO_FOCUS = "#recovery-copy"
    BINDINGS = [Binding("ctrl+y", "copy", "Copy codes", id="recovery.copy")]

    def __init__(self, codes: list[str], email: str) -> None:
        super().__init__()
        self.codes = codes
        self.email = email

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="recovery"):
            yield Static(TITLE, classes="title")
            yield Static(EXPLANATION, id="recovery-explanation")
            half = (len(self.codes) + 1) // 2
            with Horizontal(id="recovery-codes"):
                for start in (0, half):
                    column = self.codes[start : start + half]
                    lines = [literal(f"{start + i:2}. {code}") for i, code in enumerate(column, 1)]
                    yield Static(Text("\n").join(lines), classes="recovery-column")
            with Horizontal(id="recovery-keep"):
                yield Button("Copy to clipboard", id="recovery-copy")
                yield Input(placeholder="File name, e.g. codes.txt", id="recovery-file")
                yield Button("Save to file", id="recovery-save")
            yield MessageLine(id="recovery-message")
            with Horizontal(id="recovery-confirm"):
                yield Checkbox(KEPT_LABEL, id="recovery-kept")
                yield Button("Continue", id="recovery-continue", variant="success", disabled=True)
        yield Footer()

    @on(Button.Pressed, "#recovery-copy")
    def action_copy(self) -> None:
        """Put the codes on the terminal's clipboard (OSC 52)."""
        app = cast("MfaApp", self.app)
        app.copy_to_clipboard(recovery.codes_text(self.codes, self.email, app.services.now()))
        self.query_one("#recovery-message", MessageLine).show(COPIED)

    @on(Input.Submitted, "#recovery-file")
    @on(Button.Pressed, "#recovery-save")
    def _save(self) -> None:
        app = cast("MfaApp", self.app)
        message = self.query_one("#recovery-message", MessageLine)
        name = self.query_one("#recovery-file", Input).value
        try:
            path = recovery.save_codes(name, self.codes, self.email, app.services.now())
        except RecoveryError as error:
            message.error(str(error))
            return
        message.success(f"Saved to {path} (only you can read it).")
        self.query_one("#recovery-kept", Checkbox).focus()

    @on(Checkbox.Changed, "#recovery-kept")
    def _kept(self, event: Checkbox.Changed) -> None:
        self.query_one("#recovery-continue", Button).disabled = not event.value

    @on(Button.Pressed, "#recovery-continue")
    def _continue(self) -> None:
        if self.query_one("#recovery-kept", Checkbox).value:
            self.dismiss(None)


async def offer_first_set(
    app: MfaApp, user: Account, then: Callable[[None], None] | None = None
) -> str | None:
    """After a method was verified: show the user's first set of codes, if they have none yet.

    Returns why no set could be made (a sentence to show), or None. ``then`` runs when the codes
    screen closes (or at once when there was nothing to show).
    """
    try:
        codes = await recovery.issue_first_set(app.services, user)
    except RecoveryError as error:
        return str(error)
    if codes:
        app.push_screen(RecoveryCodesScreen(codes, user.email), then)
    elif then is not None:
        then(None)
    return None

"""Small modal dialogs: a yes/no confirmation, and fixing a user's email address."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from mfa import accounts
from mfa.accounts import Account
from tui.literal import literal, printable

if TYPE_CHECKING:
    from tui.app import MfaApp


class ConfirmDialog(ModalScreen[bool]):
    """Asks a yes/no question; dismisses with True only when the person confirms.

    The safe answer has the focus, and Escape (or ``n``) gives it.
    """

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("escape,n", "answer(False)", "Cancel", id="dialog.cancel"),
        Binding("y", "answer(True)", "Confirm", show=False, id="dialog.confirm"),
    ]

    def __init__(
        self, question: str, detail: str = "", *, confirm: str = "Yes", cancel: str = "No"
    ) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.confirm_label = confirm
        self.cancel_label = cancel

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="title", markup=False)
            if self.detail:
                yield Static(self.detail, classes="dialog-detail", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.confirm_label, id="confirm", variant="error")
                yield Button(self.cancel_label, id="cancel", variant="default")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, confirmed: bool) -> None:
        self.dismiss(confirmed)


class EditEmailDialog(ModalScreen[Account | None]):
    """Change a user's sign-in address. The address is checked and its verdict stored.

    Dismisses with the updated user, or None when cancelled. An address that is refused outright
    keeps the dialog open with the reason.
    """

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(
        self, user_id: int, email: str, display_name: str, *, actor_id: int | None = None
    ) -> None:
        super().__init__()
        self.user_id = user_id
        self.email = email
        self.display_name = display_name
        self.actor_id = actor_id

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Fix the email address", classes="title")
            yield Static(literal(self.display_name), id="edit-email-name")
            yield Label("Email address")
            # The stored address, made visible first: an escape sequence in it must not reach the
            # terminal, and control characters are what needs fixing, so they show.
            yield Input(value=printable(self.email), id="edit-email-input")
            yield Static("", id="edit-email-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel", variant="default")

    @on(Input.Submitted)
    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self._save(self.query_one("#edit-email-input", Input).value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without changing anything (the Cancel button and Escape)."""
        self.dismiss(None)

    @work(exclusive=True, group="edit-email", exit_on_error=False)
    async def _save(self, address: str) -> None:
        app = cast("MfaApp", self.app)
        try:
            updated = await accounts.set_email(
                app.services, self.user_id, address, actor_id=self.actor_id
            )
        except accounts.AccountError as error:
            self.query_one("#edit-email-error", Static).update(literal(str(error)))
            return
        self.dismiss(updated)

"""The sign-in screen: email address, password, Sign In."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from mfa import demo as demo_data


class SignInScreen(Screen[None]):
    """Where every session starts."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="signin-form"):
            yield Static("Sign in", classes="title")
            yield Label("Email address")
            yield Input(placeholder="you@example.com", id="email")
            yield Label("Password")
            yield Input(password=True, id="password")
            yield Static("", id="signin-error", classes="error")
            yield Button("Sign In", id="sign-in", variant="primary")
        if getattr(self.app, "demo", False):
            yield Static(self._demo_hint(), id="demo-accounts")
        yield Footer()

    @staticmethod
    def _demo_hint() -> Text:
        hint = Text("Demo accounts\n", style="bold")
        hint.append(f"admin  {demo_data.ADMIN_EMAIL}  /  {demo_data.ADMIN_PASSWORD}\n")
        hint.append(f"user   {demo_data.DEMO_USERS[1].email}  /  {demo_data.USER_PASSWORD}")
        return hint

    @on(Input.Submitted, "#email")
    def _focus_password(self) -> None:
        self.query_one("#password", Input).focus()

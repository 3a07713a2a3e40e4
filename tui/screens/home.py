"""The home screen after signing in: who you are, your subscription's products, where to go next.

What it offers depends on the role: admins also see **Settings > General Preferences**, **Users**
and **Audit log**; everyone sees their own **Security settings** and **Sign out**. Products with a
command in the configuration are actions (a button each, and the number key on it) that start the
product in this terminal (``tui.launch``); the others are plain text. Every name on it comes from
the database and is shown literally (``tui.literal``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from mfa.accounts import Account
from mfa.products import launchable
from tui.launch import ProductChosen
from tui.literal import literal
from tui.messages import SignOutRequested
from tui.screens.preferences import GeneralPreferencesScreen
from tui.screens.security import SecurityScreen

if TYPE_CHECKING:
    from tui.app import MfaApp

ROLE_NAMES = {"admin": "Administrator", "user": "User"}
PERMISSIONS_NOTE = (
    "The features and options you see may vary depending upon your role and subscription. "
    "If you have any questions regarding your permissions, please contact your administrator."
)
"""From the user guide, word for word."""


class HomeScreen(Screen[None]):
    """The signed-in user's start page."""

    CSS_PATH = "home.tcss"
    SUB_TITLE = "Home"
    AUTO_FOCUS = ".home-launch, #home-actions Button"
    """The first product to open, if any: that is what technicians come for."""
    BINDINGS = [
        # Short descriptions: the footer has to fit 80 columns beside the app's own keys.
        Binding("p", "general_preferences", "Preferences", id="general-preferences"),
        Binding("s", "security_settings", "Security", id="security-settings"),
        Binding("u", "users", "Users", show=False, id="users"),
        Binding("l", "audit_log", "Audit log", show=False, id="audit-log"),
        Binding("o", "sign_out", "Sign out", id="sign-out"),
        # A product's number is on its button, so the footer needn't list them.
        *(Binding(str(n), f"open_product({n})", show=False) for n in range(1, 10)),
    ]

    def __init__(self, user: Account, subscription_name: str, products: list[str]) -> None:
        """``user`` is signed in; ``products`` are the names of their subscription's products."""
        super().__init__()
        self.user = user
        self.subscription_name = subscription_name
        self.products = products
        self.launchable: list[str] = []
        """The products that open from here (those with a command), keys 1 to 9 in order."""

    def compose(self) -> ComposeResult:
        user = self.user
        config = cast("MfaApp", self.app).services.config
        self.launchable = launchable(config, self.products)[:9]
        yield Header()
        with VerticalScroll(id="home") as body:
            body.can_focus = False  # Tab goes straight to the buttons; they scroll into view
            with Horizontal(id="home-panels"):
                with Vertical(id="home-account", classes="home-panel") as account:
                    account.border_title = "Signed in as"
                    yield Static(literal(user.display_name, "bold"), id="home-name")
                    yield Static(literal(user.email), id="home-email")
                    yield Static(ROLE_NAMES.get(user.role, user.role), id="home-role")
                with Vertical(id="home-subscription", classes="home-panel") as subscription:
                    subscription.border_title = "Subscription"
                    if self.launchable:
                        keys = "1" if len(self.launchable) == 1 else f"1-{len(self.launchable)}"
                        subscription.border_subtitle = f"{keys} opens a product"
                    yield Static(
                        literal(self.subscription_name, "bold"), id="home-subscription-name"
                    )
                    if self.products:
                        for product in self.products:
                            yield self._product_entry(product)
                    else:
                        yield Static("No products yet.", classes="home-product")
            with Horizontal(id="home-actions"):
                if user.is_admin:
                    yield Button("Settings > General Preferences", id="general-preferences")
                yield Button("Security settings", id="security-settings")
                yield Button("Sign out", id="sign-out")
            if user.is_admin:
                with Horizontal(id="home-admin-actions"):
                    yield Button("Users", id="users")
                    yield Button("Audit log", id="audit-log")
            yield Static(PERMISSIONS_NOTE, id="home-note")
        yield Footer()

    def _product_entry(self, product: str) -> Static | Button:
        if product not in self.launchable:
            return Static(literal(f"• {product}"), classes="home-product")
        number = self.launchable.index(product) + 1
        return Button(
            literal(f"{number} {product}"),
            id=f"open-product-{number}",
            classes="home-launch",
            compact=True,
            tooltip=literal(f"Open {product} in this terminal"),
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Not an admin: General Preferences is neither shown nor reachable.
        if action in ("general_preferences", "users", "audit_log"):
            return self.user.is_admin
        return True

    @on(Button.Pressed, "#general-preferences")
    def action_general_preferences(self) -> None:
        if not self.user.is_admin:
            return
        self.app.push_screen(GeneralPreferencesScreen(self.user))

    @on(Button.Pressed, "#users")
    def action_users(self) -> None:
        if not self.user.is_admin:
            return
        from tui.screens.users import UsersScreen

        self.app.push_screen(UsersScreen(self.user))

    @on(Button.Pressed, "#audit-log")
    def action_audit_log(self) -> None:
        if not self.user.is_admin:
            return
        from tui.screens.audit import AuditScreen

        self.app.push_screen(AuditScreen(self.user))

    @on(Button.Pressed, "#security-settings")
    def action_security_settings(self) -> None:
        self.app.push_screen(SecurityScreen(self.user))

    @on(Button.Pressed, "#sign-out")
    def action_sign_out(self) -> None:
        self.post_message(SignOutRequested())

    @on(Button.Pressed, ".home-launch")
    def _launch_pressed(self, event: Button.Pressed) -> None:
        number = int((event.button.id or "").rsplit("-", 1)[-1])
        self.action_open_product(number)

    def action_open_product(self, number: int) -> None:
        """Open the ``number``-th product that has a command (1-based); other numbers do nothing."""
        if 1 <= number <= len(self.launchable):
            self.post_message(ProductChosen(self.launchable[number - 1]))

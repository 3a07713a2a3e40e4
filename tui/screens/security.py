"""The signed-in user's own security settings: their multi-factor authentication methods.

The page lists every method (what it is, where codes go, masked, whether it is verified, when it
was last used, and which one sign-in codes go to first) and lets the user:

- add the method they don't have yet (**Add**: the Setup screen's cards, on a screen of their
  own, so the app's keys, the demo inbox among them, stay at hand while waiting for the code);
- change the mobile number (a code to the new number has to be verified; until then codes keep
  going to the old one);
- remove a method, after confirming; the domain never removes the last one while MFA is required,
  and the page shows its reason;
- choose the default method for sign-in, or "Use last method used".

Each of these changes first asks "Confirm it's you" (``tui.screens.reauth``: the password, and a
code from an existing method) unless the session did so a moment ago; the domain refuses the
change without it (``mfa.reauth``), so the page only decides when to ask.

Everything is done by ``mfa.factors``; text from the database is shown literally.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Label, Select, Static

from mfa import factors, reauth, recovery
from mfa.accounts import Account, account_by_id
from mfa.factors import CODE_METHODS_NOTE, KIND_NAMES, FactorError, Method, VerifyResult
from mfa.reauth import ReauthRequired
from mfa.wording import elapsed_words
from tui.literal import literal
from tui.screens.change_password import ChangePasswordScreen
from tui.screens.dialogs import ConfirmDialog
from tui.screens.on_app import OnMfaApp
from tui.screens.reauth import ReauthScreen
from tui.screens.recovery_codes import RecoveryCodesScreen, offer_first_set
from tui.widgets.message_line import MessageLine, Severity
from tui.widgets.method_cards import METHOD_CARDS_CSS, MethodCards
from tui.widgets.worker_errors import TRY_AGAIN, ReportsWorkerErrors

LAST_USED = "last-used"
"""The default-method choice that follows the method used last."""
USE_LAST_LABEL = "Use last method used"
NO_METHODS = "You have no verification methods yet."
REMOVE_DETAIL = "Sign-in codes won't be sent there any more."
REMOVE_APP_DETAIL = "Codes from this app won't be accepted any more."
APP_DESTINATION = "Shown by the app"
"""The "Codes go to" column of an authenticator app."""
NEW_CODES_QUESTION = "Make a new set of recovery codes?"
NEW_CODES_DETAIL = "Your current recovery codes stop working at once."


def recovery_text(left: int, has_set: bool) -> str:
    """The Security page's line about recovery codes."""
    if not has_set:
        return "You have no recovery codes."
    if left == 0:
        return "Recovery codes: none left. Make a new set."
    return f"Recovery codes: {left} of {recovery.CODE_COUNT} left."


def last_used_text(at: float | None, now: float) -> str:
    """When a method was last used, in words: ``Never``, ``Just now``, ``3 minutes ago``, ..."""
    if at is None:
        return "Never"
    return elapsed_words(now - at)


def add_label(kinds: tuple[str, ...]) -> str:
    """The Add button's label for the kinds that can still be added."""
    if len(kinds) == 1:
        # "Add Authenticator app" would push "Change password" off an 80-column row.
        return "Add an app" if kinds[0] == "totp" else f"Add {KIND_NAMES[kinds[0]]}"
    return "Add a method"


@dataclass(frozen=True)
class SecurityState:
    """What the page shows, read in one go."""

    user: Account
    methods: list[Method]
    allowed: tuple[str, ...]
    default: Method | None
    """Where the next sign-in code goes first (None: no usable method)."""
    recovery_left: int = 0
    """Recovery codes that still work."""
    has_recovery_set: bool = False

    @property
    def verified(self) -> list[Method]:
        return [method for method in self.methods if method.verified]

    @property
    def addable(self) -> tuple[str, ...]:
        """Allowed kinds the user has no verified method of."""
        have = {method.kind for method in self.verified}
        return tuple(kind for kind in self.allowed if kind not in have)

    @property
    def verified_sms(self) -> Method | None:
        if "sms" not in self.allowed:
            return None
        return next((method for method in self.verified if method.kind == "sms"), None)

    @property
    def preference(self) -> int | str:
        """The default-method choice: a verified method's id, or LAST_USED."""
        preferred = self.user.preferred_method_id
        if preferred is not None and any(m.id == preferred for m in self.verified):
            return preferred
        return LAST_USED


class MethodSetupScreen(Screen[VerifyResult | None]):
    """Adds a method, or changes the mobile number, with the Setup screen's cards.

    Dismisses with the domain's verdict once a method is verified, or None when closed before.
    Not a modal screen: the app's bindings (the demo inbox, where the code can be read) stay active.
    """

    CSS_PATH = [METHOD_CARDS_CSS, "security.tcss"]
    SUB_TITLE = "Security settings"
    BINDINGS = [Binding("escape", "close", "Back", id="method-setup.close")]

    def __init__(self, user: Account, kinds: tuple[str, ...], title: str, note: str = "") -> None:
        super().__init__()
        self.user = user
        self.kinds = kinds
        self.title_text = title
        self.note = note

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="method-dialog", classes=f"-cards-{len(self.kinds)}"):
            yield Static(self.title_text, classes="title", markup=False)
            if self.note:
                yield Static(literal(self.note), id="method-dialog-note")
            yield MethodCards(
                self.user, self.kinds, open_cards=len(self.kinds) == 1, id="method-dialog-cards"
            )
        yield Footer()

    @on(MethodCards.MethodVerified)
    def _verified(self, message: MethodCards.MethodVerified) -> None:
        self.dismiss(message.result)

    def action_close(self) -> None:
        """Close without finishing (not while a code is being sent or checked)."""
        if self.query_one(MethodCards).busy:
            return
        self.dismiss(None)


class SecurityScreen(OnMfaApp, ReportsWorkerErrors, Screen[None]):
    """The user's methods, and adding, changing, removing them and choosing the default."""

    CSS_PATH = "security.tcss"
    SUB_TITLE = "Security settings"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="security.back"),
        Binding("a", "add_method", "Add method", id="security.add"),
        Binding("c", "change_phone", "Change phone", id="security.change-phone"),
        Binding("r,delete", "remove_method", "Remove", id="security.remove"),
        # Not in the footer, which would run past 80 columns: the page has the button, and the
        # command palette's Keys panel lists the key.
        Binding(
            "p", "change_password", "Change password", show=False, id="security.change-password"
        ),
        Binding(
            "n", "new_recovery_codes", "New recovery codes", show=False, id="security.new-codes"
        ),
    ]
    WORKER_FAILURES = {
        "security-load": f"That didn't work: {{error}}. {TRY_AGAIN}",
        "security-change": f"That didn't work: {{error}}. {TRY_AGAIN}",
        "security-grant": f"That didn't work: {{error}}. {TRY_AGAIN}",
        "security-recovery": f"That didn't work: {{error}}. {TRY_AGAIN}",
    }

    def __init__(self, user: Account) -> None:
        """``user`` is signed in; the page is about their own methods."""
        super().__init__()
        self.user = user
        self.state: SecurityState | None = None
        """What the page shows (None until read)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="security") as body:
            body.can_focus = False
            yield Static("Your verification methods", classes="title")
            yield DataTable(id="security-methods", cursor_type="row", zebra_stripes=True)
            yield Static(NO_METHODS, id="security-empty")
            with Horizontal(id="security-default-row"):
                yield Label("Default method for sign-in", id="security-default-label")
                yield Select(
                    [(USE_LAST_LABEL, LAST_USED)],
                    value=LAST_USED,
                    allow_blank=False,
                    id="security-default",
                )
            with Horizontal(id="security-actions"):
                yield Button("Add a method", id="security-add", variant="primary")
                yield Button("Change phone number", id="security-change-phone")
                yield Button("Remove", id="security-remove", variant="error")
                yield Button("Change password", id="security-change-password")
            with Horizontal(id="security-recovery-row"):
                yield Static("", id="security-recovery")
                yield Button("New recovery codes", id="security-new-codes")
            yield MessageLine(id="security-message")
            yield Static(CODE_METHODS_NOTE, id="security-note")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#security-methods", DataTable)
        for label, key in (
            ("Method", "kind"),
            ("Codes go to", "destination"),
            ("Status", "status"),
            ("Last used", "last-used"),
            ("Default", "default"),
        ):
            table.add_column(label, key=key)
        self._load()

    # ---- reading -----------------------------------------------------------------------------

    @work(exclusive=True, group="security-load", exit_on_error=False)
    async def _load(self) -> None:
        services = self.mfa_app.services
        user = await account_by_id(services, self.user.id) or self.user
        self.user = user
        self._show(
            SecurityState(
                user=user,
                methods=await factors.methods_of(services, user.id),
                allowed=await factors.allowed_kinds(services, user),
                default=await factors.default_method(services, user),
                recovery_left=await recovery.remaining(services, user.id),
                has_recovery_set=await recovery.has_set(services, user.id),
            )
        )

    def _show(self, state: SecurityState) -> None:
        highlighted = self.highlighted_method()
        self.state = state
        now = self.mfa_app.services.now()
        table = self.query_one("#security-methods", DataTable)
        table.clear()
        for method in state.methods:
            is_default = state.default is not None and state.default.id == method.id
            table.add_row(
                method.name,
                literal(method.masked) if method.sends_codes else APP_DESTINATION,
                "Verified" if method.verified else "Not verified",
                last_used_text(method.last_used_at, now),
                "Yes" if is_default else "",
                key=str(method.id),
            )
        if highlighted is not None and str(highlighted.id) in table.rows:
            table.move_cursor(row=table.get_row_index(str(highlighted.id)))
        table.display = bool(state.methods)
        self.query_one("#security-empty").display = not state.methods

        select = self.query_one("#security-default", Select)
        options: list[tuple[str, int | str]] = [(USE_LAST_LABEL, LAST_USED)]
        options += [(method.label, method.id) for method in state.verified]
        with select.prevent(Select.Changed):
            select.set_options(options)
            select.value = state.preference
        self.query_one("#security-default-row").display = bool(state.verified)

        add = self.query_one("#security-add", Button)
        add.display = bool(state.addable)
        add.label = add_label(state.addable) if state.addable else ""
        self.query_one("#security-change-phone").display = state.verified_sms is not None
        self.query_one("#security-remove").display = bool(state.methods)
        self.query_one("#security-note").display = factors.shows_strength_note(state.allowed)
        self.query_one("#security-recovery", Static).update(
            recovery_text(state.recovery_left, state.has_recovery_set)
        )
        self.query_one("#security-recovery-row").display = bool(state.verified)
        self.refresh_bindings()
        focused = self.focused
        if focused is None or not focused.display:
            self._focus_next_thing()

    def _focus_next_thing(self) -> None:
        """The methods when there are some (to act on one), else what adds one."""
        for selector in ("#security-methods", "#security-add", "#security-change-password"):
            widget = self.query_one(selector)
            if widget.display:
                widget.focus()
                return

    def highlighted_method(self) -> Method | None:
        """The method under the table's cursor."""
        table = self.query_one("#security-methods", DataTable)
        row = table.cursor_row
        if self.state is None or not 0 <= row < table.row_count:
            return None
        key = table.coordinate_to_cell_key((row, 0)).row_key.value
        return next((m for m in self.state.methods if str(m.id) == key), None)

    def _show_message(self, text: str, *, style: Severity = "notice") -> None:
        self.query_one("#security-message", MessageLine).show(text, style)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.state
        if action == "add_method":
            return state is not None and bool(state.addable)
        if action == "change_phone":
            return state is not None and state.verified_sms is not None
        if action == "remove_method":
            return state is not None and bool(state.methods)
        if action == "new_recovery_codes":
            return state is not None and bool(state.verified)
        return True

    # ---- re-authentication ---------------------------------------------------------------------

    def after_step_up(
        self, then: Callable[[], None], on_cancel: Callable[[], None] | None = None
    ) -> None:
        """Run ``then`` once the session may change methods: at once when it re-authenticated a
        moment ago, else after "Confirm it's you" succeeded (``on_cancel`` when it was closed)."""
        self._check_grant(then, on_cancel)

    @work(exclusive=True, group="security-grant", exit_on_error=False)
    async def _check_grant(
        self, then: Callable[[], None], on_cancel: Callable[[], None] | None
    ) -> None:
        app = self.mfa_app
        if await reauth.grant_until(app.services, self.user, app.attempt_id) is not None:
            then()
            return

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                then()
            elif on_cancel is not None:
                on_cancel()

        self.app.push_screen(ReauthScreen(self.user), answered)

    def _refused(self, error: ReauthRequired | FactorError) -> None:
        self._show_message(str(error), style="error")
        self._load()

    # ---- adding and changing -------------------------------------------------------------------

    @on(Button.Pressed, "#security-add")
    def action_add_method(self) -> None:
        """Set up a method the user doesn't have yet (after "Confirm it's you")."""
        if self.state is None or not self.state.addable:
            return
        kinds = self.state.addable
        title = f"Set up {KIND_NAMES[kinds[0]]}" if len(kinds) == 1 else "Set up a method"
        self.after_step_up(
            lambda: self.app.push_screen(
                MethodSetupScreen(self.user, kinds, title), self._method_added
            )
        )

    @on(Button.Pressed, "#security-change-phone")
    def action_change_phone(self) -> None:
        """Send a code to a new mobile number; the number changes once that code is verified."""
        sms = self.state.verified_sms if self.state else None
        if sms is None:
            return
        note = f"Codes keep going to {sms.masked} until the new number is verified."
        dialog = MethodSetupScreen(self.user, ("sms",), "Change your mobile number", note)
        self.after_step_up(lambda: self.app.push_screen(dialog, self._dialog_closed))

    def _dialog_closed(self, result: VerifyResult | None) -> None:
        if result is not None:
            self._show_message(result.message, style="success")
        self._load()  # a code sent but not verified leaves a method "Not verified"

    def _method_added(self, result: VerifyResult | None) -> None:
        self._dialog_closed(result)
        if result is not None:
            self._first_recovery_codes()

    # ---- recovery codes ------------------------------------------------------------------------

    @work(exclusive=True, group="security-recovery", exit_on_error=False)
    async def _first_recovery_codes(self) -> None:
        # A first method set up here (MFA not required yet) brings the first set too.
        problem = await offer_first_set(self.mfa_app, self.user, lambda _: self._load())
        if problem is not None:
            self._show_message(problem, style="error")

    @on(Button.Pressed, "#security-new-codes")
    def action_new_recovery_codes(self) -> None:
        """Replace the recovery codes (once confirmed) and show the new set."""
        if self.state is None or not self.state.verified:
            return
        dialog = ConfirmDialog(
            NEW_CODES_QUESTION, NEW_CODES_DETAIL, confirm="Make new codes", cancel="Keep"
        )
        self.app.push_screen(dialog, self._new_codes_answered)

    def _new_codes_answered(self, confirmed: bool | None) -> None:
        if confirmed:
            self.after_step_up(self._new_codes)

    @work(exclusive=True, group="security-recovery", exit_on_error=False)
    async def _new_codes(self) -> None:
        app = self.mfa_app
        try:
            codes = await recovery.new_set(app.services, self.user, attempt=app.attempt_id)
        except ReauthRequired as error:
            self._refused(error)
            return
        except recovery.RecoveryError as error:
            self._show_message(str(error), style="error")
            return
        self._show_message("Your old recovery codes no longer work.")
        self.app.push_screen(RecoveryCodesScreen(codes, self.user.email), lambda _: self._load())

    @on(Button.Pressed, "#security-change-password")
    def action_change_password(self) -> None:
        """Change the user's own password."""
        self.app.push_screen(ChangePasswordScreen(self.user))

    # ---- removing ------------------------------------------------------------------------------

    @on(Button.Pressed, "#security-remove")
    def action_remove_method(self) -> None:
        """Remove the method under the table's cursor, once confirmed."""
        method = self.highlighted_method()
        if method is None:
            return
        detail = REMOVE_DETAIL if method.sends_codes else REMOVE_APP_DETAIL
        dialog = ConfirmDialog(f"Remove {method.label}?", detail, confirm="Remove", cancel="Keep")
        self.app.push_screen(dialog, partial(self._remove_answered, method))

    def _remove_answered(self, method: Method, confirmed: bool | None) -> None:
        if confirmed:
            self.after_step_up(partial(self._remove, method))

    @work(exclusive=True, group="security-change", exit_on_error=False)
    async def _remove(self, method: Method) -> None:
        app = self.mfa_app
        try:
            await factors.remove_method(app.services, self.user, method.id, attempt=app.attempt_id)
        except ReauthRequired as error:
            self._refused(error)
            return
        except FactorError as error:
            self._show_message(str(error), style="error")
            return
        self._show_message(f"{method.label} was removed.")
        self._load()

    # ---- the default method --------------------------------------------------------------------

    @on(Select.Changed, "#security-default")
    def _default_chosen(self, event: Select.Changed) -> None:
        if self.state is None or event.value is Select.NULL:
            return
        if event.value != event.select.value or event.value == self.state.preference:
            return  # an older change, or what is stored already
        choice = event.value
        method_id = None if choice == LAST_USED else cast(int, choice)
        # Closing "Confirm it's you" puts the dropdown back to what is stored.
        self.after_step_up(partial(self._set_preferred, method_id), on_cancel=self._load)

    @work(exclusive=True, group="security-change", exit_on_error=False)
    async def _set_preferred(self, method_id: int | None) -> None:
        app = self.mfa_app
        try:
            await factors.set_preferred(app.services, self.user, method_id, attempt=app.attempt_id)
        except ReauthRequired as error:
            self._refused(error)
            return
        except FactorError as error:
            self._show_message(str(error), style="error")
        else:
            methods = self.state.methods if self.state else []
            chosen = next((m for m in methods if m.id == method_id), None)
            if chosen is None:
                self._show_message("Sign-in codes will go to the method you used last.")
            else:
                self._show_message(f"Sign-in codes will go to {chosen.label} first.")
        self._load()

    def worker_failed(self, group: str, text: str) -> None:
        super().worker_failed(group, text)
        if self.focused is None:
            self.query_one("#security-methods", DataTable).focus()

"""The Users screen (admins): every user of the subscription, searched and acted on.

The list is a ``DataTable`` filled a page at a time (``mfa.admin_users.PAGE_SIZE`` users in
address order, keyset paging): the next page is read when the cursor comes near the last row, so
100,000 users cost what 200 do until someone scrolls. The search field matches the start of an
address or of a name (any case) through an index; typing waits a moment before it searches.

Actions on the highlighted user, each a button and a key, each audited with the admin as actor
(``mfa.admin_users``): **Unlock** (u), **Reset MFA** (r, confirmed), **Disable** / **Enable**
(d, disabling confirmed), **Fix email** (e, the General Preferences dialog), **Role** (o,
confirmed). A refusal (the last admin, oneself) is shown in the message line. Every stored text
is shown literally.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, DataTable, Footer, Header, Input, Static

from mfa import admin_users
from mfa.accounts import Account, AccountError
from mfa.admin_users import PAGE_SIZE, UserSummary
from tui.literal import literal
from tui.screens.dialogs import ConfirmDialog, EditEmailDialog
from tui.screens.on_app import OnMfaApp
from tui.widgets.message_line import MessageLine
from tui.widgets.worker_errors import TRY_AGAIN, ReportsWorkerErrors

SEARCH_DELAY = 0.25
"""Seconds after the last key before the search runs."""
LOAD_AHEAD = 20
"""Read the next page when the cursor is this close to the last row."""
COLUMNS = (
    ("Email", "email", 22),
    ("Name", "name", 12),
    ("Role", "role", 5),
    ("Locked", "locked", 7),
    ("Disabled", "disabled", 8),
    ("MFA", "mfa", 12),
    ("Methods", "methods", 14),
)
"""At 80 columns everything but the methods shows; they are in the line under the list (and
the table scrolls sideways)."""


def cells(user: UserSummary) -> tuple[Any, ...]:
    """The table's cells for one user (stored text as literal ``Text``)."""
    return (
        literal(user.email),
        literal(user.display_name),
        user.role,
        user.lock_state,
        "yes" if user.disabled else "",
        "required" if user.mfa_required else "not required",
        ", ".join(user.methods) if user.methods else "not set up yet",
    )


def detail_line(user: UserSummary) -> str:
    """Everything about the highlighted user in one line (the table may be cut at 80 columns)."""
    parts = [
        user.email,
        user.display_name,
        user.role,
        f"MFA {user.mfa_state}",
        f"{user.recovery_codes_left} recovery codes left",
    ]
    if user.locked:
        parts.append(f"locked after {user.failed_attempts} failures")
    elif user.waiting_until is not None:
        parts.append(f"waiting after {user.failed_attempts} failures")
    if user.disabled:
        parts.append("disabled")
    return " · ".join(parts)


class UsersScreen(OnMfaApp, ReportsWorkerErrors, Screen[None]):
    """The admin's list of users, with search and the actions that get people back in."""

    CSS_PATH = "users.tcss"
    SUB_TITLE = "Users"
    AUTO_FOCUS = "#users-table"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="users.back"),
        Binding("slash", "search", "Search", id="users.search"),
        Binding("u", "unlock", "Unlock", id="users.unlock"),
        Binding("r", "reset_mfa", "Reset MFA", id="users.reset-mfa"),
        Binding("d", "toggle_disabled", "Disable/Enable", show=False, id="users.disable"),
        Binding("e", "fix_email", "Fix email", show=False, id="users.fix-email"),
        Binding("o", "change_role", "Role", show=False, id="users.role"),
    ]
    WORKER_FAILURES = {
        "users-load": f"Couldn't read the users: {{error}}. {TRY_AGAIN}",
        "users-change": f"That didn't work: {{error}}. {TRY_AGAIN}",
    }
    ERROR_LINE = "#users-message"

    def __init__(self, admin: Account) -> None:
        super().__init__()
        self.admin = admin
        self.users: dict[int, UserSummary] = {}
        """The users shown, by id (in table order)."""
        self.search = ""
        self.more = False
        """Another page may follow the rows shown."""
        self.fetching = False
        self._search_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="users"):
            with Horizontal(id="users-search-row"):
                yield Static("Search", id="users-search-label")
                yield Input(placeholder="start of an email address or a name", id="users-search")
            yield DataTable(id="users-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="users-detail")
            with Horizontal(id="users-actions"):
                yield Button("Unlock", id="users-unlock")
                yield Button("Reset MFA", id="users-reset-mfa", variant="error")
                yield Button("Disable", id="users-disable")
                yield Button("Fix email", id="users-fix-email")
                yield Button("Change role", id="users-role")
            yield MessageLine(id="users-message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#users-table", DataTable)
        for label, key, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        self._load_first()

    # ---- reading -----------------------------------------------------------------------------

    @work(exclusive=True, group="users-load", exit_on_error=False)
    async def _load_first(self) -> None:
        self.fetching = True
        try:
            page = await admin_users.users_page(
                self.mfa_app.services, self.admin.subscription_id, search=self.search
            )
        finally:
            self.fetching = False
        table = self.query_one("#users-table", DataTable)
        table.clear()
        self.users.clear()
        self._append(page)
        if not page:
            self.query_one("#users-detail", Static).update(
                "No user's address or name starts with that." if self.search else "No users."
            )

    @work(exclusive=True, group="users-load", exit_on_error=False)
    async def _load_more(self) -> None:
        if not self.users:
            return
        last = list(self.users.values())[-1]
        self.fetching = True
        try:
            page = await admin_users.users_page(
                self.mfa_app.services,
                self.admin.subscription_id,
                search=self.search,
                after=last.email,
            )
        finally:
            self.fetching = False
        self._append(page)

    def _append(self, page: list[UserSummary]) -> None:
        table = self.query_one("#users-table", DataTable)
        for user in page:
            if user.id in self.users:
                continue
            self.users[user.id] = user
            table.add_row(*cells(user), key=str(user.id))
        self.more = len(page) == PAGE_SIZE
        self._show_detail()

    @on(DataTable.RowHighlighted, "#users-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()
        table = event.data_table
        if self.more and not self.fetching and event.cursor_row >= table.row_count - LOAD_AHEAD:
            self.fetching = True
            self._load_more()

    def selected(self) -> UserSummary | None:
        """The user under the table's cursor."""
        table = self.query_one("#users-table", DataTable)
        row = table.cursor_row
        if not 0 <= row < table.row_count:
            return None
        key = table.coordinate_to_cell_key((row, 0)).row_key.value
        return self.users.get(int(key)) if key is not None else None

    def _show_detail(self) -> None:
        user = self.selected()
        if user is None:
            return
        self.query_one("#users-detail", Static).update(literal(detail_line(user)))
        self.query_one("#users-disable", Button).label = "Enable" if user.disabled else "Disable"

    def _put(self, user: UserSummary) -> None:
        """Show the user as they are after a change."""
        self.users[user.id] = user
        table = self.query_one("#users-table", DataTable)
        if str(user.id) in table.rows:
            for (_, key, _), value in zip(COLUMNS, cells(user), strict=True):
                table.update_cell(str(user.id), key, value)
        self._show_detail()

    # ---- searching ---------------------------------------------------------------------------

    def action_search(self) -> None:
        self.query_one("#users-search", Input).focus()

    @on(Input.Changed, "#users-search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY, partial(self._run_search, event.value))

    @on(Input.Submitted, "#users-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._run_search(event.value)
        self.query_one("#users-table", DataTable).focus()

    def _run_search(self, text: str) -> None:
        if text.strip() == self.search and self.users:
            return
        self.search = text.strip()
        self._load_first()

    # ---- actions -----------------------------------------------------------------------------

    def _confirm(self, question: str, detail: str, confirm: str, then: Callable[[], None]) -> None:
        def answered(confirmed: bool | None) -> None:
            if confirmed:
                then()

        self.app.push_screen(
            ConfirmDialog(question, detail, confirm=confirm, cancel="Cancel"), answered
        )

    @on(Button.Pressed, "#users-unlock")
    def action_unlock(self) -> None:
        user = self.selected()
        if user is not None:
            self._change(admin_users.unlock, user, f"{user.email} is unlocked.")

    @on(Button.Pressed, "#users-reset-mfa")
    def action_reset_mfa(self) -> None:
        user = self.selected()
        if user is None:
            return
        self._confirm(
            f"Reset MFA for {user.email}?",
            "Their methods, recovery codes and any code sent are removed; they set up MFA "
            "again at their next sign-in.",
            "Reset MFA",
            lambda: self._change(
                admin_users.reset_mfa, user, f"MFA reset for {user.email}: they set up again."
            ),
        )

    @on(Button.Pressed, "#users-disable")
    def action_toggle_disabled(self) -> None:
        user = self.selected()
        if user is None:
            return
        if user.disabled:
            enable = partial(admin_users.set_disabled, disabled=False)
            self._change(enable, user, f"{user.email} can sign in again.")
            return
        self._confirm(
            f"Disable {user.email}?",
            "They can't sign in until an administrator enables the account again.",
            "Disable",
            lambda: self._change(
                partial(admin_users.set_disabled, disabled=True), user, f"{user.email} is disabled."
            ),
        )

    @on(Button.Pressed, "#users-role")
    def action_change_role(self) -> None:
        user = self.selected()
        if user is None:
            return
        role = "user" if user.role == "admin" else "admin"
        what = "an administrator" if role == "admin" else "a user (not an administrator)"
        self._confirm(
            f"Make {user.email} {what}?",
            "Administrators manage users, MFA and the audit log."
            if role == "admin"
            else "They lose access to the administration screens.",
            "Change role",
            lambda: self._change(
                partial(admin_users.set_role, role=role), user, f"{user.email} is now {what}."
            ),
        )

    @on(Button.Pressed, "#users-fix-email")
    def action_fix_email(self) -> None:
        user = self.selected()
        if user is None:
            return
        dialog = EditEmailDialog(user.id, user.email, user.display_name, actor_id=self.admin.id)
        self.app.push_screen(dialog, partial(self._email_fixed, user))

    def _email_fixed(self, user: UserSummary, updated: Account | None) -> None:
        if updated is not None:
            self.query_one("#users-message", MessageLine).success(
                f"{user.email} is now {updated.email}."
            )
            self._refresh_user(user.id)

    @work(exclusive=True, group="users-change", exit_on_error=False)
    async def _refresh_user(self, user_id: int) -> None:
        fresh = await admin_users.user_summary(self.mfa_app.services, user_id)
        if fresh is not None:
            self._put(fresh)

    @work(exclusive=True, group="users-change", exit_on_error=False)
    async def _change(self, change: Callable[..., Any], user: UserSummary, done: str) -> None:
        message = self.query_one("#users-message", MessageLine)
        try:
            fresh = await change(self.mfa_app.services, user.id, actor_id=self.admin.id)
        except AccountError as error:
            message.error(str(error))
            return
        self._put(fresh)
        message.success(done)

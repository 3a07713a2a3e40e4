"""The Audit log screen (admins): every recorded event, newest first, filtered and paged.

Filters: a user's address (events where they are the subject or the actor), a kind (the
dropdown lists the kinds the log holds) and a start date (UTC). Enter in a field or a new kind
applies them. The table is filled a page at a time (keyset paging on time, ``mfa.audit_log``),
the next page read when the cursor nears the last row, so a million events open as fast as a
hundred. The line under the table shows the highlighted event in full. Every stored text (event,
addresses, detail) is shown literally.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from mfa import audit_log
from mfa.accounts import Account, AccountError
from mfa.audit_log import PAGE_SIZE, AuditEntry, AuditFilter, AuditQuery
from tui.literal import literal
from tui.screens.on_app import OnMfaApp
from tui.widgets.message_line import MessageLine
from tui.widgets.worker_errors import TRY_AGAIN, ReportsWorkerErrors

ALL_KINDS = ""
LOAD_AHEAD = 20
COLUMNS = (
    ("Time (UTC)", "time", 19),
    ("Event", "event", 24),
    ("Actor", "actor", 22),
    ("Subject", "subject", 22),
    ("Detail", "detail", 40),
)


def detail_line(entry: AuditEntry) -> str:
    text = f"{entry.when} {entry.event} by {entry.actor} on {entry.subject}"
    return f"{text}: {entry.detail}" if entry.detail else text


class AuditScreen(OnMfaApp, ReportsWorkerErrors, Screen[None]):
    """The audit log, newest first."""

    CSS_PATH = "audit.tcss"
    SUB_TITLE = "Audit log"
    AUTO_FOCUS = "#audit-table"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="audit.back"),
        Binding("slash", "filter", "Filter", id="audit.filter"),
    ]
    WORKER_FAILURES = {"audit-load": f"Couldn't read the audit log: {{error}}. {TRY_AGAIN}"}
    ERROR_LINE = "#audit-message"

    def __init__(self, admin: Account) -> None:
        super().__init__()
        self.admin = admin
        self.entries: list[AuditEntry] = []
        self.where = AuditFilter()
        self.more = False
        self.fetching = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="audit"):
            with Horizontal(id="audit-filters"):
                yield Input(placeholder="user's email", id="audit-user")
                yield Select(
                    [("All kinds", ALL_KINDS)], value=ALL_KINDS, allow_blank=False, id="audit-kind"
                )
                yield Input(placeholder="since YYYY-MM-DD", id="audit-since")
            yield DataTable(id="audit-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="audit-detail")
            yield MessageLine(id="audit-message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#audit-table", DataTable)
        for label, key, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        self._load_kinds()
        self._load_first()

    @work(group="audit-kinds", exit_on_error=False)
    async def _load_kinds(self) -> None:
        kinds = await audit_log.kinds(self.mfa_app.services)
        select = self.query_one("#audit-kind", Select)
        with select.prevent(Select.Changed):
            select.set_options([("All kinds", ALL_KINDS), *[(kind, kind) for kind in kinds]])
            select.value = ALL_KINDS

    # ---- filters -----------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#audit-user", Input).focus()

    @on(Input.Submitted, "#audit-user, #audit-since")
    def _submitted(self) -> None:
        self._apply()

    @on(Select.Changed, "#audit-kind")
    def _kind_changed(self) -> None:
        self._apply()

    def _query(self) -> AuditQuery:
        kind = self.query_one("#audit-kind", Select).value
        return AuditQuery(
            user_email=self.query_one("#audit-user", Input).value,
            kind=kind if isinstance(kind, str) else "",
            since=self.query_one("#audit-since", Input).value,
        )

    @work(exclusive=True, group="audit-load", exit_on_error=False)
    async def _apply(self) -> None:
        message = self.query_one("#audit-message", MessageLine)
        try:
            self.where = await audit_log.resolve(self.mfa_app.services, self._query())
        except AccountError as error:
            message.error(str(error))
            return
        message.clear()
        await self._first_page()

    # ---- reading -----------------------------------------------------------------------------

    @work(exclusive=True, group="audit-load", exit_on_error=False)
    async def _load_first(self) -> None:
        await self._first_page()

    async def _first_page(self) -> None:
        self.fetching = True
        try:
            page = await audit_log.page(self.mfa_app.services, self.where)
        finally:
            self.fetching = False
        self.query_one("#audit-table", DataTable).clear()
        self.entries = []
        self._append(page)
        if not page:
            self.query_one("#audit-detail", Static).update("No events match.")

    @work(exclusive=True, group="audit-load", exit_on_error=False)
    async def _load_more(self) -> None:
        if not self.entries:
            return
        try:
            page = await audit_log.page(
                self.mfa_app.services, self.where, before=self.entries[-1].cursor
            )
        finally:
            self.fetching = False
        self._append(page)

    def _append(self, page: list[AuditEntry]) -> None:
        table = self.query_one("#audit-table", DataTable)
        for entry in page:
            table.add_row(
                entry.when,
                literal(entry.event),
                literal(entry.actor),
                literal(entry.subject),
                literal(entry.detail),
                key=str(entry.id),
            )
        self.entries.extend(page)
        self.more = len(page) == PAGE_SIZE
        self._show_detail()

    @on(DataTable.RowHighlighted, "#audit-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()
        if self.more and not self.fetching and event.cursor_row >= len(self.entries) - LOAD_AHEAD:
            self.fetching = True
            self._load_more()

    def _show_detail(self) -> None:
        row = self.query_one("#audit-table", DataTable).cursor_row
        if 0 <= row < len(self.entries):
            entry = self.entries[row]
            self.query_one("#audit-detail", Static).update(literal(detail_line(entry)))

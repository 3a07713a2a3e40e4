"""Settings > General Preferences: the Multi-factor Authentication (MFA) switch and the MFA process.

Turning the switch ON reveals **Begin MFA Process**. The process itself runs at App level
(``tui.jobs``), so it goes on when this screen is closed; the screen subscribes to its progress and
shows "MFA settings processing" with a progress bar, then "MFA settings complete", and, when users
failed, how many succeeded and failed, a table of the failed users (their address can be fixed from
it with ``e``) and **Retry MFA Process**. Opening the screen while a job runs, in this session or
another, shows that job, and resumes it when the process running it has stopped.

Below, the methods users may use (``mfa.method_policy``): a checkbox each for Email, SMS and
Authenticator app, saved as soon as one changes; the last one ticked can't be unticked.
"""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Footer,
    Header,
    Label,
    ProgressBar,
    Static,
    Switch,
)

from mfa import method_policy, mfa_process
from mfa.accounts import Account
from mfa.factors import KIND_NAMES, KINDS
from mfa.mfa_process import FailedUser, JobProgress, MfaProcessError
from mfa.wording import count_words
from tui.jobs import MfaProcessStopped, MfaProcessUpdated
from tui.literal import literal
from tui.screens.dialogs import ConfirmDialog, EditEmailDialog
from tui.screens.on_app import OnMfaApp
from tui.widgets.message_line import MessageLine
from tui.widgets.stage import Stage, show_stage
from tui.widgets.tick_box import TickBox
from tui.widgets.worker_errors import ReportsWorkerErrors


class PreferencesStage(Stage):
    """What General Preferences shows: one CSS class on the screen (the rest is in the .tcss)."""

    LOADING = "loading"
    """Reading the database."""
    OFF = "off"
    """MFA is off."""
    READY = "ready"
    """Switched on, but the MFA process not begun: **Begin MFA Process**."""
    RUNNING = "running"
    """The MFA process is running: "MFA settings processing" and its progress."""
    COMPLETE = "complete"
    """The MFA process is complete: "MFA settings complete", failures and **Retry**."""


LOADING, OFF, READY, RUNNING, COMPLETE = PreferencesStage

FAILED_ROWS_SHOWN = 1_000
"""The failure table shows at most this many users (``mfa-tui admin mfa status`` lists them all)."""

ABOUT_MFA = (
    "When MFA is ON, every user in the subscription must set up and use a multi-factor "
    "authentication method the next time they sign in."
)
FIX_HINT = "Press e on a user to fix their email address, then Retry MFA Process."
STILL_NEED_MFA = "They still need MFA."
"""After the guide's counts: the users who failed set up another method at the next sign-in
(``mfa.mfa_process``); one line with the counts, so the page keeps its height."""


OTHER_SESSIONS_CHECK_SECONDS = 1.0
"""How often an open page looks for changes made by another admin."""


def _users(count: int) -> str:
    return f"{count_words(count)} user" if count == 1 else f"{count_words(count)} users"


def failure_message(succeeded: int, failed: int) -> str:
    """The error message of a run with failures: how many users succeeded and how many failed."""
    return f"{_users(succeeded)} succeeded and {_users(failed)} failed."


class GeneralPreferencesScreen(OnMfaApp, ReportsWorkerErrors, Screen[None]):
    """The admin's General Preferences: turning MFA on or off for the whole subscription."""

    CSS_PATH = "preferences.tcss"
    SUB_TITLE = "Settings"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="preferences.back"),
        Binding("e", "edit_email", "Fix email", id="preferences.edit_email"),
    ]
    WORKER_FAILURES = {
        "preferences-load": "{error}",
        "preferences-watch": "{error}",
        "preferences-change": "{error}",
    }

    stage: reactive[PreferencesStage] = reactive(LOADING, always_update=True)
    """What the screen shows. Set again to the same stage, the buttons are usable again."""

    def __init__(self, user: Account) -> None:
        super().__init__()
        self.user = user
        """The signed-in admin."""
        self.job_id: int | None = None
        """The MFA process job shown (running or the latest complete one)."""
        self._mfa_on = False
        """Whether MFA is ON for the subscription in the database (the switch may run ahead)."""
        self._failed_shown: dict[int, FailedUser] = {}
        """The failed users in the table, by user id."""

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="preferences"):
            yield Static("General Preferences", classes="title")
            yield Label("Multi-factor Authentication (MFA)", id="mfa-label")
            with Horizontal(id="mfa-switch-row"):
                yield Switch(value=False, animate=False, id="mfa-switch", disabled=True)
                yield Static("OFF", id="mfa-switch-state")
            yield Static(ABOUT_MFA, id="mfa-about")
            yield Button("Begin MFA Process", id="begin-mfa", variant="primary")
            with Vertical(id="mfa-running"):
                yield Static("MFA settings processing", classes="mfa-status")
                yield ProgressBar(show_eta=False, id="mfa-progress")
                yield Static("", id="mfa-counts")
            with Vertical(id="mfa-result"):
                yield Static("MFA settings complete", classes="mfa-status")
                yield Static("", id="mfa-outcome")
                yield Static("", id="mfa-failure-message", classes="error")
                yield Static(FIX_HINT, id="mfa-fix-hint")
                yield DataTable(id="failed-users", cursor_type="row", zebra_stripes=True)
                yield Static("", id="mfa-more-failures")
                yield Button("Retry MFA Process", id="retry-mfa", variant="warning")
            yield Label("Methods users may use", id="methods-label")
            with Horizontal(id="allowed-methods"):
                for kind in KINDS:
                    yield TickBox(KIND_NAMES[kind], id=f"allow-{kind}", disabled=True)
            yield MessageLine(id="preferences-message")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#failed-users", DataTable)
        table.add_column("Email", key="email")
        table.add_column("Name", key="name")
        table.add_column("Reason", key="reason")
        self.mfa_app.mfa_jobs.subscribe(self)
        self._load()
        # Another admin (another SSH session, or `mfa-tui admin mfa ...`) may change things while
        # this page is open: look for that, so the page never offers to begin a process again.
        self.set_interval(OTHER_SESSIONS_CHECK_SECONDS, self._check_other_sessions)

    def on_unmount(self) -> None:
        self.mfa_app.mfa_jobs.unsubscribe(self)

    # ---- showing a stage -------------------------------------------------------------------

    def watch_stage(self, old: PreferencesStage, new: PreferencesStage) -> None:
        show_stage(self, old, new)
        self.query_one("#mfa-switch", Switch).disabled = new in (LOADING, RUNNING)
        for button in self.query(Button):
            button.disabled = False  # Begin or Retry pressed before: usable again
        self.query_one("#preferences-message", MessageLine).clear()
        self.refresh_bindings()

    def _show(self, stage: PreferencesStage) -> None:
        self.stage = stage

    def _set_switch(self, on: bool) -> None:
        """Move the switch without it counting as the admin's choice."""
        switch = self.query_one("#mfa-switch", Switch)
        with switch.prevent(Switch.Changed):
            switch.value = on
        self._label_switch(on)

    def _label_switch(self, on: bool) -> None:
        self.query_one("#mfa-switch-state", Static).update("ON" if on else "OFF")

    def _show_progress(self, progress: JobProgress) -> None:
        self.job_id = progress.job_id
        if self.stage != RUNNING:
            self._show(RUNNING)
        self.query_one("#mfa-progress", ProgressBar).update(
            total=max(progress.total, 1), progress=progress.processed
        )
        self.query_one("#mfa-counts", Static).update(
            f"{count_words(progress.processed)} of {_users(progress.total)} processed: "
            f"{count_words(progress.succeeded)} succeeded, {count_words(progress.failed)} failed"
        )

    # ---- reading the database --------------------------------------------------------------

    @work(exclusive=True, group="preferences-load", exit_on_error=False)
    async def _load(self) -> None:
        services = self.mfa_app.services
        mfa_enabled = await mfa_process.mfa_enabled(services, self.user.subscription_id)
        if mfa_enabled is None:
            raise MfaProcessError("Your subscription no longer exists.")
        self._show_allowed(await method_policy.allowed_methods(services, self.user.subscription_id))
        job = await mfa_process.latest_job(services, self.user.subscription_id)
        self.job_id = job.job_id if job is not None else None
        self._mfa_on = mfa_enabled
        self._set_switch(mfa_enabled)
        switch = self.query_one("#mfa-switch", Switch)
        switch.disabled = False
        if self.focused is None or self.focused.id == "preferences":
            switch.focus()  # disabled while loading, so the page itself had the focus
        if not mfa_enabled:
            self._show(OFF)
        elif job is None:
            self._show(READY)
        elif job.is_complete:
            await self._show_result(job)
        else:
            self._follow(self.mfa_app.mfa_jobs.latest(job.job_id) or job)

    @work(exclusive=True, group="preferences-watch", exit_on_error=False)
    async def _check_other_sessions(self) -> None:
        if self.stage in (LOADING, RUNNING) or self._changing():
            return  # loading reads everything anyway; a running job reports its own progress
        shown = (self._mfa_on, self.job_id)
        changed = await self._changed_elsewhere()
        # A change this page made meanwhile is not another session's: reading the page again
        # would show the same stage and wipe the note the change left ("MFA is OFF: ...").
        if changed and not self._changing() and shown == (self._mfa_on, self.job_id):
            self._load()

    def _changing(self) -> bool:
        """True while this page's own change (MFA on or off, Begin, Retry) is on its way."""
        return any(
            worker.group == "preferences-change" and not worker.is_finished
            for worker in self.workers
        )

    async def _changed_elsewhere(self) -> bool:
        """True when the MFA setting or the latest job differs from what this page shows."""
        services = self.mfa_app.services
        mfa_enabled = await mfa_process.mfa_enabled(services, self.user.subscription_id)
        if mfa_enabled is None:
            return False
        job = await mfa_process.latest_job(services, self.user.subscription_id)
        latest_id = job.job_id if job is not None else None
        return mfa_enabled != self._mfa_on or latest_id != self.job_id

    def _follow(self, job: JobProgress) -> None:
        self._show_progress(job)
        self.mfa_app.mfa_jobs.follow(job.job_id)

    async def _show_result(self, job: JobProgress) -> None:
        services = self.mfa_app.services
        outcome = await mfa_process.outcome(services, job.job_id)
        failed = await mfa_process.failed_users(services, job.job_id, limit=FAILED_ROWS_SHOWN)
        if job.job_id != self.job_id:
            return  # another job started meanwhile
        table = self.query_one("#failed-users", DataTable)
        table.clear()
        self._failed_shown = {user.user_id: user for user in failed}
        for user in failed:
            table.add_row(
                literal(user.email),
                literal(user.display_name),
                literal(user.reason),
                key=str(user.user_id),
            )
        has_failures = outcome.failed > 0
        self.query_one("#mfa-outcome", Static).update(
            ""
            if has_failures
            else f"{_users(outcome.succeeded)} will set up MFA the next time they sign in."
        )
        self.query_one("#mfa-failure-message", Static).update(
            f"{failure_message(outcome.succeeded, outcome.failed)} {STILL_NEED_MFA}"
            if has_failures
            else ""
        )
        more = outcome.failed - len(failed)
        self.query_one("#mfa-more-failures", Static).update(
            f"…and {count_words(more)} more: 'mfa-tui admin mfa status' lists them all."
            if more > 0
            else ""
        )
        result = self.query_one("#mfa-result")
        result.set_class(has_failures, "-failures")
        result.set_class(more > 0, "-more-failures")
        self._show(COMPLETE)
        # Begin or Retry, which had the focus, is gone: give it to what comes next.
        (table if has_failures else self.query_one("#mfa-switch", Switch)).focus()

    @work(exclusive=True, group="preferences-load", exit_on_error=False)
    async def _load_result(self, job: JobProgress) -> None:
        await self._show_result(job)

    # ---- the methods users may use ---------------------------------------------------------

    def _show_allowed(self, kinds: tuple[str, ...]) -> None:
        """Tick the allowed methods without it counting as the admin's choice."""
        for kind in KINDS:
            box = self.query_one(f"#allow-{kind}", Checkbox)
            with box.prevent(Checkbox.Changed):
                box.value = kind in kinds
            box.disabled = False

    def _ticked(self) -> tuple[str, ...]:
        return tuple(kind for kind in KINDS if self.query_one(f"#allow-{kind}", Checkbox).value)

    @on(Checkbox.Changed, "#allowed-methods Checkbox")
    def _allowed_changed(self, event: Checkbox.Changed) -> None:
        message = self.query_one("#preferences-message", MessageLine)
        kinds = self._ticked()
        if not kinds:
            with event.checkbox.prevent(Checkbox.Changed):
                event.checkbox.value = True
            message.error(method_policy.NONE_ALLOWED)
            return
        self._save_allowed(kinds)

    @work(exclusive=True, group="preferences-change", exit_on_error=False)
    async def _save_allowed(self, kinds: tuple[str, ...]) -> None:
        services = self.mfa_app.services
        saved = await method_policy.set_allowed_methods(
            services, self.user.subscription_id, kinds, actor_id=self.user.id
        )
        self.query_one("#preferences-message", MessageLine).show(
            f"Users may use: {method_policy.describe(saved)}."
        )

    # ---- the switch ------------------------------------------------------------------------

    @on(Switch.Changed, "#mfa-switch")
    def _switch_changed(self, event: Switch.Changed) -> None:
        self._label_switch(event.value)
        if event.value:
            if not self._mfa_on:
                self._show(READY)
                # The next thing to do is Begin: Enter must not flip the switch back.
                self.call_after_refresh(self.query_one("#begin-mfa", Button).focus)
            return
        if not self._mfa_on:
            self._show(OFF)  # switched on and off again without beginning: nothing to undo
            return
        self.app.push_screen(
            ConfirmDialog(
                "Turn off multi-factor authentication?",
                "Users will no longer be required to use MFA to sign in. "
                "The methods they have set up are kept.",
                confirm="Turn off",
                cancel="Keep MFA on",
            ),
            self._switch_off_answered,
        )

    def _switch_off_answered(self, confirmed: bool | None) -> None:
        if confirmed:
            self._disable()
        else:
            self._set_switch(True)

    @work(exclusive=True, group="preferences-change", exit_on_error=False)
    async def _disable(self) -> None:
        try:
            released = await mfa_process.disable(
                self.mfa_app.services, self.user.subscription_id, actor_id=self.user.id
            )
        except MfaProcessError as error:
            self._set_switch(True)
            self.notify(str(error), severity="error", markup=False)
            return
        self._mfa_on = False
        self._show(OFF)
        # In the page's message line, not a toast: the next stage (switching MFA on again,
        # beginning the process) clears it, so it never stands beside a running process.
        self.query_one("#preferences-message", MessageLine).show(
            f"MFA is OFF: {_users(released)} {'is' if released == 1 else 'are'} no longer"
            " required to use it. The methods they set up are kept."
        )

    # ---- Begin / Retry ---------------------------------------------------------------------

    @on(Button.Pressed, "#begin-mfa")
    def _begin_pressed(self, event: Button.Pressed) -> None:
        event.button.disabled = True
        self._begin()

    @work(exclusive=True, group="preferences-change", exit_on_error=False)
    async def _begin(self) -> None:
        if await self._changed_elsewhere():
            # Another admin began (or finished) the process since this page was read.
            self.notify("Another admin has changed the MFA settings: showing them now.")
            self._load()
            return
        job, started = await mfa_process.begin(
            self.mfa_app.services, self.user.subscription_id, started_by=self.user.id
        )
        self._mfa_on = True
        if not started:
            self.notify("An MFA process is running already: showing its progress.")
        self._follow(job)

    @on(Button.Pressed, "#retry-mfa")
    def _retry_pressed(self, event: Button.Pressed) -> None:
        event.button.disabled = True
        self._retry()

    @work(exclusive=True, group="preferences-change", exit_on_error=False)
    async def _retry(self) -> None:
        retried = await mfa_process.retry(
            self.mfa_app.services, self.user.subscription_id, started_by=self.user.id
        )
        if retried is None:
            self.notify("Nothing to retry: no user failed in the last MFA process.")
            self._load()
            return
        job, started = retried
        if not started:
            self.notify("An MFA process is running already: showing its progress.")
        self._follow(job)

    # ---- progress from the App-level runner ------------------------------------------------

    @on(MfaProcessUpdated)
    def _progressed(self, message: MfaProcessUpdated) -> None:
        progress = message.progress
        if progress.job_id != self.job_id:
            return
        if not progress.is_complete or self.stage == RUNNING:
            self._show_progress(progress)  # a complete job fills the bar before its result shows
        if progress.is_complete:
            self._load_result(progress)

    @on(MfaProcessStopped)
    def _stopped(self, message: MfaProcessStopped) -> None:
        if message.job_id == self.job_id:
            self.notify(
                f"The MFA process stopped: {message.reason}. Open this page again to resume it.",
                severity="error",
                markup=False,
            )

    def worker_failed(self, group: str, text: str) -> None:
        super().worker_failed(group, text)
        for button in self.query(Button):
            button.disabled = False  # let the admin try again
        if self.focused is None:
            self.query_one("#mfa-switch", Switch).focus()

    # ---- fixing a failed user's address ----------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "edit_email":
            return (
                self.stage == COMPLETE and self.query_one("#failed-users", DataTable).row_count > 0
            )
        return True

    def action_edit_email(self) -> None:
        table = self.query_one("#failed-users", DataTable)
        if self.stage != COMPLETE or table.row_count == 0:
            return
        row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        assert row_key.value is not None
        failed = self._failed_shown[int(row_key.value)]

        def fixed(user: Account | None) -> None:
            if user is None:
                return
            reason = (
                user.email_problem
                if not user.email_deliverable
                else "address fixed: select Retry MFA Process"
            )
            table.update_cell(row_key, "email", literal(user.email), update_width=True)
            table.update_cell(row_key, "reason", literal(reason or ""), update_width=True)
            self.notify(f"{user.email} saved.", markup=False)

        self.app.push_screen(
            EditEmailDialog(
                failed.user_id, failed.email, failed.display_name, actor_id=self.user.id
            ),
            fixed,
        )

"""The demo inbox: every code the demo delivered, email and SMS alike, so the demo needs no other program.

In demo mode (``mfa-tui --demo``) email really travels over SMTP to the embedded server of
``mfa.demo_mail`` and text messages go to the demo outbox; either way the delivery is logged in the
``outbox`` table with its body (only in demo mode). This screen lists those messages, newest first,
each exactly as it was sent (rendered literally, never as markup).

:class:`DemoInboxWatch` runs at App level: about once a second it looks for messages newer than the
last one it saw and shows a notification for each code (security notices are only listed), and
refreshes the inbox when it is open. Tests
call :meth:`DemoInboxWatch.check` themselves; in headless runs (tests, snapshots) the timer is not
started, so no notification can appear at a moment a test doesn't choose.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from mfa import demo, totp
from mfa.demo import DemoMessage
from mfa.totp import DemoAppCode
from tui.literal import literal

if TYPE_CHECKING:
    from mfa.services import Services
    from tui.app import MfaApp

log = logging.getLogger(__name__)

INBOX_TITLE = "Demo inbox"
INBOX_ABOUT = (
    "Every message this demo delivered, newest first: email through the built-in mail server, "
    "text messages through the demo outbox."
)
NO_MESSAGES = "No messages yet. Codes sent by email or SMS appear here."
MESSAGES_SHOWN = 200
"""The inbox shows at most this many of the newest messages."""
POLL_SECONDS = 1.0
"""How often the App looks for new messages in demo mode."""
NOTIFICATIONS_AT_ONCE = 3
"""At most this many notifications for messages that arrive together (the inbox has them all)."""
CHANNEL_NAMES = {"email": "Email", "sms": "SMS"}
APP_CODES_TITLE = "Authenticator app codes (demo aid)"
APP_CODES_ABOUT = "A phone's app would show these now; a real installation never shows them."


def app_codes_text(codes: list[DemoAppCode]) -> Text:
    """The demo aid: each demo user's current authenticator code (addresses shown literally)."""
    text = Text(APP_CODES_ABOUT)
    for entry in codes:
        text.append("\n")
        text.append_text(literal(entry.email))
        text.append(f": {entry.code[:3]} {entry.code[3:]}", style="bold")
        text.append(f" ({entry.seconds_left} s left)")
    return text


def sent_time(message: DemoMessage) -> str:
    """When it was sent, in local time (``14:03:27``)."""
    return time.strftime("%H:%M:%S", time.localtime(message.sent_at))


def message_card_title(message: DemoMessage) -> str:
    return f"{CHANNEL_NAMES.get(message.channel, message.channel)} · {sent_time(message)}"


def message_text(message: DemoMessage) -> Text:
    """A message as the inbox shows it: recipient, subject (email), body; all literal."""
    text = Text()
    text.append("To: ", style="bold")
    text.append_text(literal(message.recipient))
    if message.subject:
        text.append("\nSubject: ", style="bold")
        text.append_text(literal(message.subject))
    body = (message.body or "(no text kept)").rstrip("\n")
    text.append("\n\n")
    # Line breaks are part of the message; everything else non-printable is written out.
    for number, line in enumerate(body.split("\n")):
        if number:
            text.append("\n")
        text.append_text(literal(line))
    return text


def notification_text(message: DemoMessage) -> str:
    """What the notification for a newly delivered message says."""
    kind = "email" if message.channel == "email" else "text message"
    return f"New {kind} to {message.recipient}. Press Ctrl+O to read it in the Demo inbox."


class DemoInboxScreen(Screen[None]):
    """Every delivered message, newest first; Escape goes back."""

    CSS_PATH = "inbox.tcss"
    SUB_TITLE = INBOX_TITLE
    AUTO_FOCUS = "#inbox"
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="inbox-back")]

    def __init__(self) -> None:
        super().__init__()
        self.shown_ids: list[int] = []
        """The ids of the messages on screen, in the order shown (newest first)."""

    @property
    def services(self) -> Services:
        return cast("MfaApp", self.app).services

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="inbox"):
            yield Static(INBOX_ABOUT, id="inbox-about")
            yield Static(id="inbox-app-codes", classes="-none")
            yield Vertical(id="inbox-messages")
        yield Footer()

    def on_mount(self) -> None:
        self.reload()
        self.reload_app_codes()
        # The codes change every 30 s and count down; only while the inbox is open.
        self.set_interval(1.0, self.reload_app_codes)

    @work(exclusive=True, group="inbox-app-codes", exit_on_error=False)
    async def reload_app_codes(self) -> None:
        """Show the current authenticator codes of the demo users who set an app up."""
        codes = await totp.demo_app_codes(self.services)
        aid = self.query_one("#inbox-app-codes", Static)
        aid.set_class(not codes, "-none")
        aid.border_title = APP_CODES_TITLE
        aid.update(app_codes_text(codes) if codes else "")

    @work(exclusive=True, group="inbox-load", exit_on_error=False)
    async def reload(self) -> None:
        """Read the messages again and show them (only if they changed)."""
        messages = await demo.delivered_messages(self.services, MESSAGES_SHOWN)
        ids = [message.id for message in messages]
        if ids == self.shown_ids and self.query("#inbox-messages > *"):
            return
        self.shown_ids = ids
        container = self.query_one("#inbox-messages", Vertical)
        await container.remove_children()
        if not messages:
            await container.mount(Static(NO_MESSAGES, id="inbox-empty"))
            return
        cards = []
        for message in messages:
            card = Static(message_text(message), classes=f"inbox-message -{message.channel}")
            card.border_title = message_card_title(message)
            cards.append(card)
        await container.mount_all(cards)


class DemoInboxWatch:
    """Notices newly delivered messages for the App in demo mode (see the module docstring)."""

    def __init__(self, app: App[None], services: Services) -> None:
        self.app = app
        self.services = services
        self.last_seen_id: int | None = None
        """The newest message already announced (None until :meth:`start` has looked)."""

    def start(self) -> None:
        """Remember the newest message so far, then look for new ones every second."""
        self.app.run_worker(self._begin(), group="demo-inbox", exit_on_error=False)

    async def _begin(self) -> None:
        self.last_seen_id = await demo.newest_message_id(self.services)
        if not self.app.is_headless:
            self.app.set_interval(POLL_SECONDS, self._poll, name="demo-inbox-poll")

    async def _poll(self) -> None:
        try:
            await self.check()
        except Exception:  # a failed look must not end the app; the next second tries again
            log.exception("Looking for new demo messages failed")

    async def check(self) -> list[DemoMessage]:
        """Announce messages delivered since the last look; returns them, oldest first."""
        if self.last_seen_id is None:
            return []
        self.last_seen_id, delivered = await demo.messages_after(self.services, self.last_seen_id)
        # Codes are announced; security notices are listed without a pop-up that would cover
        # the screen's own message line.
        announced = [message for message in delivered if not message.is_security_notice]
        for message in announced[-NOTIFICATIONS_AT_ONCE:]:
            self.app.notify(notification_text(message), title=INBOX_TITLE, markup=False)
        screen = self.app.screen
        if delivered and isinstance(screen, DemoInboxScreen):
            screen.reload()
        return delivered


def toggle_demo_inbox(app: App[None]) -> None:
    """Open the demo inbox, or close it when it is the screen on top."""
    if isinstance(app.screen, DemoInboxScreen):
        app.pop_screen()
    else:
        app.clear_notifications()  # they only pointed here
        app.push_screen(DemoInboxScreen())

"""The demo's own mail server: an embedded ``aiosmtpd`` on 127.0.0.1 that takes every message.

``mfa-tui --demo`` starts a :class:`DemoMailSink` before the app and points the configuration at it
(:func:`demo_config`): codes by email then travel as real SMTP traffic from ``EmailSender`` to this
server, and text messages go to the demo outbox. What a person reads in the demo inbox comes from
the ``outbox`` table, where demo mode keeps every delivered message with its body; the sink itself
keeps only a count and the last few messages, for tests and for checking the demo works.

The server runs in its own thread with its own event loop (``aiosmtpd.controller.Controller``), on
a port the operating system picks, so several demos on one host never collide.
"""

from __future__ import annotations

import collections
import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mfa.config import Config

HOST = "127.0.0.1"
KEPT_MESSAGES = 20
"""How many of the latest messages the sink keeps in memory."""
SEND_DEADLINE_SECONDS = 5.0
"""The demo's deadline for one send: the server is on this host, so it answers at once or never."""


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One message as the demo server received it."""

    mail_from: str
    recipients: tuple[str, ...]
    message: EmailMessage


class _AcceptEverything:
    """The aiosmtpd handler: every recipient is accepted, every message is kept."""

    def __init__(self, sink: DemoMailSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8")
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.sink._received(
            ReceivedMail(envelope.mail_from or "", tuple(envelope.rcpt_tos), parsed)
        )
        return "250 Message accepted for delivery"


class _ControllerOnBoundSocket(Controller):
    """A controller serving on a socket bound beforehand, so the port is known before it starts."""

    def __init__(self, handler: Any, listening: socket.socket, **kwargs: Any) -> None:
        host, port = listening.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._listening = listening

    def _create_server(self) -> Any:
        return self.loop.create_server(
            self._factory_invoker, sock=self._listening, ssl=self.ssl_context
        )


class DemoMailSink:
    """A real SMTP server on 127.0.0.1 (a free port) that accepts mail for any recipient.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. :meth:`start` blocks until
    the server answers (a fraction of a second); from a coroutine run it with
    ``asyncio.to_thread``.
    """

    def __init__(self, *, kept: int = KEPT_MESSAGES) -> None:
        self.host = HOST
        self.port = 0
        """The port it listens on (known once started)."""
        self._lock = threading.Lock()
        self._count = 0
        self._latest: collections.deque[ReceivedMail] = collections.deque(maxlen=kept)
        self._controller: _ControllerOnBoundSocket | None = None

    @property
    def received(self) -> int:
        """How many messages the server has accepted since it started."""
        with self._lock:
            return self._count

    @property
    def latest(self) -> list[ReceivedMail]:
        """The last messages accepted (at most ``kept``), oldest first."""
        with self._lock:
            return list(self._latest)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> DemoMailSink:
        """Start listening on a free port of 127.0.0.1, in a thread of its own."""
        if self._controller is not None:
            return self
        listening = socket.create_server((HOST, 0))
        controller = _ControllerOnBoundSocket(
            _AcceptEverything(self), listening, server_hostname="mfa-tui-demo.local"
        )
        try:
            controller.start()
        except BaseException:
            listening.close()
            raise
        self.port = controller.port
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop the server and its thread (nothing happens if it isn't running)."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> DemoMailSink:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _received(self, mail: ReceivedMail) -> None:
        with self._lock:
            self._count += 1
            self._latest.append(mail)


def demo_config(config: Config, sink: DemoMailSink) -> Config:
    """``config`` with email pointed at the running ``sink`` (plain SMTP, no sign-in) and text
    messages kept in the demo outbox."""
    if not sink.running:
        raise RuntimeError("Start the demo mail server before pointing the configuration at it.")
    return config.replace(
        "email",
        host=sink.host,
        port=sink.port,
        tls="none",
        username="",
        ca_file="",
        timeout_seconds=SEND_DEADLINE_SECONDS,
    ).replace("sms", provider="outbox")

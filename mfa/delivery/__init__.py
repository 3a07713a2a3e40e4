"""Delivering codes: what every way of sending shares (the message, the error, the provider protocol).

``mfa.delivery.email`` sends through the configured SMTP server; ``mfa.delivery.sms`` holds the SMS
providers (an HTTP gateway, an external command, a carrier's email gateway, the demo outbox). The
send pipeline (``mfa.sending``) decides whether a code may go and hands the message to them.

Every failure becomes a :class:`DeliveryError` whose message can be shown as it is: it names the mail
server or gateway and says what the person can do next. The original exception stays attached as
``__cause__`` and a short technical ``detail`` is kept for the audit log; neither ever contains the
message body, so codes never reach a log.

Nothing here keeps state between sends: each send opens its own connection (or process) and closes it,
and secrets are read from the environment at send time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar, runtime_checkable

from mfa.secret_files import SecretFileError, find_secret

Channel = Literal["email", "sms"]

FailureReason = Literal[
    "unreachable",
    "timeout",
    "tls_failed",
    "starttls_unavailable",
    "auth_failed",
    "recipient_refused",
    "sender_refused",
    "rejected",
    "policy_refused",
    "greeting_refused",
    "wrong_tls_mode",
    "disconnected",
    "gateway_refused",
    "gateway_error",
    "command_failed",
    "not_configured",
    "bad_recipient",
]
"""What went wrong, for code that reacts to failures (the words for people are in the message)."""

TRY_AGAIN = "Try again or choose another method."
"""The end of a message about a failure that may pass by itself."""

_E = TypeVar("_E", bound=BaseException)


@dataclass(frozen=True, slots=True)
class Message:
    """One message to deliver: a code by email, or a code by text message."""

    channel: Channel
    """``"email"`` or ``"sms"``."""
    recipient: str
    """An email address, or a mobile number in E.164 form (``+14155550100``)."""
    subject: str
    """The email subject; SMS providers that can't carry one ignore it."""
    body: str = field(repr=False)
    """The text, usually with the code in it: kept out of ``repr`` so it can't slip into a log."""

    def __post_init__(self) -> None:
        if self.channel not in ("email", "sms"):
            raise ValueError(f"channel must be 'email' or 'sms', not {self.channel!r}")


class DeliveryError(Exception):
    """A message could not be delivered; ``str(error)`` is a sentence to show the person."""

    def __init__(self, message: str, *, reason: FailureReason, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        """What happened and what to do, naming the server or gateway involved."""
        self.reason: FailureReason = reason
        self.detail = detail
        """Technical detail for the audit log (a server reply, an exit status); never a body."""


@runtime_checkable
class SmsProvider(Protocol):
    """Something that can deliver a text message to an E.164 mobile number."""

    async def send(self, message: Message) -> None:
        """Deliver ``message``; raise :class:`DeliveryError` when it can't be."""
        ...


def mask_email(address: str) -> str:
    """Show an address without revealing it: ``john@example.com`` becomes ``j***@example.com``."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def host_port(host: str, port: int) -> str:
    """A server as messages name it: ``smtp.example.com:587``, ``[::1]:25``."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def configured_secret(
    file: str,
    variable: str,
    environ: Mapping[str, str] | None,
    *,
    needs: str,
    ask: str,
    allow_empty: bool = False,
) -> str:
    """The password or token from ``file``, or else from the environment ``variable`` (looked up
    in ``environ``, ``os.environ`` when None), read at send time.

    Raises:
        DeliveryError: ``not_configured``, saying that ``needs`` (``The SMS gateway x needs a
            token``) and why it can't be had, followed by ``ask`` (who can fix it). An empty
            variable counts as unset unless ``allow_empty``.
    """
    try:
        secret = find_secret(file, variable, os.environ if environ is None else environ)
    except SecretFileError as error:
        raise DeliveryError(
            f"{needs}, but its file can't be used ({error}). {ask}", reason="not_configured"
        ) from None
    if secret is None or (not secret and not allow_empty):
        raise DeliveryError(
            f"{needs}, but the environment variable {variable} isn't set. {ask}",
            reason="not_configured",
        )
    return secret


def find_cause(error: BaseException, kind: type[_E]) -> _E | None:
    """The first exception of ``kind`` in ``error``'s chain of causes and contexts."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None

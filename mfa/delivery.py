"""Delivering codes: email through SMTP, text messages through one of several SMS providers.

Every failure becomes a :class:`DeliveryError` whose message can be shown as it is: it names the mail
server or gateway and says what the person can do next. The original exception stays attached as
``__cause__`` and a short technical ``detail`` is kept for the audit log; neither ever contains the
message body, so codes never reach a log.

Nothing here keeps state between sends: each send opens its own connection (or process) and closes it,
and secrets are read from the environment at send time.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import os
import re
import shlex
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING, Literal, Protocol, TypeVar, runtime_checkable

import aiosmtplib

from mfa.config import Config, EmailConfig, SmsConfig

if TYPE_CHECKING:
    import httpx

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
    "disconnected",
    "gateway_refused",
    "gateway_error",
    "command_failed",
    "not_configured",
    "bad_recipient",
]
"""What went wrong, for code that reacts to failures (the words for people are in the message)."""

_TRY_AGAIN = "Try again or choose another method."
_ASK_ADMIN_MAIL = "Ask an administrator to check the mail settings, or choose another method."
_ASK_ADMIN_SMS = "Ask an administrator to check the SMS settings, or choose another method."
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
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


def mask_email(address: str) -> str:
    """Show an address without revealing it: ``john@example.com`` becomes ``j***@example.com``."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


# --------------------------------------------------------------------------------------------- email


class EmailSender:
    """Sends email through the configured SMTP server, one connection per message.

    The TLS mode is explicit: ``starttls`` upgrades a plain connection and refuses to go on when the
    server doesn't offer STARTTLS; ``tls`` speaks TLS from the first byte; ``none`` never encrypts.
    The whole send, from connecting to the server accepting the message, has one deadline:
    ``timeout_seconds``.
    """

    def __init__(self, config: EmailConfig, *, environ: Mapping[str, str] | None = None) -> None:
        """Args:
        config: The ``[email]`` section.
        environ: Where the password variable is looked up at send time; ``os.environ`` when None.
        """
        self.config = config
        self._environ = environ

    @property
    def server(self) -> str:
        """The server as messages name it: ``smtp.example.com:587``."""
        return _host_port(self.config.host, self.config.port)

    async def send(self, message: Message) -> None:
        """Deliver ``message`` to ``message.recipient`` by email.

        Raises:
            DeliveryError: the server couldn't be reached in time, refused the message, ...
        """
        mail = self._compose(message)
        password = self._password()
        smtp: aiosmtplib.SMTP | None = None
        stage = "connect"
        accepted = False
        try:
            async with asyncio.timeout(self.config.timeout_seconds):
                smtp = aiosmtplib.SMTP(
                    hostname=self.config.host,
                    port=self.config.port,
                    use_tls=self.config.tls == "tls",
                    start_tls=False,
                    tls_context=await self._tls_context(),
                    timeout=self.config.timeout_seconds,
                )
                await smtp.connect()
                if self.config.tls == "starttls":
                    stage = "starttls"
                    await self._start_tls(smtp)
                if self.config.username:
                    stage = "login"
                    await self._login(smtp, password)
                stage = "send"
                await smtp.send_message(mail)
                accepted = True
                await smtp.quit()
        except DeliveryError:
            raise
        except (OSError, aiosmtplib.SMTPException, TimeoutError) as error:
            # Once the server has taken the message, a failed goodbye is not a failed delivery.
            if not accepted:
                raise self._explain(error, stage, message.recipient) from error
        finally:
            if smtp is not None:
                smtp.close()

    def _compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        try:
            mail["From"] = self.config.from_address
            mail["To"] = message.recipient
            mail["Subject"] = message.subject
        except (ValueError, TypeError) as error:
            raise DeliveryError(
                f"The address {mask_email(message.recipient)} can't be used for email. "
                "Check it or choose another method.",
                reason="bad_recipient",
                detail=str(error),
            ) from None
        _, _, sender_domain = self.config.from_address.rpartition("@")
        mail["Date"] = email.utils.formatdate(localtime=True)
        mail["Message-ID"] = email.utils.make_msgid(domain=sender_domain or "mfa-tui.local")
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.body)
        return mail

    def _password(self) -> str:
        if not self.config.username:
            return ""
        environ = os.environ if self._environ is None else self._environ
        password = environ.get(self.config.password_env)
        if password is None:
            raise DeliveryError(
                f"The mail server {self.server} needs a password, but the environment variable "
                f"{self.config.password_env} isn't set. {_ASK_ADMIN_MAIL}",
                reason="not_configured",
            )
        return password

    async def _tls_context(self) -> ssl.SSLContext | None:
        """A context trusting ``ca_file`` when one is configured; None lets aiosmtplib use the system's."""
        if self.config.tls == "none" or not self.config.ca_file:
            return None
        try:
            # Loading certificates reads files: keep it off the event loop.
            return await asyncio.to_thread(ssl.create_default_context, cafile=self.config.ca_file)
        except (OSError, ssl.SSLError) as error:
            raise DeliveryError(
                f"The certificate file {self.config.ca_file} for the mail server {self.server} "
                f"can't be used. {_ASK_ADMIN_MAIL}",
                reason="not_configured",
                detail=str(error),
            ) from error

    async def _start_tls(self, smtp: aiosmtplib.SMTP) -> None:
        await smtp.ehlo()
        if not smtp.supports_extension("starttls"):
            raise DeliveryError(
                f"The mail server {self.server} doesn't offer STARTTLS, so the code can't be sent "
                f"securely. {_ASK_ADMIN_MAIL}",
                reason="starttls_unavailable",
            )
        await smtp.starttls()

    async def _login(self, smtp: aiosmtplib.SMTP, password: str) -> None:
        if smtp.is_ehlo_or_helo_needed:
            await smtp.ehlo()
        if not smtp.supports_extension("auth"):
            raise DeliveryError(
                f"The mail server {self.server} doesn't offer sign-in (SMTP AUTH), but a user name "
                f"is configured. {_ASK_ADMIN_MAIL}",
                reason="auth_failed",
            )
        await smtp.login(self.config.username, password)

    def _explain(self, error: BaseException, stage: str, recipient: str) -> DeliveryError:
        """Turn what aiosmtplib (or the deadline) raised into a message for a person."""
        server = self.server
        detail = f"{type(error).__name__}: {error}"
        if isinstance(error, TimeoutError):
            return DeliveryError(
                f"The mail server {server} didn't answer within "
                f"{_seconds(self.config.timeout_seconds)}. {_TRY_AGAIN}",
                reason="timeout",
                detail=detail,
            )
        tls_error = _find_cause(error, ssl.SSLError)
        if isinstance(tls_error, ssl.SSLCertVerificationError):
            return DeliveryError(
                f"Couldn't set up a secure connection to the mail server {server}: its certificate "
                f"isn't trusted or doesn't match the name. {_ASK_ADMIN_MAIL}",
                reason="tls_failed",
                detail=f"{type(tls_error).__name__}: {tls_error.verify_message or tls_error}",
            )
        if tls_error is not None or (
            stage == "starttls" and isinstance(error, aiosmtplib.SMTPServerDisconnected)
        ):
            return DeliveryError(
                f"Couldn't set up a secure connection to the mail server {server} (the TLS "
                f"handshake failed). {_TRY_AGAIN}",
                reason="tls_failed",
                detail=detail,
            )
        if isinstance(error, aiosmtplib.SMTPRecipientsRefused | aiosmtplib.SMTPRecipientRefused):
            refusals = (
                error.recipients if isinstance(error, aiosmtplib.SMTPRecipientsRefused) else [error]
            )
            codes = ", ".join(str(r.code) for r in refusals)
            return DeliveryError(
                f"The mail server {server} refused to deliver to {mask_email(recipient)} "
                f"({codes}). Check the address or choose another method.",
                reason="recipient_refused",
                detail="; ".join(f"{r.code} {r.message}" for r in refusals),
            )
        if isinstance(error, aiosmtplib.SMTPResponseException) and error.code == 530:
            # RFC 3207 / 4954: "must issue STARTTLS first" or "authentication required".
            return DeliveryError(
                f"The mail server {server} wants a secure connection or a sign-in before it takes "
                f"mail ({error.code}). {_ASK_ADMIN_MAIL}",
                reason="rejected",
                detail=detail,
            )
        if isinstance(error, aiosmtplib.SMTPSenderRefused):
            return DeliveryError(
                f"The mail server {server} refused the sender address {error.sender} "
                f"({error.code}). {_ASK_ADMIN_MAIL}",
                reason="sender_refused",
                detail=detail,
            )
        if isinstance(error, aiosmtplib.SMTPAuthenticationError):
            return DeliveryError(
                f"The mail server {server} didn't accept the configured user name and password. "
                f"{_ASK_ADMIN_MAIL}",
                reason="auth_failed",
                detail=detail,
            )
        if isinstance(error, aiosmtplib.SMTPConnectResponseError):
            return DeliveryError(
                f"The mail server {server} turned the connection away ({error.code}). {_TRY_AGAIN}",
                reason="rejected",
                detail=detail,
            )
        if isinstance(error, aiosmtplib.SMTPConnectError) or (
            stage == "connect" and isinstance(error, OSError)
        ):
            return DeliveryError(
                f"Couldn't reach the mail server {server}. {_TRY_AGAIN}",
                reason="unreachable",
                detail=detail,
            )
        if isinstance(error, aiosmtplib.SMTPServerDisconnected):
            return DeliveryError(
                f"The mail server {server} closed the connection unexpectedly. {_TRY_AGAIN}",
                reason="disconnected",
                detail=detail,
            )
        if isinstance(error, aiosmtplib.SMTPResponseException):
            return DeliveryError(
                f"The mail server {server} didn't accept the message ({error.code}). {_TRY_AGAIN}",
                reason="rejected",
                detail=detail,
            )
        return DeliveryError(
            f"Sending through the mail server {server} failed. {_TRY_AGAIN}",
            reason="rejected",
            detail=detail,
        )


# ----------------------------------------------------------------------------------------------- SMS


@runtime_checkable
class SmsProvider(Protocol):
    """Something that can deliver a text message to an E.164 mobile number."""

    async def send(self, message: Message) -> None:
        """Deliver ``message``; raise :class:`DeliveryError` when it can't be."""
        ...


Recorder = Callable[[Message], Awaitable[None]]
"""The demo's callback: keeps a message it was given so the demo inbox can show it."""


class HttpSmsGateway:
    """A Twilio-style REST gateway: a form-encoded POST of ``To``, ``From`` and ``Body``."""

    def __init__(self, config: SmsConfig, *, environ: Mapping[str, str] | None = None) -> None:
        """Args:
        config: The ``[sms]`` section (``http_url``, ``http_token_env``, ``http_sender``).
        environ: Where the token variable is looked up at send time; ``os.environ`` when None.
        """
        self.config = config
        self._environ = environ

    async def send(self, message: Message) -> None:
        """POST the message to the gateway; any answer but 2xx is a :class:`DeliveryError`."""
        # Imported here: httpx pulls in Rich when it is installed (for its command line), and
        # the domain must not load Rich (tests/test_layers.py); it also keeps start-up lean.
        import httpx

        number = _require_e164(message.recipient)
        url = self._url()
        gateway = _host_port(url.host, url.port or (443 if url.scheme == "https" else 80))
        environ = os.environ if self._environ is None else self._environ
        token = environ.get(self.config.http_token_env)
        if not token:
            raise DeliveryError(
                f"The SMS gateway {gateway} needs a token, but the environment variable "
                f"{self.config.http_token_env} isn't set. {_ASK_ADMIN_SMS}",
                reason="not_configured",
            )
        form = {"To": number, "Body": message.body}
        if self.config.http_sender:
            form["From"] = self.config.http_sender
        timeout = self.config.timeout_seconds
        try:
            async with (
                asyncio.timeout(timeout),
                httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
            ):
                response = await client.post(
                    url, data=form, headers={"Authorization": f"Bearer {token}"}
                )
        except (TimeoutError, httpx.TimeoutException) as error:
            raise DeliveryError(
                f"The SMS gateway {gateway} didn't answer within {_seconds(timeout)}. {_TRY_AGAIN}",
                reason="timeout",
                detail=f"{type(error).__name__}: {error}",
            ) from error
        except httpx.HTTPError as error:
            raise _explain_http_failure(error, gateway) from error
        _check_gateway_answer(response, gateway)

    def _url(self) -> httpx.URL:
        import httpx

        text = self.config.http_url.strip()
        if not text:
            raise DeliveryError(
                f"No SMS gateway address is configured (sms.http_url). {_ASK_ADMIN_SMS}",
                reason="not_configured",
            )
        try:
            url = httpx.URL(text)
        except httpx.InvalidURL:
            url = None
        if url is None or url.scheme not in ("http", "https") or not url.host:
            raise DeliveryError(
                f"The SMS gateway address {text!r} isn't an http(s) URL. {_ASK_ADMIN_SMS}",
                reason="not_configured",
            )
        return url


def _explain_http_failure(error: httpx.HTTPError, gateway: str) -> DeliveryError:
    import httpx

    detail = f"{type(error).__name__}: {error}"
    tls_error = _find_cause(error, ssl.SSLError)
    if tls_error is not None:
        return DeliveryError(
            f"Couldn't set up a secure connection to the SMS gateway {gateway}. {_ASK_ADMIN_SMS}",
            reason="tls_failed",
            detail=f"{type(tls_error).__name__}: {tls_error}",
        )
    if isinstance(error, httpx.ConnectError):
        return DeliveryError(
            f"Couldn't reach the SMS gateway {gateway}. {_TRY_AGAIN}",
            reason="unreachable",
            detail=detail,
        )
    return DeliveryError(
        f"The connection to the SMS gateway {gateway} broke off. {_TRY_AGAIN}",
        reason="disconnected",
        detail=detail,
    )


def _check_gateway_answer(response: httpx.Response, gateway: str) -> None:
    status = response.status_code
    # The response text is left out of the detail: a gateway may echo the message, code included.
    detail = f"HTTP {status} {response.reason_phrase}".strip()
    if 200 <= status < 300:
        return
    if status in (401, 403):
        raise DeliveryError(
            f"The SMS gateway {gateway} refused the message (HTTP {status}): it didn't accept the "
            f"configured token. {_ASK_ADMIN_SMS}",
            reason="gateway_refused",
            detail=detail,
        )
    if 400 <= status < 500:
        raise DeliveryError(
            f"The SMS gateway {gateway} refused the message (HTTP {status}). Check the number or "
            "choose another method.",
            reason="gateway_refused",
            detail=detail,
        )
    if status >= 500:
        raise DeliveryError(
            f"The SMS gateway {gateway} had an error (HTTP {status}). {_TRY_AGAIN}",
            reason="gateway_error",
            detail=detail,
        )
    raise DeliveryError(
        f"The SMS gateway {gateway} gave an unexpected answer (HTTP {status}). {_ASK_ADMIN_SMS}",
        reason="gateway_error",
        detail=detail,
    )


class CommandSmsProvider:
    """Runs an external program: the number is its last argument and the text comes on stdin.

    ``sms.command`` is split like a shell would split it (``shlex``), but no shell runs it. Exit
    status 0 means delivered; anything else, or running past ``timeout_seconds``, is a failure.
    """

    def __init__(self, config: SmsConfig) -> None:
        self.config = config

    async def send(self, message: Message) -> None:
        """Run the command for ``message``; raise :class:`DeliveryError` unless it exits with 0."""
        number = _require_e164(message.recipient)
        argv = self._argv()
        program = argv[0]
        timeout = self.config.timeout_seconds
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                number,
                stdin=asyncio.subprocess.PIPE,
                # The program's own output would land on the terminal of whoever is signing in.
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError as error:
            raise DeliveryError(
                f"The SMS command {program} couldn't be started ({error.strerror or error}). "
                f"{_ASK_ADMIN_SMS}",
                reason="command_failed",
                detail=f"{type(error).__name__}: {error}",
            ) from error
        try:
            async with asyncio.timeout(timeout):
                await process.communicate(message.body.encode("utf-8"))
        except TimeoutError as error:
            await _stop(process)
            raise DeliveryError(
                f"The SMS command {program} didn't finish within {_seconds(timeout)}. {_TRY_AGAIN}",
                reason="timeout",
            ) from error
        except BaseException:
            await _stop(process)
            raise
        status = await process.wait()
        if status == 0:
            return
        how = f"exit code {status}" if status > 0 else f"stopped by signal {-status}"
        raise DeliveryError(
            f"The SMS command {program} failed ({how}). {_TRY_AGAIN}",
            reason="command_failed",
            detail=how,
        )

    def _argv(self) -> list[str]:
        try:
            argv = shlex.split(self.config.command)
        except ValueError as error:
            raise DeliveryError(
                f"The SMS command can't be read ({error}). {_ASK_ADMIN_SMS}",
                reason="not_configured",
            ) from None
        if not argv:
            raise DeliveryError(
                f"No SMS command is configured (sms.command). {_ASK_ADMIN_SMS}",
                reason="not_configured",
            )
        return argv


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


class EmailToSmsGateway:
    """Texts through a carrier's email gateway: mail to ``<digits>@<email_domain>``.

    The digits are the whole E.164 number without the ``+`` (country code included).
    """

    def __init__(self, config: SmsConfig, email_sender: EmailSender) -> None:
        self.config = config
        self.email_sender = email_sender

    def address_for(self, number: str) -> str:
        """The gateway address for an E.164 number: ``+14155550100`` -> ``14155550100@domain``."""
        domain = self.config.email_domain.strip().lstrip("@")
        if not domain:
            raise DeliveryError(
                f"No email-to-SMS domain is configured (sms.email_domain). {_ASK_ADMIN_SMS}",
                reason="not_configured",
            )
        return f"{_require_e164(number)[1:]}@{domain}"

    async def send(self, message: Message) -> None:
        """Mail the text to the gateway address through the configured mail server."""
        await self.email_sender.send(
            Message(
                channel="email",
                recipient=self.address_for(message.recipient),
                subject=message.subject,
                body=message.body,
            )
        )


class OutboxSmsProvider:
    """Delivers nothing: hands each message to ``record`` (the demo inbox shows it from there)."""

    def __init__(self, record: Recorder) -> None:
        self.record = record

    async def send(self, message: Message) -> None:
        """Pass ``message`` to the callback."""
        await self.record(message)


def sms_provider_from_config(
    config: Config,
    email_sender: EmailSender,
    record: Recorder,
    *,
    environ: Mapping[str, str] | None = None,
) -> SmsProvider:
    """The provider ``sms.provider`` names.

    Args:
        config: The whole configuration (the ``[sms]`` section is used).
        email_sender: Used by the ``email`` (email-to-SMS) provider.
        record: Used by the ``outbox`` provider.
        environ: Where secrets are looked up; ``os.environ`` when None.
    """
    sms = config.sms
    if sms.provider == "http":
        return HttpSmsGateway(sms, environ=environ)
    if sms.provider == "command":
        return CommandSmsProvider(sms)
    if sms.provider == "email":
        return EmailToSmsGateway(sms, email_sender)
    if sms.provider == "outbox":
        return OutboxSmsProvider(record)
    raise ValueError(
        f"{config.source}: sms.provider must be one of command, email, http, outbox, "
        f"not {sms.provider!r}."
    )


# ----------------------------------------------------------------------------------------- helpers


def _require_e164(number: str) -> str:
    """Refuse anything but ``+`` and digits, so a number can't smuggle options or addresses."""
    if not _E164.fullmatch(number):
        raise DeliveryError(
            "That mobile number can't be used. Enter it again with the country code.",
            reason="bad_recipient",
        )
    return number


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _seconds(value: float) -> str:
    return "1 second" if value == 1 else f"{value:g} seconds"


def _find_cause(error: BaseException, kind: type[_E]) -> _E | None:
    """The first exception of ``kind`` in ``error``'s chain of causes and contexts."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None

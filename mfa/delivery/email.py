"""Email delivery: one SMTP connection per message, and failures explained in words.

The explainer (:meth:`EmailSender._explain`) turns what aiosmtplib raised, and at which stage of the
conversation, into a sentence naming the mail server and what the person can do next.

This module is ``mfa.delivery.email``; the standard library's ``email`` package is what its
``import email.utils`` means (imports are absolute).
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import ssl
from collections.abc import Mapping
from email.message import EmailMessage

import aiosmtplib

from mfa.config import EmailConfig
from mfa.delivery import TRY_AGAIN, DeliveryError, Message, find_cause, host_port, mask_email
from mfa.secret_files import SecretFileError, find_secret
from mfa.wording import seconds_words

_ASK_ADMIN_MAIL = "Ask an administrator to check the mail settings, or choose another method."


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
        return host_port(self.config.host, self.config.port)

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
        try:
            password = find_secret(self.config.password_file, self.config.password_env, environ)
        except SecretFileError as error:
            raise DeliveryError(
                f"The mail server {self.server} needs a password, but its file can't be used "
                f"({error}). {_ASK_ADMIN_MAIL}",
                reason="not_configured",
            ) from None
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
                f"{seconds_words(self.config.timeout_seconds)}. {TRY_AGAIN}",
                reason="timeout",
                detail=detail,
            )
        tls_error = find_cause(error, ssl.SSLError)
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
                f"handshake failed). {TRY_AGAIN}",
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
                f"The mail server {server} turned the connection away ({error.code}). {TRY_AGAIN}",
                reason="rejected",
                detail=detail,
            )
        if isinstance(error, aiosmtplib.SMTPConnectError) or (
            stage == "connect" and isinstance(error, OSError)
        ):
            return DeliveryError(
                f"Couldn't reach the mail server {server}. {TRY_AGAIN}",
                reason="unreachable",
                detail=detail,
            )
        if isinstance(error, aiosmtplib.SMTPServerDisconnected):
            return DeliveryError(
                f"The mail server {server} closed the connection unexpectedly. {TRY_AGAIN}",
                reason="disconnected",
                detail=detail,
            )
        if isinstance(error, aiosmtplib.SMTPResponseException):
            return DeliveryError(
                f"The mail server {server} didn't accept the message ({error.code}). {TRY_AGAIN}",
                reason="rejected",
                detail=detail,
            )
        return DeliveryError(
            f"Sending through the mail server {server} failed. {TRY_AGAIN}",
            reason="rejected",
            detail=detail,
        )

"""Email delivery: one SMTP connection per message, and failures explained in words.

The explainer (:meth:`EmailSender._explain`) turns what aiosmtplib raised, and at which stage of the
conversation, into a sentence naming the mail server and what to do next. Failures that are the
mail server's configuration (relaying refused, a policy refusal, the greeting name refused) or this
program's (the wrong TLS mode) point at the administrator and the setting, never at the address and
never at "try again": they would fail the same way every time.

This module is ``mfa.delivery.email``; the standard library's ``email`` package is what its
``import email.utils`` means (imports are absolute).
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import socket
import ssl
import textwrap
from collections.abc import Mapping
from email.message import EmailMessage

import aiosmtplib

from mfa.config import EmailConfig
from mfa.delivery import (
    TRY_AGAIN,
    DeliveryError,
    Message,
    configured_secret,
    find_cause,
    host_port,
    mask_email,
)
from mfa.transport import TlsPlan, email_tls_plan, email_transport_refusal, is_loopback
from mfa.wording import seconds_words

_ASK_ADMIN_MAIL = "Ask an administrator to check the mail settings, or choose another method."
_ENHANCED_STATUS = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_PLAINTEXT_TLS_ERRORS = {
    # What OpenSSL reports when the other side answers a ClientHello in plain text (an SMTP
    # greeting): the server on that port expects STARTTLS, or no TLS at all.
    "WRONG_VERSION_NUMBER",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
    "UNKNOWN_PROTOCOL",
    "HTTP_REQUEST",
}


def greeting_name(config: EmailConfig) -> str:
    """The name this host gives in EHLO: ``helo_name``, or the machine's fully qualified name."""
    return config.helo_name or socket.getfqdn()


def greeting_problem(config: EmailConfig) -> str | None:
    """Why mail servers may refuse this host's greeting name (None: the name looks fine).

    A bare ``localhost`` (or any name without a dot) is what many kiosk hosts call themselves;
    servers that insist on a fully qualified name (Postfix ``reject_non_fqdn_helo_hostname``)
    refuse it, often only at the recipient, where it looks like a bad address.
    """
    name = greeting_name(config).strip().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        return None
    if name.lower() in {"localhost", "localhost.localdomain"} or "." not in name:
        where = (
            "email.helo_name" if config.helo_name else "this host's name (email.helo_name is empty)"
        )
        return (
            f"The mail server is greeted as {name!r} ({where}); servers that require a fully "
            "qualified name refuse that. Set email.helo_name to this host's name in DNS, like "
            "kiosk7.example.com."
        )
    return None


class EmailSender:
    """Sends email through the configured SMTP server, one connection per message.

    The TLS mode comes from :func:`mfa.transport.email_tls_plan`: ``opportunistic`` upgrades with
    STARTTLS when the server offers it, ``starttls`` refuses to go on without it, ``tls`` speaks TLS
    from the first byte, ``none`` never encrypts; a password for a server elsewhere is only ever
    sent encrypted. The whole send, from connecting to the server accepting the message, has one
    deadline (``timeout_seconds``); the server's greeting has a shorter one of its own
    (``greeting_timeout_seconds``), because a port that expects TLS from the first byte stays
    silent for ever.
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

    @property
    def plan(self) -> TlsPlan:
        """How the connection is protected (see :mod:`mfa.transport`)."""
        return email_tls_plan(
            self.config.tls, self.config.host, has_login=bool(self.config.username)
        )

    async def send(self, message: Message) -> None:
        """Deliver ``message`` to ``message.recipient`` by email.

        Raises:
            DeliveryError: the server couldn't be reached in time, refused the message, ...
        """
        refusal = email_transport_refusal(self.config.tls, self.config.host, self.config.username)
        if refusal is not None:
            raise DeliveryError(
                f"The code isn't sent: {refusal}. {_ASK_ADMIN_MAIL}", reason="not_configured"
            )
        mail = self._compose(message)
        password = self._password()
        plan = self.plan
        smtp: aiosmtplib.SMTP | None = None
        stage = "connect"
        accepted = False
        try:
            async with asyncio.timeout(self.config.timeout_seconds):
                smtp = aiosmtplib.SMTP(
                    hostname=self.config.host,
                    port=self.config.port,
                    use_tls=plan.mode == "tls",
                    start_tls=False,
                    tls_context=await self._tls_context(plan),
                    timeout=self.config.timeout_seconds,
                    local_hostname=self.config.helo_name or None,
                )
                await smtp.connect(
                    timeout=min(self.config.greeting_timeout_seconds, self.config.timeout_seconds)
                )
                stage = "greeting"
                await self._greet(smtp)
                if plan.mode == "starttls":
                    stage = "starttls"
                    if await self._start_tls(smtp, plan):
                        stage = "greeting"
                        await self._greet(smtp)
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
        # from_address may carry a display name: the Message-ID domain comes from the address.
        _, sender = email.utils.parseaddr(self.config.from_address)
        _, _, sender_domain = sender.rpartition("@")
        mail["Date"] = email.utils.formatdate(localtime=True)
        mail["Message-ID"] = email.utils.make_msgid(domain=sender_domain or "mfa-tui.local")
        mail["Auto-Submitted"] = "auto-generated"
        text = _wrap(message.body)
        if text.isascii():
            # Plain 7-bit text reads the same in a raw viewer: no quoted-printable "=" breaks.
            mail.set_content(text, charset="us-ascii", cte="7bit")
        else:
            mail.set_content(text)
        return mail

    def _password(self) -> str:
        if not self.config.username:
            return ""
        # An empty variable is passed on: the server decides whether it is the password.
        return configured_secret(
            self.config.password_file, self.config.password_env, self._environ,
            needs=f"The mail server {self.server} needs a password", ask=_ASK_ADMIN_MAIL,
            allow_empty=True,
        )  # fmt: skip

    async def _tls_context(self, plan: TlsPlan) -> ssl.SSLContext | None:
        """The context for this plan: the configured CA file or the system's, or (opportunistic,
        nothing secret to protect) encryption without checking whose certificate it is."""
        if plan.mode == "plain":
            return None
        try:
            # Loading certificates reads files: keep it off the event loop.
            context = await asyncio.to_thread(
                ssl.create_default_context, cafile=self.config.ca_file or None
            )
        except (OSError, ssl.SSLError) as error:
            raise DeliveryError(
                f"The certificate file {self.config.ca_file} for the mail server {self.server} "
                f"can't be used. {_ASK_ADMIN_MAIL}",
                reason="not_configured",
                detail=str(error),
            ) from error
        if not plan.verify and not self.config.ca_file:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def _greet(self, smtp: aiosmtplib.SMTP) -> None:
        """EHLO, or HELO for a server that doesn't know EHLO; a refusal raises SMTPHeloError."""
        try:
            await smtp.ehlo()
        except aiosmtplib.SMTPHeloError as error:
            if error.code not in (500, 502) or not smtp.is_connected:
                raise
            await smtp.helo()

    async def _start_tls(self, smtp: aiosmtplib.SMTP, plan: TlsPlan) -> bool:
        """Upgrade the connection; False when STARTTLS isn't offered and isn't required."""
        if not smtp.supports_extension("starttls"):
            if not plan.required:
                return False
            setting = (
                'email.tls = "starttls"'
                if self.config.tls == "starttls"
                else "a password is configured (email.username)"
            )
            raise DeliveryError(
                f"The mail server {self.server} doesn't offer STARTTLS, so the code can't be sent "
                f"securely ({setting}). {_ASK_ADMIN_MAIL}",
                reason="starttls_unavailable",
            )
        await smtp.starttls()
        return True

    async def _login(self, smtp: aiosmtplib.SMTP, password: str) -> None:
        if not smtp.supports_extension("auth"):
            raise DeliveryError(
                f"The mail server {self.server} doesn't offer sign-in (SMTP AUTH), but a user name "
                f"is configured (email.username). {_ASK_ADMIN_MAIL}",
                reason="auth_failed",
            )
        if smtp.get_transport_info("sslcontext") is None and not is_loopback(self.config.host):
            # email_tls_plan already requires TLS here; this is the last line before the password.
            raise DeliveryError(
                f"The connection to the mail server {self.server} isn't encrypted, so the password "
                f"isn't sent. {_ASK_ADMIN_MAIL}",
                reason="starttls_unavailable",
            )
        await smtp.login(self.config.username, password)

    def _explain(self, error: BaseException, stage: str, recipient: str) -> DeliveryError:
        """Turn what aiosmtplib (or the deadline) raised into a message for a person."""
        server = self.server
        detail = f"{type(error).__name__}: {error}"
        if (
            stage == "connect"
            and isinstance(error, aiosmtplib.SMTPConnectTimeoutError)
            and isinstance(error.__cause__, aiosmtplib.SMTPReadTimeoutError)
        ):
            # Connected, then silence: the greeting never came (see _silent_greeting).
            return self._silent_greeting(detail)
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
                f"isn't trusted or doesn't match the name (email.ca_file). {_ASK_ADMIN_MAIL}",
                reason="tls_failed",
                detail=f"{type(tls_error).__name__}: {tls_error.verify_message or tls_error}",
            )
        if (
            tls_error is not None
            and self.plan.mode == "tls"
            and stage == "connect"
            and getattr(tls_error, "reason", None) in _PLAINTEXT_TLS_ERRORS
        ):
            return DeliveryError(
                f"Couldn't set up a secure connection to the mail server {server}: it answered in "
                'plain text, so it doesn\'t expect TLS from the first byte (email.tls = "tls"). '
                'On this port it probably wants email.tls = "starttls" (usually port 587 or 25), '
                f"or implicit TLS is on another port (usually 465). {_ASK_ADMIN_MAIL}",
                reason="tls_failed",
                detail=f"{type(tls_error).__name__}: {tls_error}",
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
            detail = "; ".join(f"{r.code} {r.message}" for r in refusals)
            server_side = next((r for r in refusals if _not_the_address(r)), None)
            if server_side is not None:
                return self._server_refusal(server_side, detail)
            return DeliveryError(
                f"The mail server {server} refused to deliver to {mask_email(recipient)} "
                f"({codes}). Check the address or choose another method.",
                reason="recipient_refused",
                detail=detail,
            )
        if isinstance(error, aiosmtplib.SMTPResponseException) and error.code == 530:
            # RFC 3207 / 4954: "must issue STARTTLS first" or "authentication required".
            return DeliveryError(
                f"The mail server {server} wants a secure connection or a sign-in before it takes "
                f"mail ({error.code}): check email.tls and email.username. {_ASK_ADMIN_MAIL}",
                reason="rejected",
                detail=detail,
            )
        if isinstance(error, aiosmtplib.SMTPSenderRefused):
            return DeliveryError(
                f"The mail server {server} refused the sender address {error.sender} "
                f"({error.code}): check email.from_address. {_ASK_ADMIN_MAIL}",
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
        if isinstance(error, aiosmtplib.SMTPHeloError) or (
            isinstance(error, aiosmtplib.SMTPResponseException) and _not_the_address(error)
        ):
            return self._server_refusal(error, detail)
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

    def _silent_greeting(self, detail: str) -> DeliveryError:
        wait = seconds_words(min(self.config.greeting_timeout_seconds, self.config.timeout_seconds))
        if self.plan.mode == "tls":
            return DeliveryError(
                f"The mail server {self.server} accepted the connection but never answered within "
                f"{wait}. {TRY_AGAIN}",
                reason="timeout",
                detail=detail,
            )
        return DeliveryError(
            f"The mail server {self.server} accepted the connection but sent no greeting within "
            f"{wait}: a port that expects TLS from the first byte (usually 465) stays silent like "
            f'this. If so, set email.tls = "tls" for it, or use its STARTTLS port (usually 587). '
            f"{_ASK_ADMIN_MAIL}",
            reason="wrong_tls_mode",
            detail=detail,
        )

    def _server_refusal(
        self, error: aiosmtplib.SMTPResponseException, detail: str
    ) -> DeliveryError:
        """A refusal that is the mail server's rule for this host, whatever the address."""
        status = _status(error)
        if _is_greeting_refusal(error):
            return DeliveryError(
                f"The mail server {self.server} refused this host's greeting name "
                f"{greeting_name(self.config)!r} ({status}): it is the mail settings, not the "
                "address. Set email.helo_name to this host's full name in DNS. "
                f"{_ASK_ADMIN_MAIL}",
                reason="greeting_refused",
                detail=detail,
            )
        if "relay" in error.message.lower():
            what = "refused to relay mail from this host"
        else:
            what = "refused the message by its own policy"
        return DeliveryError(
            f"The mail server {self.server} {what} ({status}): it is the mail server's "
            "configuration, not the address. Ask an administrator to let this host send through "
            "it (or to set email.username and a password), or choose another method.",
            reason="policy_refused",
            detail=detail,
        )


def _status(error: aiosmtplib.SMTPResponseException) -> str:
    """``554 5.7.1`` when the reply carries an enhanced status code, else ``554``."""
    match = _ENHANCED_STATUS.match(error.message or "")
    return f"{error.code} {'.'.join(match.groups())}" if match else str(error.code)


def _is_greeting_refusal(error: aiosmtplib.SMTPResponseException) -> bool:
    # Postfix delays its HELO restrictions to RCPT by default ("504 5.5.2 <localhost>: Helo
    # command rejected: need fully-qualified hostname"), so the refusal arrives per recipient.
    return isinstance(error, aiosmtplib.SMTPHeloError) or "helo" in (error.message or "").lower()


def _not_the_address(error: aiosmtplib.SMTPResponseException) -> bool:
    """A refusal about this host or the server's rules (relaying, policy, the greeting)."""
    if _is_greeting_refusal(error):
        return True
    match = _ENHANCED_STATUS.match(error.message or "")
    if match is not None:
        return match.group(2) == "7"  # X.7.Y: security or policy status (RFC 3463)
    return "relay" in (error.message or "").lower()


def _wrap(body: str) -> str:
    """Lines of at most 76 characters, words (and the code) never split."""
    return "\n".join(
        textwrap.fill(line, 76, break_long_words=False, break_on_hyphens=False) if line else ""
        for line in body.split("\n")
    )

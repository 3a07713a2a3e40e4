"""Text messages: the SMS providers ``sms.provider`` can name, and the factory that builds one.

- ``http``: a Twilio-style REST gateway (:class:`HttpSmsGateway`);
- ``command``: an external program given the number and the text (:class:`CommandSmsProvider`);
- ``email``: a carrier's email-to-SMS gateway, through the mail server (:class:`EmailToSmsGateway`);
- ``outbox``: delivers nothing (:class:`OutboxSmsProvider`), for the demo inbox.

httpx is imported only inside the HTTP gateway: it pulls in Rich when Rich is installed (for its
command line), and the domain must not load Rich (tests/test_layers.py); it also keeps start-up lean.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mfa.config import Config, SmsConfig
from mfa.delivery import TRY_AGAIN, DeliveryError, Message, SmsProvider, find_cause, host_port
from mfa.delivery.email import EmailSender
from mfa.secret_files import SecretFileError, find_secret
from mfa.wording import seconds_words

if TYPE_CHECKING:
    import httpx

_ASK_ADMIN_SMS = "Ask an administrator to check the SMS settings, or choose another method."
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


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
        gateway = host_port(url.host, url.port or (443 if url.scheme == "https" else 80))
        environ = os.environ if self._environ is None else self._environ
        try:
            token = find_secret(self.config.http_token_file, self.config.http_token_env, environ)
        except SecretFileError as error:
            raise DeliveryError(
                f"The SMS gateway {gateway} needs a token, but its file can't be used ({error}). "
                f"{_ASK_ADMIN_SMS}",
                reason="not_configured",
            ) from None
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
                f"The SMS gateway {gateway} didn't answer within {seconds_words(timeout)}. {TRY_AGAIN}",
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
    tls_error = find_cause(error, ssl.SSLError)
    if tls_error is not None:
        return DeliveryError(
            f"Couldn't set up a secure connection to the SMS gateway {gateway}. {_ASK_ADMIN_SMS}",
            reason="tls_failed",
            detail=f"{type(tls_error).__name__}: {tls_error}",
        )
    if isinstance(error, httpx.ConnectError):
        return DeliveryError(
            f"Couldn't reach the SMS gateway {gateway}. {TRY_AGAIN}",
            reason="unreachable",
            detail=detail,
        )
    return DeliveryError(
        f"The connection to the SMS gateway {gateway} broke off. {TRY_AGAIN}",
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
            f"The SMS gateway {gateway} had an error (HTTP {status}). {TRY_AGAIN}",
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
                f"The SMS command {program} didn't finish within {seconds_words(timeout)}. {TRY_AGAIN}",
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
            f"The SMS command {program} failed ({how}). {TRY_AGAIN}",
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
    """Delivers nothing: the send pipeline logs every message in the ``outbox`` table (with its body
    in demo mode), and the demo inbox shows it from there."""

    async def send(self, message: Message) -> None:
        """Accept ``message``; there is nothing to deliver it to."""


def sms_provider_from_config(
    config: Config,
    email_sender: EmailSender,
    *,
    environ: Mapping[str, str] | None = None,
) -> SmsProvider:
    """The provider ``sms.provider`` names.

    Args:
        config: The whole configuration (the ``[sms]`` section is used).
        email_sender: Used by the ``email`` (email-to-SMS) provider.
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
        return OutboxSmsProvider()
    raise ValueError(
        f"{config.source}: sms.provider must be one of command, email, http, outbox, "
        f"not {sms.provider!r}."
    )


def _require_e164(number: str) -> str:
    """Refuse anything but ``+`` and digits, so a number can't smuggle options or addresses."""
    if not _E164.fullmatch(number):
        raise DeliveryError(
            "That mobile number can't be used. Enter it again with the country code.",
            reason="bad_recipient",
        )
    return number

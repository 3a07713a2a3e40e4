"""Text messages: the SMS providers ``sms.provider`` can name, and the factory that builds one.

- ``twilio``: Twilio's Messages API as documented (:class:`TwilioSmsGateway`): HTTP Basic with the
  account SID and auth token, the SID in the path, its error JSON turned into a sentence;
- ``http``: a generic HTTP gateway taking a bearer token (:class:`HttpSmsGateway`);
- ``command``: an external program given the number and the text (:class:`CommandSmsProvider`);
- ``email``: a carrier's email-to-SMS gateway, through the mail server (:class:`EmailToSmsGateway`);
- ``outbox``: delivers nothing (:class:`OutboxSmsProvider`), for the demo inbox.

httpx is imported only inside the HTTP gateway: it pulls in Rich when Rich is installed (for its
command line), and the domain must not load Rich (tests/test_layers.py); it also keeps start-up lean.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shlex
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING

from mfa.config import Config, SmsConfig
from mfa.delivery import (
    TRY_AGAIN,
    DeliveryError,
    FailureReason,
    Message,
    SmsProvider,
    configured_secret,
    find_cause,
    host_port,
)
from mfa.delivery.email import EmailSender
from mfa.transport import sms_gateway_refusal
from mfa.wording import seconds_words

if TYPE_CHECKING:
    import httpx

_ASK_ADMIN_SMS = "Ask an administrator to check the SMS settings, or choose another method."
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class HttpSmsGateway:
    """A generic HTTP gateway: a form-encoded POST of ``To``, ``From`` and ``Body`` with
    ``Authorization: Bearer <token>``; any 2xx answer means accepted."""

    def __init__(self, config: SmsConfig, *, environ: Mapping[str, str] | None = None) -> None:
        """Args:
        config: The ``[sms]`` section (``http_url``, ``http_token_env``, ``http_sender``).
        environ: Where the token variable is looked up at send time; ``os.environ`` when None.
        """
        self.config = config
        self._environ = environ

    async def send(self, message: Message) -> None:
        """POST the message to the gateway; any answer but 2xx is a :class:`DeliveryError`."""
        number = _require_e164(message.recipient)
        url, gateway = _gateway_url(self.config.http_url, "sms.http_url")
        token = configured_secret(
            self.config.http_token_file, self.config.http_token_env, self._environ,
            needs=f"The SMS gateway {gateway} needs a token", ask=_ASK_ADMIN_SMS,
        )  # fmt: skip
        form = {"To": number, "Body": message.body}
        if self.config.http_sender:
            form["From"] = self.config.http_sender
        response = await _post(
            url,
            form,
            gateway,
            self.config.timeout_seconds,
            headers={"Authorization": f"Bearer {token}"},
        )
        _check_gateway_answer(response, gateway)


class TwilioSmsGateway:
    """Twilio's Messages API: ``POST {twilio_api_url}/2010-04-01/Accounts/{SID}/Messages.json``.

    HTTP Basic authentication with the account SID and the auth token (from the environment
    variable ``twilio_auth_token_env``); the form carries ``To``, ``Body`` and ``From`` (or
    ``MessagingServiceSid``). Twilio answers ``201 Created`` when it has queued the message, and an
    error as JSON ``{"code": 21608, "message": ..., "more_info": ..., "status": 400}``: the code is
    turned into a sentence (:func:`twilio_sentence`).
    """

    def __init__(self, config: SmsConfig, *, environ: Mapping[str, str] | None = None) -> None:
        self.config = config
        self._environ = environ

    async def send(self, message: Message) -> None:
        """Ask Twilio to send the text; raise :class:`DeliveryError` unless it accepted it."""
        number = _require_e164(message.recipient)
        sid = self.config.twilio_account_sid.strip()
        if not sid:
            raise DeliveryError(
                f"No Twilio account is configured (sms.twilio_account_sid). {_ASK_ADMIN_SMS}",
                reason="not_configured",
            )
        sender = self.config.twilio_from.strip()
        service = self.config.twilio_messaging_service_sid.strip()
        if not sender and not service:
            raise DeliveryError(
                "No Twilio sender is configured (sms.twilio_from or "
                f"sms.twilio_messaging_service_sid). {_ASK_ADMIN_SMS}",
                reason="not_configured",
            )
        token = configured_secret(
            self.config.twilio_auth_token_file, self.config.twilio_auth_token_env, self._environ,
            needs="Twilio needs the account's auth token", ask=_ASK_ADMIN_SMS,
        )  # fmt: skip
        base = self.config.twilio_api_url.strip().rstrip("/")
        base_url, gateway = _gateway_url(base, "sms.twilio_api_url")
        url = base_url.join(f"{base_url.path.rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json")
        form = {"To": number, "Body": message.body}
        if service:
            form["MessagingServiceSid"] = service
        else:
            form["From"] = sender
        response = await _post(url, form, gateway, self.config.timeout_seconds, auth=(sid, token))
        status = response.status_code
        if 200 <= status < 300:
            return
        code, _text = _twilio_error(response)
        raise twilio_failure(status, code, gateway)


def _twilio_error(response: httpx.Response) -> tuple[int | None, str]:
    """Twilio's error code and message, when the answer is its error JSON."""
    try:
        data = response.json()
    except ValueError:
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    code = data.get("code")
    text = data.get("message")
    return (code if isinstance(code, int) else None), (text if isinstance(text, str) else "")


_CHECK_NUMBER = "Check the number or choose another method."

_TWILIO_SENTENCES: dict[int, tuple[str, str, FailureReason]] = {
    # code: (what happened, what to do, reason). Codes from Twilio's error dictionary.
    20003: (
        "didn't accept the account SID and auth token",
        _ASK_ADMIN_SMS,
        "gateway_refused",
    ),
    20429: ("is receiving too many requests", TRY_AGAIN, "gateway_error"),
    21211: ("says the number isn't a valid phone number", _CHECK_NUMBER, "gateway_refused"),
    21408: (
        "isn't allowed to text that country from this account",
        _ASK_ADMIN_SMS,
        "gateway_refused",
    ),
    21606: (
        "can't send from the configured number (sms.twilio_from)",
        _ASK_ADMIN_SMS,
        "gateway_refused",
    ),
    21608: (
        "can only text verified numbers from a trial account, and this number isn't verified",
        "Ask an administrator to verify the number in Twilio or upgrade the account, or choose "
        "another method.",
        "gateway_refused",
    ),
    21610: (
        "won't text this number: it has unsubscribed (replied STOP)",
        "Reply START to the sending number from that phone, or choose another method.",
        "gateway_refused",
    ),
    21612: ("can't reach this number from the sending number", _ASK_ADMIN_SMS, "gateway_refused"),
    21614: (
        "says the number can't receive text messages (a landline or not a mobile number)",
        "Enter a mobile number or choose another method.",
        "gateway_refused",
    ),
}


def twilio_failure(status: int, code: int | None, gateway: str) -> DeliveryError:
    """The :class:`DeliveryError` for a Twilio error answer (HTTP ``status``, Twilio ``code``)."""
    detail = f"HTTP {status}" + (f", Twilio error {code}" if code is not None else "")
    known = _TWILIO_SENTENCES.get(code) if code is not None else None
    if known is not None:
        what, advice, reason = known
        return DeliveryError(
            f"Twilio ({gateway}) {what} (error {code}). {advice}", reason=reason, detail=detail
        )
    if status in (401, 403):
        return twilio_failure(status, 20003, gateway)
    if status == 429:
        return twilio_failure(status, 20429, gateway)
    if status >= 500:
        return DeliveryError(
            f"Twilio ({gateway}) had an error (HTTP {status}). {TRY_AGAIN}",
            reason="gateway_error",
            detail=detail,
        )
    about = f"error {code}, see twilio.com/docs/errors/{code}" if code else f"HTTP {status}"
    return DeliveryError(
        f"Twilio ({gateway}) refused the message ({about}). {_ASK_ADMIN_SMS}",
        reason="gateway_refused",
        detail=detail,
    )


def _gateway_url(text: str, key: str) -> tuple[httpx.URL, str]:
    """The gateway's URL and its name for messages; refuses what isn't a usable https URL."""
    import httpx

    text = text.strip()
    if not text:
        raise DeliveryError(
            f"No SMS gateway address is configured ({key}). {_ASK_ADMIN_SMS}",
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
    refusal = sms_gateway_refusal(text, key)
    if refusal is not None:
        # The configuration refuses this at start-up; this is the last line before a secret goes.
        raise DeliveryError(
            f"The code isn't sent: {refusal}. {_ASK_ADMIN_SMS}", reason="not_configured"
        )
    return url, host_port(url.host, url.port or (443 if url.scheme == "https" else 80))


async def _post(
    url: httpx.URL,
    form: dict[str, str],
    gateway: str,
    timeout: float,
    *,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> httpx.Response:
    """POST ``form`` within ``timeout``; failures to talk at all become a :class:`DeliveryError`."""
    # Imported here: httpx pulls in Rich when it is installed (for its command line), and
    # the domain must not load Rich (tests/test_layers.py); it also keeps start-up lean.
    import httpx

    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
        ):
            return await client.post(url, data=form, headers=headers, auth=auth)
    except (TimeoutError, httpx.TimeoutException) as error:
        raise DeliveryError(
            f"The SMS gateway {gateway} didn't answer within {seconds_words(timeout)}. {TRY_AGAIN}",
            reason="timeout",
            detail=f"{type(error).__name__}: {error}",
        ) from error
    except httpx.HTTPError as error:
        raise _explain_http_failure(error, gateway) from error


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
    if sms.provider == "twilio":
        return TwilioSmsGateway(sms, environ=environ)
    if sms.provider == "http":
        return HttpSmsGateway(sms, environ=environ)
    if sms.provider == "command":
        return CommandSmsProvider(sms)
    if sms.provider == "email":
        return EmailToSmsGateway(sms, email_sender)
    if sms.provider == "outbox":
        return OutboxSmsProvider()
    raise ValueError(
        f"{config.source}: sms.provider must be one of command, email, http, outbox, twilio, "
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

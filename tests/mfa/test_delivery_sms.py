"""SMS delivery: a real local HTTP gateway, a real external command, email-to-SMS, the outbox."""

from __future__ import annotations

import base64
import json
import shlex
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from mfa.config import Config, ConfigError, SmsConfig, build_config
from mfa.delivery import DeliveryError, Message, SmsProvider
from mfa.delivery.email import EmailSender
from mfa.delivery.sms import (
    CommandSmsProvider,
    EmailToSmsGateway,
    HttpSmsGateway,
    OutboxSmsProvider,
    TwilioSmsGateway,
    sms_provider_from_config,
)
from mfa.transport import sms_gateway_refusal
from tests.smtp_server import HOST, SmtpSink, unused_port

TEXT = Message(
    channel="sms",
    recipient="+14155550100",
    subject="Sign-in code",
    body="Your mfa-tui code is 507211.",
)
TOKEN_ENV = "TEST_SMS_TOKEN"


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]


@dataclass
class Gateway:
    """A local HTTP server standing in for a Twilio-style gateway."""

    port: int = 0
    status: int = 201
    requests: list[RecordedRequest] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/2010-04-01/Accounts/AC123/Messages.json"


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode()
            state.requests.append(
                RecordedRequest("POST", self.path, dict(self.headers.items()), parse_qs(body))
            )
            reply = b'{"sid": "SM1"}' if state.status < 400 else b'{"message": "no"}'
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def http_provider(url: str, *, token: str | None = "tok-123") -> HttpSmsGateway:
    config = SmsConfig(
        provider="http",
        http_url=url,
        http_token_env=TOKEN_ENV,
        http_sender="+15005550006",
        timeout_seconds=5.0,
    )
    return HttpSmsGateway(config, environ={} if token is None else {TOKEN_ENV: token})


# ------------------------------------------------------------------------------------- HTTP gateway


async def test_http_gateway_posts_the_form_with_the_bearer_token(gateway: Gateway) -> None:
    await http_provider(gateway.url).send(TEXT)

    [request] = gateway.requests
    assert request.method == "POST"
    assert request.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form == {
        "To": ["+14155550100"],
        "From": ["+15005550006"],
        "Body": ["Your mfa-tui code is 507211."],
    }


async def test_http_gateway_400_is_a_refusal(gateway: Gateway) -> None:
    gateway.status = 400
    with pytest.raises(DeliveryError) as caught:
        await http_provider(gateway.url).send(TEXT)

    assert caught.value.reason == "gateway_refused"
    assert str(caught.value) == (
        f"The SMS gateway {HOST}:{gateway.port} refused the message (HTTP 400). "
        "Check the number or choose another method."
    )
    assert "507211" not in caught.value.detail


async def test_http_gateway_401_points_at_the_token(gateway: Gateway) -> None:
    gateway.status = 401
    with pytest.raises(DeliveryError) as caught:
        await http_provider(gateway.url).send(TEXT)

    assert caught.value.reason == "gateway_refused"
    assert "(HTTP 401)" in str(caught.value)
    assert "token" in str(caught.value)


async def test_http_gateway_503_is_a_gateway_error(gateway: Gateway) -> None:
    gateway.status = 503
    with pytest.raises(DeliveryError) as caught:
        await http_provider(gateway.url).send(TEXT)

    assert caught.value.reason == "gateway_error"
    assert str(caught.value) == (
        f"The SMS gateway {HOST}:{gateway.port} had an error (HTTP 503). "
        "Try again or choose another method."
    )


async def test_http_gateway_unreachable() -> None:
    port = unused_port()
    with pytest.raises(DeliveryError) as caught:
        await http_provider(f"http://{HOST}:{port}/messages").send(TEXT)

    assert caught.value.reason == "unreachable"
    assert str(caught.value) == (
        f"Couldn't reach the SMS gateway {HOST}:{port}. Try again or choose another method."
    )


async def test_http_gateway_without_token_sends_nothing(gateway: Gateway) -> None:
    with pytest.raises(DeliveryError) as caught:
        await http_provider(gateway.url, token=None).send(TEXT)

    assert caught.value.reason == "not_configured"
    assert TOKEN_ENV in str(caught.value)
    assert gateway.requests == []


@pytest.mark.parametrize("url", ["", "ftp://example.com/x", "not a url"])
async def test_http_gateway_bad_url(url: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        await http_provider(url).send(TEXT)

    assert caught.value.reason == "not_configured"


async def test_http_gateway_refuses_a_number_that_is_not_e164(gateway: Gateway) -> None:
    bad = Message("sms", "4155550100", "Code", "123456")
    with pytest.raises(DeliveryError) as caught:
        await http_provider(gateway.url).send(bad)

    assert caught.value.reason == "bad_recipient"
    assert gateway.requests == []


# ------------------------------------------------------------------------------------------ command

_WRITE_STDIN_AND_ARGS = (
    "import sys, pathlib; "
    "pathlib.Path(sys.argv[1]).write_text(sys.argv[-1] + '\\n' + sys.stdin.read())"
)


def command_provider(command: str, timeout: float = 10.0) -> CommandSmsProvider:
    return CommandSmsProvider(
        SmsConfig(provider="command", command=command, timeout_seconds=timeout)
    )


def python_command(code: str, *args: str) -> str:
    return shlex.join([sys.executable, "-c", code, *args])


async def test_command_gets_the_number_as_last_argument_and_the_body_on_stdin(
    tmp_path: Path,
) -> None:
    out = tmp_path / "sent.txt"
    await command_provider(python_command(_WRITE_STDIN_AND_ARGS, str(out))).send(TEXT)

    assert out.read_text() == "+14155550100\nYour mfa-tui code is 507211."


async def test_command_failure_reports_the_exit_code() -> None:
    command = python_command("import sys; sys.stdin.read(); sys.exit(3)")
    with pytest.raises(DeliveryError) as caught:
        await command_provider(command).send(TEXT)

    assert caught.value.reason == "command_failed"
    assert str(caught.value) == (
        f"The SMS command {sys.executable} failed (exit code 3). "
        "Try again or choose another method."
    )


async def test_command_that_does_not_read_stdin_still_counts_by_exit_code() -> None:
    await command_provider(python_command("pass")).send(TEXT)


async def test_command_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-sms-tool"
    with pytest.raises(DeliveryError) as caught:
        await command_provider(str(missing)).send(TEXT)

    assert caught.value.reason == "command_failed"
    assert "couldn't be started" in str(caught.value)


async def test_command_past_the_deadline_is_stopped() -> None:
    command = python_command("import time; time.sleep(30)")
    with pytest.raises(DeliveryError) as caught:
        await command_provider(command, timeout=0.5).send(TEXT)

    assert caught.value.reason == "timeout"
    assert "didn't finish within 0.5 seconds" in str(caught.value)


async def test_empty_command_is_a_configuration_problem() -> None:
    with pytest.raises(DeliveryError) as caught:
        await command_provider("   ").send(TEXT)

    assert caught.value.reason == "not_configured"


# ------------------------------------------------------------------------------ email-to-SMS, outbox


async def test_email_to_sms_gateway_mails_the_digits_at_the_domain() -> None:
    async with SmtpSink() as sink:
        sender = EmailSender(sink.email_config())
        provider = EmailToSmsGateway(
            SmsConfig(provider="email", email_domain="sms.example"), sender
        )
        await provider.send(TEXT)

    [received] = sink.messages
    assert received["To"] == "14155550100@sms.example"
    assert "507211" in received.get_content()


async def test_email_to_sms_gateway_without_domain() -> None:
    sender = EmailSender(Config().email)
    provider = EmailToSmsGateway(SmsConfig(provider="email"), sender)
    with pytest.raises(DeliveryError) as caught:
        await provider.send(TEXT)

    assert caught.value.reason == "not_configured"


async def test_outbox_accepts_a_message_and_delivers_nothing() -> None:
    # The send pipeline logs every message in the outbox table; the provider only has to accept it.
    assert await OutboxSmsProvider().send(TEXT) is None


@pytest.mark.parametrize(
    ("provider", "kind"),
    [
        ("http", HttpSmsGateway),
        ("command", CommandSmsProvider),
        ("email", EmailToSmsGateway),
        ("outbox", OutboxSmsProvider),
    ],
)
def test_factory_builds_the_configured_provider(provider: str, kind: type) -> None:
    config = Config().replace("sms", provider=provider)
    built = sms_provider_from_config(config, EmailSender(config.email))

    assert isinstance(built, kind)
    assert isinstance(built, SmsProvider)


# ------------------------------------------------------------------------------ Twilio, as it is

SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "twilio-auth-token"
TWILIO_TOKEN_ENV = "TEST_TWILIO_AUTH_TOKEN"


@dataclass
class FakeTwilio:
    """A local server answering like Twilio's Messages API (2010-04-01)."""

    port: int = 0
    error_code: int | None = None
    """Answer with this Twilio error (HTTP 400) instead of queueing the message."""
    requests: list[RecordedRequest] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    state = FakeTwilio()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            state.requests.append(RecordedRequest("POST", self.path, dict(self.headers), form))
            expected = "Basic " + base64.b64encode(f"{SID}:{AUTH_TOKEN}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
            elif self.path != f"/2010-04-01/Accounts/{SID}/Messages.json":
                self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
            elif state.error_code is not None:
                self._answer(
                    400,
                    {
                        "code": state.error_code,
                        "message": f"The 'To' number {form['To'][0]} is not allowed.",
                        "more_info": f"https://www.twilio.com/docs/errors/{state.error_code}",
                        "status": 400,
                    },
                )
            else:
                self._answer(201, {"sid": "SM" + "0" * 32, "status": "queued", "to": form["To"][0]})

        def _answer(self, status: int, data: dict[str, object]) -> None:
            reply = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((HOST, 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def twilio_provider(
    twilio: FakeTwilio, *, token: str = AUTH_TOKEN, **settings: str
) -> TwilioSmsGateway:
    values = {
        "provider": "twilio",
        "twilio_account_sid": SID,
        "twilio_auth_token_env": TWILIO_TOKEN_ENV,
        "twilio_from": "+15005550006",
        "twilio_api_url": twilio.url,
        "timeout_seconds": 5.0,
        **settings,
    }
    return TwilioSmsGateway(SmsConfig(**values), environ={TWILIO_TOKEN_ENV: token})  # type: ignore[arg-type]


async def test_twilio_basic_auth_sid_in_the_path_and_the_form(twilio: FakeTwilio) -> None:
    await twilio_provider(twilio).send(TEXT)

    [request] = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.headers["Authorization"].startswith("Basic ")
    assert base64.b64decode(request.headers["Authorization"][6:]).decode() == f"{SID}:{AUTH_TOKEN}"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form == {
        "To": ["+14155550100"],
        "From": ["+15005550006"],
        "Body": ["Your mfa-tui code is 507211."],
    }


async def test_twilio_messaging_service_instead_of_a_number(twilio: FakeTwilio) -> None:
    await twilio_provider(twilio, twilio_messaging_service_sid="MG" + "1" * 32).send(TEXT)

    [request] = twilio.requests
    assert request.form["MessagingServiceSid"] == ["MG" + "1" * 32]
    assert "From" not in request.form


@pytest.mark.parametrize(
    ("code", "sentence"),
    [
        (
            21608,
            "can only text verified numbers from a trial account, and this number isn't verified "
            "(error 21608). Ask an administrator to verify the number in Twilio or upgrade the "
            "account, or choose another method.",
        ),
        (
            21614,
            "says the number can't receive text messages (a landline or not a mobile number) "
            "(error 21614). Enter a mobile number or choose another method.",
        ),
        (
            21211,
            "says the number isn't a valid phone number (error 21211). Check the number or "
            "choose another method.",
        ),
        (
            30999,
            "refused the message (error 30999, see twilio.com/docs/errors/30999). Ask an "
            "administrator to check the SMS settings, or choose another method.",
        ),
    ],
)
async def test_twilio_errors_become_sentences(twilio: FakeTwilio, code: int, sentence: str) -> None:
    twilio.error_code = code
    with pytest.raises(DeliveryError) as caught:
        await twilio_provider(twilio).send(TEXT)

    assert caught.value.reason == "gateway_refused"
    assert str(caught.value) == f"Twilio ({HOST}:{twilio.port}) {sentence}"
    assert caught.value.detail == f"HTTP 400, Twilio error {code}"
    assert "+14155550100" not in str(caught.value) + caught.value.detail


async def test_twilio_wrong_auth_token(twilio: FakeTwilio) -> None:
    with pytest.raises(DeliveryError) as caught:
        await twilio_provider(twilio, token="wrong").send(TEXT)

    assert caught.value.reason == "gateway_refused"
    assert "didn't accept the account SID and auth token (error 20003)" in str(caught.value)


async def test_twilio_without_the_auth_token_sends_nothing(twilio: FakeTwilio) -> None:
    provider = twilio_provider(twilio)
    provider._environ = {}
    with pytest.raises(DeliveryError) as caught:
        await provider.send(TEXT)

    assert caught.value.reason == "not_configured"
    assert TWILIO_TOKEN_ENV in str(caught.value)
    assert twilio.requests == []


async def test_twilio_without_a_sender_is_a_configuration_problem(twilio: FakeTwilio) -> None:
    with pytest.raises(DeliveryError) as caught:
        await twilio_provider(twilio, twilio_from="").send(TEXT)

    assert caught.value.reason == "not_configured"
    assert "sms.twilio_from" in str(caught.value)


# ------------------------------------------------------------------- no secrets over plain http


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://sms.example.com/send", True),
        ("http://10.0.0.7/send", True),
        ("https://sms.example.com/send", False),
        ("http://127.0.0.1:8080/send", False),
        ("http://localhost/send", False),
        ("http://[::1]:8080/send", False),
    ],
)
def test_a_plain_http_gateway_elsewhere_is_refused(url: str, refused: bool) -> None:
    assert (sms_gateway_refusal(url) is not None) is refused
    raw = {"sms": {"provider": "http", "http_url": url}}
    if refused:
        with pytest.raises(ConfigError, match=r"sms\.http_url is http://"):
            build_config(raw, "f.toml", {})
    else:
        build_config(raw, "f.toml", {})


async def test_a_plain_http_gateway_elsewhere_gets_nothing_at_send_time() -> None:
    # Built without the configuration's check: the provider refuses before connecting.
    with pytest.raises(DeliveryError) as caught:
        await http_provider("http://sms.example.com/send").send(TEXT)

    assert caught.value.reason == "not_configured"
    assert "https://" in str(caught.value)


def test_twilio_is_named_by_the_factory() -> None:
    config = Config().replace("sms", provider="twilio")
    built = sms_provider_from_config(config, EmailSender(config.email))
    assert isinstance(built, TwilioSmsGateway)

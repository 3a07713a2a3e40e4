"""Email delivery against a real SMTP server (aiosmtpd on 127.0.0.1), TLS modes and failures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mfa.config import EmailConfig
from mfa.delivery import DeliveryError, Message, mask_email
from mfa.delivery.email import EmailSender
from tests.smtp_server import (
    HOST,
    SmtpSink,
    TestCertificate,
    make_test_certificate,
    silent_server,
    unused_port,
)

CODE_MESSAGE = Message(
    channel="email",
    recipient="john@example.com",
    subject="Your sign-in code",
    body="Your code is 428913. It expires in 10 minutes.",
)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> TestCertificate:
    return make_test_certificate(tmp_path_factory.mktemp("certs"))


async def test_plain_delivery_reaches_the_recipient() -> None:
    async with SmtpSink() as sink:
        await EmailSender(sink.email_config(from_address="codes@mfa.example")).send(CODE_MESSAGE)

    assert len(sink.messages) == 1
    received = sink.messages[0]
    assert received["To"] == "john@example.com"
    assert received["From"] == "codes@mfa.example"
    assert received["Subject"] == "Your sign-in code"
    assert "Your code is 428913." in received.get_content()
    assert sink.envelopes == [("codes@mfa.example", ["john@example.com"])]
    assert sink.messages_to("JOHN@example.com") == [received]


async def test_starttls_with_the_configured_ca_file(certificate: TestCertificate) -> None:
    async with SmtpSink(starttls_cert=certificate) as sink:
        config = sink.email_config()
        assert config.tls == "starttls"
        await EmailSender(config).send(CODE_MESSAGE)

    assert [m["To"] for m in sink.messages] == ["john@example.com"]
    assert "428913" in sink.messages[0].get_content()


async def test_implicit_tls(certificate: TestCertificate) -> None:
    async with SmtpSink(implicit_tls_cert=certificate) as sink:
        await EmailSender(sink.email_config()).send(CODE_MESSAGE)

    assert len(sink.messages) == 1


async def test_starttls_required_but_not_offered() -> None:
    async with SmtpSink() as sink:
        config = sink.email_config(tls="starttls")
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(config).send(CODE_MESSAGE)

    assert caught.value.reason == "starttls_unavailable"
    assert str(caught.value) == (
        f"The mail server {HOST}:{sink.port} doesn't offer STARTTLS, so the code can't be sent "
        "securely. Ask an administrator to check the mail settings, or choose another method."
    )
    assert sink.messages == []


async def test_untrusted_certificate_is_refused(certificate: TestCertificate) -> None:
    async with SmtpSink(starttls_cert=certificate) as sink:
        # Without the CA file only the system's authorities are trusted: not our self-signed one.
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(sink.email_config(ca_file="")).send(CODE_MESSAGE)

    assert caught.value.reason == "tls_failed"
    assert f"secure connection to the mail server {HOST}:{sink.port}" in str(caught.value)
    assert "certificate" in str(caught.value)
    assert sink.messages == []


async def test_implicit_tls_against_a_plain_server_is_a_handshake_failure() -> None:
    async with SmtpSink() as sink:
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(sink.email_config(tls="tls")).send(CODE_MESSAGE)

    assert caught.value.reason == "tls_failed"
    assert str(caught.value).startswith(
        f"Couldn't set up a secure connection to the mail server {HOST}:{sink.port}"
    )


async def test_plain_mode_against_a_server_that_requires_starttls(
    certificate: TestCertificate,
) -> None:
    async with SmtpSink(starttls_cert=certificate) as sink:
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(sink.email_config(tls="none")).send(CODE_MESSAGE)

    assert caught.value.reason == "rejected"
    assert "wants a secure connection or a sign-in" in str(caught.value)
    assert sink.messages == []


async def test_server_down_names_host_and_port() -> None:
    port = unused_port()
    config = EmailConfig(host=HOST, port=port, timeout_seconds=5.0)
    with pytest.raises(DeliveryError) as caught:
        await EmailSender(config).send(CODE_MESSAGE)

    assert caught.value.reason == "unreachable"
    assert str(caught.value) == (
        f"Couldn't reach the mail server {HOST}:{port}. Try again or choose another method."
    )


async def test_recipient_refused() -> None:
    async with SmtpSink(refuse_recipients={"john@example.com"}) as sink:
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(sink.email_config()).send(CODE_MESSAGE)

    assert caught.value.reason == "recipient_refused"
    assert str(caught.value) == (
        f"The mail server {HOST}:{sink.port} refused to deliver to j***@example.com (550). "
        "Check the address or choose another method."
    )
    assert "Mailbox unavailable" in caught.value.detail
    assert sink.messages == []


async def test_authentication_succeeds_with_the_password_from_the_environment() -> None:
    async with SmtpSink(credentials=("mailer", "s3cret")) as sink:
        sender = EmailSender(
            sink.email_config(password_env="TEST_SMTP_PASSWORD"),
            environ={"TEST_SMTP_PASSWORD": "s3cret"},
        )
        await sender.send(CODE_MESSAGE)

    assert sink.auth_attempts == ["mailer"]
    assert len(sink.messages) == 1


async def test_authentication_refused() -> None:
    async with SmtpSink(credentials=("mailer", "s3cret")) as sink:
        sender = EmailSender(
            sink.email_config(password_env="TEST_SMTP_PASSWORD"),
            environ={"TEST_SMTP_PASSWORD": "wrong"},
        )
        with pytest.raises(DeliveryError) as caught:
            await sender.send(CODE_MESSAGE)

    assert caught.value.reason == "auth_failed"
    assert str(caught.value) == (
        f"The mail server {HOST}:{sink.port} didn't accept the configured user name and "
        "password. Ask an administrator to check the mail settings, or choose another method."
    )
    assert sink.messages == []


async def test_password_variable_missing() -> None:
    async with SmtpSink(credentials=("mailer", "s3cret")) as sink:
        sender = EmailSender(sink.email_config(password_env="TEST_SMTP_PASSWORD"), environ={})
        with pytest.raises(DeliveryError) as caught:
            await sender.send(CODE_MESSAGE)

    assert caught.value.reason == "not_configured"
    assert "TEST_SMTP_PASSWORD" in str(caught.value)
    assert sink.auth_attempts == []


async def test_password_is_read_at_send_time() -> None:
    environ: dict[str, str] = {}
    async with SmtpSink(credentials=("mailer", "s3cret")) as sink:
        sender = EmailSender(sink.email_config(password_env="TEST_SMTP_PASSWORD"), environ=environ)
        environ["TEST_SMTP_PASSWORD"] = "s3cret"
        await sender.send(CODE_MESSAGE)

    assert len(sink.messages) == 1


async def test_silent_server_hits_the_deadline() -> None:
    async with silent_server() as port:
        config = EmailConfig(host=HOST, port=port, timeout_seconds=0.5)
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(config).send(CODE_MESSAGE)
        elapsed = time.monotonic() - started

    assert caught.value.reason == "timeout"
    assert str(caught.value) == (
        f"The mail server {HOST}:{port} didn't answer within 0.5 seconds. "
        "Try again or choose another method."
    )
    assert elapsed < 3


async def test_unusable_ca_file(tmp_path: Path) -> None:
    config = EmailConfig(
        host=HOST, port=unused_port(), tls="starttls", ca_file=str(tmp_path / "missing.pem")
    )
    with pytest.raises(DeliveryError) as caught:
        await EmailSender(config).send(CODE_MESSAGE)

    assert caught.value.reason == "not_configured"
    assert "missing.pem" in str(caught.value)


async def test_header_injection_in_the_recipient_is_refused() -> None:
    async with SmtpSink() as sink:
        bad = Message("email", "john@example.com\r\nBcc: eve@example.com", "Code", "123456")
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(sink.email_config()).send(bad)

    assert caught.value.reason == "bad_recipient"
    assert sink.messages == []


def test_errors_and_reprs_never_carry_the_body() -> None:
    assert "428913" not in repr(CODE_MESSAGE)


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("john@example.com", "j***@example.com"),
        ("j@example.com", "j***@example.com"),
        ("@example.com", "***@example.com"),
        ("not-an-address", "***"),
    ],
)
def test_mask_email(address: str, masked: str) -> None:
    assert mask_email(address) == masked

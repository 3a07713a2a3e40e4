"""Email delivery against a real SMTP server (aiosmtpd on 127.0.0.1), TLS modes and failures."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from mfa.config import EmailConfig
from mfa.delivery import DeliveryError, Message, mask_email
from mfa.delivery.email import EmailSender, greeting_problem
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
        'securely (email.tls = "starttls"). Ask an administrator to check the mail settings, or '
        "choose another method."
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


# ------------------------------------------------------------------ transport defaults (TLS modes)


async def test_opportunistic_is_the_default_and_upgrades_when_offered(
    certificate: TestCertificate,
) -> None:
    assert EmailConfig().tls == "opportunistic"
    # STARTTLS offered but not required by the server, and no CA file: the client chose TLS.
    async with SmtpSink(starttls_cert=certificate, require_starttls=False) as sink:
        config = sink.email_config(tls=EmailConfig().tls, ca_file="")
        await EmailSender(config).send(CODE_MESSAGE)

    assert sink.encrypted == [True]


async def test_opportunistic_without_starttls_sends_in_plain_text() -> None:
    async with SmtpSink() as sink:
        await EmailSender(sink.email_config(tls="opportunistic")).send(CODE_MESSAGE)

    assert sink.encrypted == [False]


async def test_explicit_starttls_is_encrypted(certificate: TestCertificate) -> None:
    async with SmtpSink(starttls_cert=certificate) as sink:
        await EmailSender(sink.email_config()).send(CODE_MESSAGE)

    assert sink.encrypted == [True]


async def test_password_in_plain_text_to_another_host_is_refused_before_connecting() -> None:
    # Nothing listens there (and the name doesn't resolve): the refusal comes before any network.
    config = EmailConfig(host="smtp.example.com", port=25, tls="none", username="mailer")
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        await EmailSender(config, environ={"MFA_TUI_SMTP_PASSWORD": "s3cret"}).send(CODE_MESSAGE)

    assert time.monotonic() - started < 0.5
    assert caught.value.reason == "not_configured"
    assert 'email.tls = "none"' in str(caught.value)
    assert "smtp.example.com" in str(caught.value)


async def test_password_in_plain_text_to_loopback_is_allowed() -> None:
    async with SmtpSink(credentials=("mailer", "s3cret")) as sink:
        config = sink.email_config(tls="none", password_env="P")
        await EmailSender(config, environ={"P": "s3cret"}).send(CODE_MESSAGE)

    assert sink.auth_attempts == ["mailer"]


# ------------------------------------------------------------------------------ the greeting name


async def test_helo_name_is_the_greeting() -> None:
    async with SmtpSink() as sink:
        await EmailSender(sink.email_config(helo_name="kiosk7.example.com")).send(CODE_MESSAGE)

    assert sink.helo_names == ["kiosk7.example.com"]


async def test_bare_localhost_refused_at_rcpt_points_at_helo_name() -> None:
    # Postfix's reject_non_fqdn_helo_hostname answers at RCPT: it must not read as a bad address.
    async with SmtpSink(require_fqdn_helo=True) as sink:
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(sink.email_config(helo_name="localhost")).send(CODE_MESSAGE)

        await EmailSender(sink.email_config(helo_name="kiosk7.example.com")).send(CODE_MESSAGE)

    message = str(caught.value)
    assert caught.value.reason == "greeting_refused"
    assert message == (
        f"The mail server {HOST}:{sink.port} refused this host's greeting name 'localhost' "
        "(504 5.5.2): it is the mail settings, not the address. Set email.helo_name to this "
        "host's full name in DNS. Ask an administrator to check the mail settings, or choose "
        "another method."
    )
    assert len(sink.messages) == 1


async def test_greeting_refused_at_ehlo() -> None:
    reply = "504 5.5.2 <kiosk>: Helo command rejected: need fully-qualified hostname"
    async with SmtpSink(helo_reply=reply) as sink:
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(sink.email_config(helo_name="kiosk")).send(CODE_MESSAGE)

    assert caught.value.reason == "greeting_refused"
    assert "'kiosk' (504 5.5.2)" in str(caught.value)
    assert "email.helo_name" in str(caught.value)
    assert "Try again" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "problem"),
    [("localhost", True), ("kiosk7", True), ("kiosk7.example.com", False), ("[10.0.0.7]", False)],
)
def test_greeting_problem(name: str, problem: bool) -> None:
    found = greeting_problem(EmailConfig(helo_name=name))
    assert (found is not None) == problem
    if found:
        assert "email.helo_name" in found and repr(name) in found


def test_greeting_problem_with_the_machine_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getfqdn", lambda: "localhost")
    found = greeting_problem(EmailConfig())
    assert found is not None
    assert "'localhost'" in found and "email.helo_name is empty" in found


# ------------------------------------------------------------------- advice that fits the failure


async def test_relay_refusal_is_the_servers_configuration() -> None:
    reply = "554 5.7.1 <john@example.com>: Relay access denied"
    async with SmtpSink(rcpt_reply=reply) as sink:
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(sink.email_config()).send(CODE_MESSAGE)

    assert caught.value.reason == "policy_refused"
    assert str(caught.value) == (
        f"The mail server {HOST}:{sink.port} refused to relay mail from this host (554 5.7.1): "
        "it is the mail server's configuration, not the address. Ask an administrator to let "
        "this host send through it (or to set email.username and a password), or choose another "
        "method."
    )
    assert "Relay access denied" in caught.value.detail


async def test_any_policy_refusal_points_at_the_administrator() -> None:
    async with SmtpSink(rcpt_reply="550 5.7.26 Unauthenticated mail is prohibited") as sink:
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(sink.email_config()).send(CODE_MESSAGE)

    message = str(caught.value)
    assert caught.value.reason == "policy_refused"
    assert "by its own policy (550 5.7.26)" in message
    assert "administrator" in message
    assert "Check the address" not in message and "Try again" not in message


async def test_implicit_tls_against_a_starttls_port_names_the_setting(
    certificate: TestCertificate,
) -> None:
    async with SmtpSink(starttls_cert=certificate) as sink:
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(sink.email_config(tls="tls")).send(CODE_MESSAGE)

    message = str(caught.value)
    assert caught.value.reason == "tls_failed"
    assert 'email.tls = "starttls"' in message
    assert "Try again" not in message
    assert sink.messages == []


@pytest.mark.parametrize("mode", ["starttls", "opportunistic", "none"])
async def test_plain_modes_against_an_implicit_tls_port_fail_fast(
    certificate: TestCertificate, mode: str
) -> None:
    async with SmtpSink(implicit_tls_cert=certificate) as sink:
        config = sink.email_config(tls=mode, timeout_seconds=15.0, greeting_timeout_seconds=0.5)
        started = time.monotonic()
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(config).send(CODE_MESSAGE)
        elapsed = time.monotonic() - started

    message = str(caught.value)
    assert elapsed < 3
    assert caught.value.reason == "wrong_tls_mode"
    assert message == (
        f"The mail server {HOST}:{sink.port} accepted the connection but sent no greeting within "
        "0.5 seconds: a port that expects TLS from the first byte (usually 465) stays silent like "
        'this. If so, set email.tls = "tls" for it, or use its STARTTLS port (usually 587). Ask an '
        "administrator to check the mail settings, or choose another method."
    )


# ------------------------------------------------------------------------ the message as it leaves


async def test_display_name_sender_and_a_plain_readable_body() -> None:
    long_body = (
        "Your verification code is 428913. Enter it to finish signing in to Kiosk Co (Lockers, "
        "Parcels, Returns and Reports). It works for 10 minutes.\n\nNever share this code.\n"
    )
    message = Message("email", "john@example.com", "Your verification code", long_body)
    async with SmtpSink() as sink:
        await EmailSender(sink.email_config(from_address="Kiosk MFA <mfa@kiosk.test>")).send(
            message
        )

    [received] = sink.messages
    [raw] = sink.raw_messages
    assert received["From"] == "Kiosk MFA <mfa@kiosk.test>"
    assert sink.envelopes[0][0] == "mfa@kiosk.test"
    assert received["Message-ID"].endswith("@kiosk.test>")
    assert received["Content-Transfer-Encoding"] == "7bit"
    assert received.get_content_charset() == "us-ascii"
    _, _, body = raw.partition(b"\r\n\r\n")
    assert b"=\r\n" not in body and b"=3D" not in body
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    assert b"428913" in body
    assert " ".join(received.get_content().split()) == " ".join(long_body.split())


async def test_a_non_ascii_body_still_arrives_intact() -> None:
    message = Message("email", "john@example.com", "Code", "Code 428913 für Bäckerei Müller.")
    async with SmtpSink() as sink:
        await EmailSender(sink.email_config()).send(message)

    assert sink.messages[0].get_content().strip() == "Code 428913 für Bäckerei Müller."

"""Secrets in files: the SMTP password and the SMS token read at each send, refused when others
may read them, and judged by the host check against the layout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mfa.config import EmailConfig, SmsConfig
from mfa.delivery import DeliveryError, Message
from mfa.delivery.email import EmailSender
from mfa.delivery.sms import HttpSmsGateway
from mfa.hostcheck import check_host
from mfa.secret_files import SecretFileError, find_secret, read_secret_file
from tests.mfa.test_delivery_sms import (  # noqa: F401 (fixtures)
    AUTH_TOKEN,
    FakeTwilio,
    Gateway,
    gateway,
    twilio,
    twilio_provider,
)
from tests.mfa.test_hostcheck import a_good_host, by_severity, config_for, host_dir, write_config  # noqa: F401
from tests.shared_group import other_group
from tests.smtp_server import SmtpSink

MAIL = Message(channel="email", recipient="alex@example.com", subject="Code", body="123456")
SMS = Message(channel="sms", recipient="+14155550123", subject="", body="Your code is 123456")


def secret_file(path: Path, text: str, mode: int = 0o640) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_secret_is_the_text_without_its_line_ending(tmp_path: Path) -> None:
    assert read_secret_file(secret_file(tmp_path / "a", "s3cret pass\n")) == "s3cret pass"
    assert read_secret_file(secret_file(tmp_path / "b", "tok\r\n", 0o600)) == "tok"
    assert read_secret_file(secret_file(tmp_path / "c", " spaced \n\n")) == " spaced \n"


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o641, 0o666, 0o602])
def test_a_file_others_may_use_is_refused_naming_the_fix(tmp_path: Path, mode: int) -> None:
    path = secret_file(tmp_path / "pw", "secret\n", mode)
    with pytest.raises(SecretFileError) as caught:
        read_secret_file(path)
    assert f"chmod o= {path}" in str(caught.value)


def test_missing_empty_or_not_a_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretFileError, match="can't read"):
        read_secret_file(tmp_path / "missing")
    with pytest.raises(SecretFileError, match="empty"):
        read_secret_file(secret_file(tmp_path / "empty", "\n"))
    (tmp_path / "dir").mkdir(mode=0o750)
    with pytest.raises(SecretFileError):
        read_secret_file(tmp_path / "dir")


def test_a_named_file_wins_over_the_variable_and_is_never_bypassed(tmp_path: Path) -> None:
    environ = {"PW": "from-env"}
    assert find_secret("", "PW", environ) == "from-env"
    assert find_secret(str(secret_file(tmp_path / "pw", "from-file\n")), "PW", environ) == (
        "from-file"
    )
    loose = secret_file(tmp_path / "loose", "x\n", 0o644)
    with pytest.raises(SecretFileError):
        find_secret(str(loose), "PW", environ)


async def test_the_mail_password_comes_from_the_file_at_each_send(tmp_path: Path) -> None:
    path = secret_file(tmp_path / "smtp-password", "first password\n")
    with SmtpSink(credentials=("kiosk-mail", "first password")) as sink:
        config = sink.email_config(password_file=str(path), password_env="UNSET_IN_TEST")
        sender = EmailSender(config, environ={})
        await sender.send(MAIL)
        assert len(sink.messages) == 1 and sink.auth_attempts == ["kiosk-mail"]
        path.write_text("second password\n")  # changed on the host: the next send reads it
        with pytest.raises(DeliveryError, match="user name and password"):
            await sender.send(MAIL)
        assert len(sink.messages) == 1


async def test_a_mail_password_file_others_can_read_sends_nothing(tmp_path: Path) -> None:
    path = secret_file(tmp_path / "smtp-password", "first password\n", 0o644)
    with SmtpSink(credentials=("kiosk-mail", "first password")) as sink:
        config = sink.email_config(password_file=str(path))
        with pytest.raises(DeliveryError) as caught:
            await EmailSender(config, environ={"MFA_TUI_SMTP_PASSWORD": "first password"}).send(
                MAIL
            )
        assert caught.value.reason == "not_configured"
        assert "its file can't be used" in caught.value.message and "chmod o=" in str(
            caught.value.message
        )
        assert "first password" not in caught.value.message
        assert sink.messages == [] and sink.auth_attempts == []


async def test_the_sms_token_comes_from_its_file(tmp_path: Path, gateway: Gateway) -> None:  # noqa: F811
    path = secret_file(tmp_path / "sms-token", "tok-from-file\n", 0o600)
    config = SmsConfig(
        provider="http", http_url=gateway.url, http_token_file=str(path),
        http_sender="+15005550006", timeout_seconds=5.0,
    )  # fmt: skip
    await HttpSmsGateway(config, environ={}).send(SMS)
    assert gateway.requests[0].headers["Authorization"] == "Bearer tok-from-file"
    path.chmod(0o604)
    with pytest.raises(DeliveryError, match="its file can't be used"):
        await HttpSmsGateway(config, environ={"MFA_TUI_SMS_TOKEN": "x"}).send(SMS)
    assert len(gateway.requests) == 1


async def test_the_host_check_judges_secret_files_against_the_layout(
    host_dir: Path,  # noqa: F811
    sink: SmtpSink,
) -> None:
    name, gid = other_group()
    data = host_dir / "data"
    config_path = write_config(host_dir, "", group_id=gid)
    config = config_for(config_path, data, sink.port, group=name)
    secret = host_dir / "etc" / "smtp-password"
    secret_file(secret, "pw\n", 0o640)
    os.chown(secret, 0, gid)
    config = config.replace("email", username="kiosk-mail", password_file=str(secret))
    assert any(
        line.startswith(f"ok     The SMTP password file {secret}")
        for line in by_severity(await check_host(config, environ={}), "ok")
    )
    secret.chmod(0o644)
    errors = by_severity(await check_host(config, environ={}), "error")
    assert any(f"Others can read the SMTP password file {secret}" in line for line in errors)
    assert any(f"Fix: chmod o= {secret}" in line for line in errors)
    secret.chmod(0o600)  # the group can't read it: technicians couldn't send codes
    errors = by_severity(await check_host(config, environ={}), "error")
    assert any(
        f"The group {name} can't read the SMTP password file" in line
        and f"chgrp {name} {secret} && chmod 640 {secret}" in line
        for line in errors
    )
    secret.unlink()
    errors = by_severity(await check_host(config, environ={}), "error")
    assert any(f"The SMTP password file {secret} can't be used" in line for line in errors)


async def test_with_a_file_the_missing_variable_is_no_warning(
    host_dir: Path,  # noqa: F811
    sink: SmtpSink,
) -> None:
    config_path = write_config(host_dir, "", group_id=None, mode=0o600)
    config = config_for(config_path, host_dir / "data", sink.port)
    with_user = config.replace("email", username="kiosk-mail")
    warnings = by_severity(await check_host(with_user, environ={}), "warn")
    assert any("email.password_file" in line for line in warnings)
    secret = secret_file(host_dir / "etc" / "pw", "pw\n", 0o600)
    with_file = with_user.replace("email", password_file=str(secret))
    findings = await check_host(with_file, environ={})
    assert not any("MFA_TUI_SMTP_PASSWORD" in f.what for f in findings)
    assert any(f.what.startswith(f"The SMTP password file {secret}") for f in findings)


def test_the_sections_have_the_file_keys_empty_by_default() -> None:
    assert EmailConfig().password_file == "" and SmsConfig().http_token_file == ""


async def test_twilio_takes_its_auth_token_from_a_file(tmp_path: Path, twilio: FakeTwilio) -> None:  # noqa: F811
    path = secret_file(tmp_path / "twilio-token", f"{AUTH_TOKEN}\n", 0o640)
    await twilio_provider(twilio, token="wrong", twilio_auth_token_file=str(path)).send(SMS)
    assert len(twilio.requests) == 1  # the fake answers 401 unless the token is the file's
    path.chmod(0o644)
    with pytest.raises(DeliveryError, match="its file can't be used"):
        await twilio_provider(twilio, twilio_auth_token_file=str(path)).send(SMS)
    assert len(twilio.requests) == 1


async def test_the_host_check_knows_twilio(host_dir: Path, sink: SmtpSink) -> None:  # noqa: F811
    config_path = write_config(host_dir, "", group_id=None, mode=0o600)
    twilio_settings = SmsConfig(
        provider="twilio", twilio_account_sid="AC123", twilio_from="+15005550006"
    )
    config = config_for(config_path, host_dir / "data", sink.port, sms=twilio_settings)
    errors = by_severity(await check_host(config, environ={}), "error")
    assert any("Twilio needs the auth token" in line and "twilio_auth_token_file" in line
               for line in errors), errors  # fmt: skip
    token = secret_file(host_dir / "etc" / "twilio-token", "tok\n", 0o600)
    config = config.replace("sms", twilio_auth_token_file=str(token))
    findings = await check_host(config, environ={})
    assert by_severity(findings, "error") == []
    assert any(f.what == "SMS provider: twilio, account AC123." for f in findings)
    assert any(f.what.startswith(f"The Twilio auth token file {token}") for f in findings)

"""Transport defaults: which connections must be encrypted, decided before anything connects."""

from __future__ import annotations

import pytest

from mfa.config import Config, ConfigError, EmailConfig, build_config
from mfa.delivery.checks import delivery_problems
from mfa.transport import TlsPlan, email_tls_plan, is_loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("mail.localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("smtp.example.com", False),
        ("10.0.0.7", False),
        ("localhost.example.com", False),
    ],
)
def test_loopback_is_judged_from_the_name(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("tls", "host", "login", "plan"),
    [
        # The default: STARTTLS when offered, only encrypting when there is nothing to protect...
        ("opportunistic", "smtp.example.com", False, TlsPlan("starttls", False, False)),
        # ...required and verified when a password goes to another host,
        ("opportunistic", "smtp.example.com", True, TlsPlan("starttls", True, True)),
        # but not to a server on this host.
        ("opportunistic", "127.0.0.1", True, TlsPlan("starttls", False, False)),
        ("starttls", "smtp.example.com", False, TlsPlan("starttls", True, True)),
        ("tls", "smtp.example.com", False, TlsPlan("tls", True, True)),
        ("none", "localhost", True, TlsPlan("plain", False, False)),
    ],
)
def test_the_tls_plan(tls: str, host: str, login: bool, plan: TlsPlan) -> None:
    assert email_tls_plan(tls, host, has_login=login) == plan


def test_the_default_is_opportunistic() -> None:
    assert EmailConfig().tls == "opportunistic"
    assert build_config({}, "defaults", {}).email.tls == "opportunistic"


def test_a_password_in_plain_text_to_another_host_stops_the_start() -> None:
    raw = {"email": {"host": "smtp.example.com", "tls": "none", "username": "mailer"}}
    with pytest.raises(ConfigError) as caught:
        build_config(raw, "/etc/mfa-tui/config.toml", {})
    assert str(caught.value).startswith('/etc/mfa-tui/config.toml: email.tls = "none" would send')
    # Loopback, or no password, or TLS: accepted.
    build_config({"email": {**raw["email"], "host": "127.0.0.1"}}, "f", {})
    build_config({"email": {**raw["email"], "username": ""}}, "f", {})
    build_config({"email": {**raw["email"], "tls": "opportunistic"}}, "f", {})


def test_the_check_reports_what_weakens_delivery() -> None:
    config = (
        Config()
        .replace("email", host="smtp.example.com", tls="none", helo_name="localhost")
        .replace("sms", provider="http", http_url="http://sms.example.com/send")
    )
    problems = delivery_problems(config)
    assert len(problems) == 3
    assert "email.helo_name" in problems[0]
    assert problems[1].startswith(
        'email.tls = "none": codes travel to smtp.example.com unencrypted'
    )
    assert problems[2].startswith("sms.http_url is http://, which would send")


def test_the_check_is_quiet_for_a_sound_configuration() -> None:
    config = Config().replace("email", host="smtp.example.com", helo_name="kiosk7.example.com")
    assert delivery_problems(config) == []

"""The host check against real files, a real aiosmtpd, and settings an operator gets wrong."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from admin_cli.check import finding_line
from mfa.config import Config, SmsConfig
from mfa.hostcheck import Finding, all_ok, check_host
from mfa.keys import load_or_create_key
from mfa.services import open_services
from tests.shared_group import other_group
from tests.smtp_server import SmtpSink, make_test_certificate, silent_server, unused_port


@pytest.fixture
def host_dir() -> Iterator[Path]:
    """A directory every account can enter (pytest's temporary directories are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="mfa-hostcheck-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def a_good_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """A full host name, and an interpreter every account can reach, unless a test says not."""
    monkeypatch.setattr(socket, "getfqdn", lambda *_: "kiosk1.acme-logistics.com")
    monkeypatch.setattr(sys, "executable", "/bin/sh")
    monkeypatch.setattr(sys, "prefix", "/usr")


def write_config(directory: Path, text: str, *, group_id: int | None, mode: int = 0o640) -> Path:
    etc = directory / "etc"
    etc.mkdir(mode=0o755)
    path = etc / "config.toml"
    path.write_text(text)
    if group_id is not None:
        os.chown(path, -1, group_id)
    path.chmod(mode)
    return path


def config_for(
    path: Path, data: Path, sink_port: int, group: str = "", sms: SmsConfig | None = None
) -> Config:
    from mfa.config import load_config

    config = load_config(path, environ={}).replace("security", argon2_memory_kib=1024)
    config = config.with_database(data / "mfa.db").replace(
        "security", key_file=str(data / "secret.key"), argon2_time_cost=1
    )
    config = config.replace("host", group=group)
    config = config.replace(
        "email", host="127.0.0.1", port=sink_port, from_address="mfa@acme-logistics.com",
        timeout_seconds=2.0,
    )  # fmt: skip
    return config.replace("sms", **vars(sms or SmsConfig(provider="command", command="/bin/true")))


def by_severity(findings: list[Finding], severity: str) -> list[str]:
    return [finding_line(f) for f in findings if f.severity == severity]


async def test_a_well_set_up_group_host_is_all_ok_and_no_mail_is_sent(
    host_dir: Path, sink: SmtpSink
) -> None:
    name, gid = other_group()
    data = host_dir / "data"
    path = write_config(host_dir, "", group_id=gid)
    config = config_for(path, data, sink.port, group=name)
    services = await open_services(config)  # creates the directory and the database
    try:
        load_or_create_key(config.key_path, name)
        findings = await check_host(config)
    finally:
        await services.close()
    assert by_severity(findings, "error") == []
    assert by_severity(findings, "warn") == [], findings
    assert all_ok(findings)
    assert sink.messages == []
    assert any("Mail server 127.0.0.1" in f.what for f in findings)


async def test_files_the_group_cannot_use_are_errors_with_the_fix(
    host_dir: Path, sink: SmtpSink
) -> None:
    name, _gid = other_group()
    data = host_dir / "data"
    data.mkdir(mode=0o755)  # made by hand: no group, not setgid
    path = write_config(host_dir, "", group_id=None, mode=0o600)
    config = config_for(path, data, sink.port, group=name)
    services = await open_services(config.replace("host", group=""))  # as if no group was set
    await services.close()
    (data / "mfa.db").chmod(0o644)
    load_or_create_key(config.key_path)  # 0600, this account's group
    errors = by_severity(await check_host(config), "error")
    text = "\n".join(errors)
    assert f"can't read the configuration file {path}" in text
    assert f"chgrp {name} {path} && chmod 640 {path}" in text
    assert f"The data directory {data} (mode 0755)" in text
    assert "isn't setgid" in text and f"chmod 2770 {data}" in text
    assert f"chgrp {name} {data / 'mfa.db'} && chmod 660 {data / 'mfa.db'}" in text
    assert f"chgrp {name} {config.key_path} && chmod 640 {config.key_path}" in text


async def test_one_account_layout_wants_private_files(host_dir: Path, sink: SmtpSink) -> None:
    data = host_dir / "data"
    path = write_config(host_dir, "", group_id=None)
    config = config_for(path, data, sink.port)
    services = await open_services(config)
    await services.close()
    findings = await check_host(config)
    assert by_severity(findings, "error") == []
    assert by_severity(findings, "warn") == []
    assert any("doesn't exist yet; the first code sent makes it" in f.what for f in findings)

    (data / "mfa.db").chmod(0o644)
    warnings = by_severity(await check_host(config), "warn")
    assert any(f"Fix: chmod 600 {data / 'mfa.db'}" in line for line in warnings)


async def test_a_python_inside_a_private_home_is_an_error(
    host_dir: Path, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, gid = other_group()
    home = host_dir / "root"
    (home / "bin").mkdir(parents=True)
    home.chmod(0o700)
    python = home / "bin" / "python3"
    python.write_text("")
    python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(python))
    path = write_config(host_dir, "", group_id=gid)
    config = config_for(path, host_dir / "data", sink.port, group=name)
    errors = by_severity(await check_host(config), "error")
    assert any(
        f"inside {home} (mode 0700)" in line
        and "bad interpreter" in line
        and "/usr/bin/python3" in line
        for line in errors
    ), errors


async def test_an_unreachable_mail_server_and_a_silent_one_are_errors(host_dir: Path) -> None:
    path = write_config(host_dir, "", group_id=None)
    config = config_for(path, host_dir / "data", unused_port())
    errors = by_severity(await check_host(config), "error")
    assert any("didn't answer EHLO" in line for line in errors), errors
    async with silent_server() as port:
        config = config.replace("email", port=port, timeout_seconds=0.5)
        errors = by_severity(await check_host(config), "error")
    assert any(f"127.0.0.1:{port}" in line and "didn't answer EHLO" in line for line in errors)


async def test_a_bare_localhost_greeting_name_is_a_warning(
    host_dir: Path, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket, "getfqdn", lambda *_: "localhost")
    path = write_config(host_dir, "", group_id=None)
    config = config_for(path, host_dir / "data", sink.port)
    warnings = by_severity(await check_host(config), "warn")
    assert any(
        "greeted as 'localhost'" in line and "email.helo_name" in line for line in warnings
    ), warnings


async def test_sms_settings(host_dir: Path, sink: SmtpSink) -> None:
    path = write_config(host_dir, "", group_id=None)

    async def lines(sms: SmsConfig, severity: str, environ: dict[str, str]) -> list[str]:
        config = config_for(path, host_dir / "data", sink.port, sms=sms)
        return by_severity(await check_host(config, environ=environ), severity)

    assert any("never sent" in line for line in await lines(SmsConfig(), "warn", {}))
    http = SmsConfig(provider="http", http_url="https://sms.example.com/send", http_sender="ACME")
    assert any("MFA_TUI_SMS_TOKEN isn't" in line for line in await lines(http, "error", {}))
    assert await lines(http, "error", {"MFA_TUI_SMS_TOKEN": "t"}) == []
    missing = SmsConfig(provider="command", command="/no/such/sms-sender --flag")
    assert any("/no/such/sms-sender" in line for line in await lines(missing, "error", {}))
    assert any(
        "email_domain" in line for line in await lines(SmsConfig(provider="email"), "error", {})
    )


async def test_a_group_that_does_not_exist_is_reported_not_raised(
    host_dir: Path, sink: SmtpSink
) -> None:
    path = write_config(host_dir, "", group_id=None)
    config = config_for(path, host_dir / "data", sink.port, group="no-such-group-x9")
    findings = await check_host(config)
    assert not all_ok(findings)
    assert any("groupadd no-such-group-x9" in finding_line(f) for f in findings)


def test_a_finding_is_one_line_with_its_fix() -> None:
    line = finding_line(Finding("error", "The key file /k is 0644.", "chmod 600 /k"))
    assert line == "error  The key file /k is 0644. Fix: chmod 600 /k"
    assert "\n" not in line
    assert all_ok([Finding("ok", "fine")])
    assert not all_ok([Finding("ok", "fine"), Finding("warn", "hm", "x")])


async def test_starttls_is_checked_with_the_configured_ca(host_dir: Path) -> None:
    certificate = make_test_certificate(host_dir / "cert")
    path = write_config(host_dir, "", group_id=None)
    with SmtpSink(starttls_cert=certificate) as tls_sink:
        config = config_for(path, host_dir / "data", tls_sink.port)
        config = config.replace("email", tls="starttls", ca_file=str(certificate.cert_file))
        findings = await check_host(config)
        assert any("answers EHLO (tls starttls)" in f.what for f in findings), findings
        untrusted = await check_host(config.replace("email", ca_file=""))
        assert any("didn't answer EHLO" in line for line in by_severity(untrusted, "error"))
    with SmtpSink() as plain_sink:
        config = config_for(path, host_dir / "data", plain_sink.port)
        errors = by_severity(await check_host(config.replace("email", tls="starttls")), "error")
    assert any("doesn't offer STARTTLS" in line for line in errors), errors

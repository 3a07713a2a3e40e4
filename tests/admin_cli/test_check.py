"""``mfa-tui admin check``: one line per finding, exit 0 / 1 / 2, and no file created."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from admin_cli import check
from mfa.config import Config
from mfa.hostcheck import Finding
from tests.admin_cli.test_users import EXE
from tests.smtp_server import SmtpSink


async def test_the_check_prints_every_finding_and_creates_nothing(
    tmp_path: Path, sink: SmtpSink, capsys: pytest.CaptureFixture[str]
) -> None:
    config = Config().with_database(tmp_path / "data" / "mfa.db")
    config = config.replace("email", host=sink.host, port=sink.port, timeout_seconds=2.0)
    status = await check.run(config)
    lines = capsys.readouterr().out.splitlines()
    assert status == 1  # no configuration file, no database yet, SMS only to the outbox
    assert any(line.startswith("warn   No configuration file") for line in lines)
    assert any(line.startswith("ok     Mail server 127.0.0.1") for line in lines)
    assert all(line.split()[0] in ("ok", "warn", "error") for line in lines)
    assert not (tmp_path / "data").exists()
    assert sink.messages == []


def test_a_finding_reads_as_one_line_with_its_fix() -> None:
    line = check.finding_line(
        Finding("error", "The key file is readable by others.", "chmod 600 k")
    )
    assert line == "error  The key file is readable by others. Fix: chmod 600 k"
    assert check.finding_line(Finding("ok", "Database: fine.")) == "ok     Database: fine."


def _admin_check(tmp_path: Path, config_text: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(config_text)
    env = {**os.environ, "MFA_TUI_CONFIG": str(config)}
    return subprocess.run(
        [EXE, "admin", "check"], capture_output=True, text=True, env=env, timeout=60
    )


def test_the_command_exits_1_with_findings_and_opens_no_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = _admin_check(
        tmp_path,
        f'[database]\npath = "{data / "mfa.db"}"\n[email]\nhost = "127.0.0.1"\nport = 1\n'
        "timeout_seconds = 1.0\n",
    )
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(line.split()[0] in ("ok", "warn", "error") for line in lines)
    assert any("mail server 127.0.0.1:1" in line and line.startswith("error") for line in lines)
    assert not data.exists()


def test_the_command_exits_2_when_the_configuration_cannot_be_read(tmp_path: Path) -> None:
    result = _admin_check(tmp_path, "[email]\nport = 'twenty-five'\n")
    assert result.returncode == 2
    assert "email.port" in result.stderr and result.stdout == ""

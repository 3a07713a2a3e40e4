"""``admin check``'s handler: one line per finding, exit 1 on problems, and no file created."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from mfa import admin_check
from mfa.config import Config
from tests.smtp_server import SmtpSink


async def test_the_check_prints_every_finding_and_creates_nothing(
    tmp_path: Path, sink: SmtpSink
) -> None:
    config = Config().with_database(tmp_path / "data" / "mfa.db")
    config = config.replace("email", host=sink.host, port=sink.port, timeout_seconds=2.0)
    parser = argparse.ArgumentParser()
    admin_check.add_parser(parser.add_subparsers(dest="admin_command"))
    args = parser.parse_args(["check"])
    out = io.StringIO()
    status = await args.without_database(config, args, out=out)
    lines = out.getvalue().splitlines()
    assert status == 1  # no configuration file, no database yet, SMS only to the outbox
    assert any(line.startswith("warn   No configuration file") for line in lines)
    assert any(line.startswith("ok     Mail server 127.0.0.1") for line in lines)
    assert all(line.split()[0] in ("ok", "warn", "error") for line in lines)
    assert not (tmp_path / "data").exists()
    assert sink.messages == []

"""The demo never writes into the configured production directory nor uses its key file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mfa.config import load_config
from mfa.demo import demo_config


@pytest.fixture
def production(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[database]\npath = "/var/lib/mfa-tui/mfa.db"\n'
        '[security]\nkey_file = "/var/lib/mfa-tui/secret.key"\n'
        '[host]\ngroup = "kiosk"\n'
    )
    return path


def test_the_demo_keeps_its_files_in_the_users_data_directory(
    production: Path, tmp_path: Path
) -> None:
    config = load_config(production, environ={})
    demo = demo_config(config)
    assert demo.database_path.name == "mfa-tui-demo.db"
    assert not demo.database_path.is_relative_to("/var/lib/mfa-tui")
    assert demo.key_path == demo.database_path.with_name("mfa-tui-demo.key")
    assert demo.host.group == ""


def test_a_database_named_on_the_command_line_puts_the_demo_beside_it(
    production: Path, tmp_path: Path
) -> None:
    demo = demo_config(load_config(production, environ={}), tmp_path / "try.db")
    assert demo.database_path == tmp_path / "mfa-tui-demo.db"
    assert demo.key_path == tmp_path / "mfa-tui-demo.key"

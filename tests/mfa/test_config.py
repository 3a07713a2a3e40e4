"""Configuration: defaults, a file, environment overrides, and bad input naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mfa.config import ConfigError, load_config


def test_every_key_has_a_default(tmp_path: Path) -> None:
    config = load_config(None, environ={})
    assert config.security.code_lifetime_seconds == 600
    assert config.security.code_attempts == 5
    assert config.security.argon2_memory_kib == 19_456
    assert config.security.idle_lock_seconds == 900
    assert config.email.tls == "none"
    assert config.database_path.name == "mfa-tui.db"


def test_a_file_sets_values_and_keeps_the_other_defaults(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[database]\npath = "/srv/mfa/users.db"\n'
        '[email]\nhost = "smtp.example.com"\nport = 587\ntls = "starttls"\n'
        "[security]\nidle_lock_seconds = 300\n"
    )
    config = load_config(path, environ={})
    assert config.database_path == Path("/srv/mfa/users.db")
    assert config.key_path == Path("/srv/mfa/users.key")
    assert (config.email.host, config.email.port, config.email.tls) == ("smtp.example.com", 587, "starttls")
    assert config.security.idle_lock_seconds == 300
    assert config.security.code_attempts == 5
    assert config.source == str(path)


def test_the_environment_names_the_file_and_overrides_keys(tmp_path: Path) -> None:
    path = tmp_path / "from-env.toml"
    path.write_text("[email]\nport = 2525\n")
    environ = {"MFA_TUI_CONFIG": str(path), "MFA_TUI__EMAIL__PORT": "465", "MFA_TUI__EMAIL__TLS": "tls"}
    config = load_config(None, environ=environ)
    assert config.email.port == 465
    assert config.email.tls == "tls"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[security]\ncode_attempts = 'five'\n", "security.code_attempts must be a whole number"),
        ("[security]\ncode_atempts = 5\n", "unknown key security.code_atempts"),
        ("[mail]\nhost = 'x'\n", "unknown section [mail]"),
        ("[email]\ntls = 'ssl'\n", "email.tls must be one of none, starttls, tls"),
        ("[security]\nlockout_hard_limit = 500\n", "security.lockout_hard_limit must be at most 100"),
        ("[email\nhost = 'x'\n", "not valid TOML"),
    ],
)
def test_a_bad_file_is_reported_with_its_key_and_file(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, environ={"MFA_TUI__EMAIL__PORT": "many"})
    assert "MFA_TUI__EMAIL__PORT" in str(caught.value)


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", environ={})


def test_the_host_group_is_read_and_empty_by_default(tmp_path: Path) -> None:
    assert load_config(None, environ={}).host.group == ""
    path = tmp_path / "config.toml"
    path.write_text('[host]\ngroup = "kiosk"\n')
    assert load_config(path, environ={}).host.group == "kiosk"
    assert load_config(path, environ={"MFA_TUI__HOST__GROUP": "techs"}).host.group == "techs"

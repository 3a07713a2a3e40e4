"""Configuration: defaults, a file, environment overrides, and bad input naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mfa import config as config_module
from mfa.config import ConfigError, load_config


def test_every_key_has_a_default(tmp_path: Path) -> None:
    config = load_config(None, environ={})
    assert config.security.code_lifetime_seconds == 600
    assert config.security.code_attempts == 5
    assert config.security.argon2_memory_kib == 19_456
    assert config.security.idle_lock_seconds == 900
    assert config.email.tls == "opportunistic"  # STARTTLS whenever the server offers it
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
    assert (config.email.host, config.email.port, config.email.tls) == (
        "smtp.example.com",
        587,
        "starttls",
    )
    assert config.security.idle_lock_seconds == 300
    assert config.security.code_attempts == 5
    assert config.source == str(path)


def test_the_environment_names_the_file_and_overrides_keys(tmp_path: Path) -> None:
    path = tmp_path / "from-env.toml"
    path.write_text("[email]\nport = 2525\n")
    environ = {
        "MFA_TUI_CONFIG": str(path),
        "MFA_TUI__EMAIL__PORT": "465",
        "MFA_TUI__EMAIL__TLS": "tls",
    }
    config = load_config(None, environ=environ)
    assert config.email.port == 465
    assert config.email.tls == "tls"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[security]\ncode_attempts = 'five'\n", "security.code_attempts must be a whole number"),
        ("[security]\ncode_atempts = 5\n", "unknown key security.code_atempts"),
        ("[mail]\nhost = 'x'\n", "unknown section [mail]"),
        ("[email]\ntls = 'ssl'\n", "email.tls must be one of none, opportunistic, starttls, tls"),
        (
            "[security]\nlockout_hard_limit = 500\n",
            "security.lockout_hard_limit must be at most 100",
        ),
        ("[email\nhost = 'x'\n", "not valid TOML"),
    ],
)
def test_a_bad_file_is_reported_with_its_key_and_file(
    tmp_path: Path, text: str, expected: str
) -> None:
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


def test_an_empty_config_variable_means_no_file_not_the_hosts(tmp_path: Path, monkeypatch) -> None:
    host_file = tmp_path / "etc-config.toml"
    host_file.write_text("[email]\nport = 2525\n")
    monkeypatch.setattr(config_module, "SYSTEM_CONFIG", host_file)
    assert load_config(None, environ={}).email.port == 2525  # found when the variable is unset
    config = load_config(None, environ={"MFA_TUI_CONFIG": ""})
    assert config.email.port == 25
    assert config.source == "defaults"


def test_an_unknown_environment_section_stops_like_an_unknown_key() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, environ={"MFA_TUI__NOPE__X": "1"})
    assert "MFA_TUI__NOPE__X" in str(caught.value)
    with pytest.raises(ConfigError, match="MFA_TUI__EMAIL__NOPE"):
        load_config(None, environ={"MFA_TUI__EMAIL__NOPE": "1"})


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('[email]\nfrom_address = "caf\xe9@example.com"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8") as caught:
        load_config(path, environ={})
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("text", ["\u0661\u0662\u0660\u0660", "１２３", "12e3", "nan", "inf", ""])
def test_numbers_from_the_environment_are_ascii_digits_only(text: str) -> None:
    with pytest.raises(ConfigError, match="MFA_TUI__SECURITY__ARGON2_TIME_COST"):
        load_config(None, environ={"MFA_TUI__SECURITY__ARGON2_TIME_COST": text})


@pytest.mark.parametrize("value", ["nan", "-1", "0", "inf", "1e400"])
def test_a_mail_timeout_must_be_a_positive_finite_number(value: str) -> None:
    with pytest.raises(ConfigError, match=r"email\.timeout_seconds"):
        load_config(None, environ={"MFA_TUI__EMAIL__TIMEOUT_SECONDS": value})


@pytest.mark.parametrize(
    ("memory", "passes", "accepted"),
    [
        (19_456, 2, True),
        (47_104, 1, True),
        (12_288, 3, True),
        (7_168, 5, True),
        (65_536, 3, True),
        (8, 2, False),
        (19_456, 1, False),
        (12_288, 2, False),
        (46_000, 1, False),
    ],
)
def test_argon2_settings_must_reach_an_owasp_pair(memory: int, passes: int, accepted: bool) -> None:
    environ = {
        "MFA_TUI__SECURITY__ARGON2_MEMORY_KIB": str(memory),
        "MFA_TUI__SECURITY__ARGON2_TIME_COST": str(passes),
    }
    if accepted:
        assert load_config(None, environ=environ).security.argon2_memory_kib == memory
    else:
        with pytest.raises(ConfigError, match="argon2") as caught:
            load_config(None, environ=environ)
        assert "OWASP" in str(caught.value)


@pytest.mark.parametrize(
    ("key", "value", "source"),
    [
        ("idle_lock_seconds", 86_400, "30 minutes"),
        ("idle_lock_seconds", 1_801, "30 minutes"),
        ("session_max_seconds", 10**9, "12 hours"),
        ("code_lifetime_seconds", 601, "10 minutes"),
        ("code_attempts", 11, "at most 10"),
        ("lockout_hard_limit", 0, "at least 1"),
        ("argon2_memory_kib", 2**40, "4 GiB"),
        ("argon2_time_cost", 2**40, "at most 64"),
    ],
)
def test_weakening_or_impossible_values_are_refused_with_their_source(
    tmp_path: Path, key: str, value: int, source: str
) -> None:
    path = tmp_path / "weak.toml"
    path.write_text(f"[security]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = str(caught.value)
    assert f"security.{key}" in message and source in message and str(path) in message


def test_the_strictest_allowed_values_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(
        "[security]\nidle_lock_seconds = 1800\nsession_max_seconds = 43200\n"
        "code_lifetime_seconds = 600\ncode_attempts = 10\n"
    )
    config = load_config(path, environ={})
    assert config.security.idle_lock_seconds == 1800
    assert config.security.session_max_seconds == 43200


def test_a_minimum_password_length_above_the_maximum_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lengths.toml"
    path.write_text("[security]\nmin_password_length = 100\nmax_password_length = 64\n")
    with pytest.raises(ConfigError, match="min_password_length"):
        load_config(path, environ={})


def test_unknown_names_are_shown_without_their_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "odd.toml"
    path.write_text('[security]\n"evil\\u001b]0;pwned\\u0007" = 1\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = str(caught.value)
    assert "\x1b" not in message and "\x07" not in message
    assert "^[" in message


def test_the_default_key_file_is_named_as_documented() -> None:
    config = load_config(None, environ={}).with_database("/srv/mfa/users.db")
    assert config.key_path == Path("/srv/mfa/users.key")
    docs = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    assert "<database name>.key" in docs


def test_the_host_group_is_read_and_empty_by_default(tmp_path: Path) -> None:
    assert load_config(None, environ={}).host.group == ""
    path = tmp_path / "config.toml"
    path.write_text('[host]\ngroup = "kiosk"\n')
    assert load_config(path, environ={}).host.group == "kiosk"
    assert load_config(path, environ={"MFA_TUI__HOST__GROUP": "techs"}).host.group == "techs"

"""Configuration of products with a command and of the session (kiosk, remote commands)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mfa.config import ConfigError, ProductCommand, load_config

LOCKER = "Locker Management Module"


def test_products_have_no_command_and_kiosk_mode_is_off_by_default() -> None:
    config = load_config(None, environ={})
    assert config.products == {}
    assert config.session.kiosk is False
    assert config.session.allow_remote_command is False


def test_a_product_gets_a_command_and_the_session_settings_are_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[products."{LOCKER}"]\ncommand = ["/opt/lmm/bin/lmm", "--kiosk"]\n'
        '[products."PitneyShip Pro"]\ncommand = ["/opt/ship/run"]\n'
        "[session]\nkiosk = true\nallow_remote_command = true\n"
    )
    config = load_config(path, environ={})
    assert config.products == {
        LOCKER: ProductCommand(("/opt/lmm/bin/lmm", "--kiosk")),
        "PitneyShip Pro": ProductCommand(("/opt/ship/run",)),
    }
    assert config.session.kiosk is True
    assert config.session.allow_remote_command is True


def test_kiosk_mode_can_be_set_from_the_environment() -> None:
    config = load_config(None, environ={"MFA_TUI__SESSION__KIOSK": "1"})
    assert config.session.kiosk is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f'[products."{LOCKER}"]\ncommand = "/opt/lmm"\n',
            f'products."{LOCKER}".command must be a list',
        ),
        (f'[products."{LOCKER}"]\ncommand = []\n', f'products."{LOCKER}".command must be a list'),
        (
            f'[products."{LOCKER}"]\ncommand = ["/opt/lmm", 3]\n',
            f'products."{LOCKER}".command must be a list',
        ),
        (
            f'[products."{LOCKER}"]\ncommand = ["lmm"]\n',
            f'products."{LOCKER}".command must start with an absolute path',
        ),
        (f'[products."{LOCKER}"]\nargs = ["x"]\n', f'unknown key products."{LOCKER}".args'),
        (f'[products."{LOCKER}"]\n', f'products."{LOCKER}".command is missing'),
        (f'[products]\n"{LOCKER}" = "/opt/lmm"\n', f'[products."{LOCKER}"] must be a table'),
        ('products = ["/opt/lmm"]\n', "[products] must be a table"),
        ('[products."Evil\\u001b[2J"]\ncommand = ["x"]\n', 'products."Evil^[[2J".command'),
        ("[session]\nkiosk = 'yes'\n", "session.kiosk must be true or false"),
        ("[session]\nkisok = true\n", "unknown key session.kisok"),
    ],
)
def test_a_bad_product_or_session_setting_is_reported_with_its_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_config(path, environ={})
    assert expected in str(error.value)
    assert str(path) in str(error.value)

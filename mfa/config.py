"""Configuration: TOML files, environment overrides and defaults for every key.

Where the file is looked for, in order: ``--config``, ``$MFA_TUI_CONFIG``,
``/etc/mfa-tui/config.toml``, then the user config directory. A missing file means "all defaults".
Any key can also be set from the environment as ``MFA_TUI__SECTION__KEY`` (for example
``MFA_TUI__SECURITY__IDLE_LOCK_SECONDS=300``). Secrets never live in the TOML: the file names the
environment variable (or file) that holds them.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

APP_NAME = "mfa-tui"
SYSTEM_CONFIG = Path("/etc/mfa-tui/config.toml")
ENV_CONFIG = "MFA_TUI_CONFIG"
ENV_PREFIX = "MFA_TUI__"


class ConfigError(Exception):
    """A configuration value that can't be used; the message names the key and the file."""


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


@dataclass(frozen=True)
class DatabaseConfig:
    path: str = ""
    """The SQLite file; empty means ``mfa-tui.db`` in the user data directory."""


@dataclass(frozen=True)
class SecurityConfig:
    key_file: str = ""
    """The key that encrypts code secrets at rest; empty means ``secret.key`` beside the database."""
    argon2_memory_kib: int = 19_456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1
    min_password_length: int = 8
    max_password_length: int = 128
    code_lifetime_seconds: int = 600
    code_attempts: int = 5
    lockout_free_failures: int = 5
    """Consecutive failures allowed before the account has to wait."""
    lockout_base_seconds: int = 30
    lockout_max_seconds: int = 3_600
    lockout_hard_limit: int = 100
    """Consecutive failures after which the account is locked until an admin resets it."""
    resend_cooldown_seconds: int = 30
    sends_per_window: int = 5
    send_window_seconds: int = 900
    idle_lock_seconds: int = 900
    session_max_seconds: int = 43_200


@dataclass(frozen=True)
class EmailConfig:
    host: str = "localhost"
    port: int = 25
    tls: str = "none"
    """``starttls``, ``tls`` (implicit TLS) or ``none``."""
    username: str = ""
    password_env: str = "MFA_TUI_SMTP_PASSWORD"
    """Name of the environment variable that holds the SMTP password."""
    from_address: str = "no-reply@mfa-tui.local"
    timeout_seconds: float = 15.0
    ca_file: str = ""
    """A CA bundle to trust for the mail server's certificate (empty: the system's)."""


@dataclass(frozen=True)
class SmsConfig:
    provider: str = "outbox"
    """``http`` (a Twilio-style REST gateway), ``command``, ``email`` (email-to-SMS) or ``outbox``."""
    default_region: str = "US"
    http_url: str = ""
    http_token_env: str = "MFA_TUI_SMS_TOKEN"
    http_sender: str = ""
    command: str = ""
    email_domain: str = ""
    timeout_seconds: float = 15.0


@dataclass(frozen=True)
class HostConfig:
    group: str = ""
    """A Unix group whose members all run mfa-tui (technicians with their own accounts): every
    file mfa-tui creates belongs to it, with access for the group and none for others. Empty: one
    account runs mfa-tui, and its files are private to that account."""


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    host: HostConfig = field(default_factory=HostConfig)
    source: str = "defaults"
    """Where the values came from (a file path or "defaults"), for messages."""

    @property
    def database_path(self) -> Path:
        return Path(self.database.path) if self.database.path else user_data_dir() / "mfa-tui.db"

    @property
    def key_path(self) -> Path:
        if self.security.key_file:
            return Path(self.security.key_file)
        return self.database_path.with_name(self.database_path.stem + ".key")

    def with_database(self, path: str | Path) -> Config:
        return dataclasses.replace(self, database=DatabaseConfig(path=str(path)))

    def replace(self, section: str, **values: Any) -> Config:
        """A copy with some keys of one section changed (used by tests and the demo)."""
        return dataclasses.replace(
            self, **{section: dataclasses.replace(getattr(self, section), **values)}
        )


_SECTIONS: dict[str, type] = {
    "database": DatabaseConfig,
    "security": SecurityConfig,
    "email": EmailConfig,
    "sms": SmsConfig,
    "host": HostConfig,
}
_CHOICES = {
    ("email", "tls"): {"starttls", "tls", "none"},
    ("sms", "provider"): {"http", "command", "email", "outbox"},
}


def load_config(
    explicit: str | Path | None = None, environ: typing.Mapping[str, str] | None = None
) -> Config:
    """Read the configuration. An explicitly named file must exist; the others are optional."""
    environ = os.environ if environ is None else environ
    path = explicit or environ.get(ENV_CONFIG) or None
    if path is None:
        path = next((p for p in (SYSTEM_CONFIG, user_config_file()) if p.is_file()), None)
    raw: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        path = Path(path)
        source = str(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"The configuration file {path} does not exist.") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML ({error}).") from None
        except OSError as error:
            raise ConfigError(f"Couldn't read the configuration file {path}: {error}.") from None
    return build_config(raw, source, environ)


def build_config(raw: dict[str, Any], source: str, environ: typing.Mapping[str, str]) -> Config:
    sections: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in _SECTIONS:
            raise ConfigError(f"{source}: unknown section [{name}].")
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{name}] must be a table.")
    for name, cls in _SECTIONS.items():
        values = dict(raw.get(name, {}))
        known = {f.name: f for f in dataclasses.fields(cls)}
        for key in values:
            if key not in known:
                raise ConfigError(f"{source}: unknown key {name}.{key}.")
        for env_name, env_value in environ.items():
            if env_name.startswith(ENV_PREFIX):
                parts = env_name[len(ENV_PREFIX) :].lower().split("__")
                if len(parts) == 2 and parts[0] == name:
                    if parts[1] not in known:
                        raise ConfigError(f"environment {env_name}: unknown key {name}.{parts[1]}.")
                    values[parts[1]] = _from_text(
                        env_value, known[parts[1]], f"{name}.{parts[1]}", env_name
                    )
        checked = {}
        for key, value in values.items():
            checked[key] = _check(value, known[key], f"{name}.{key}", source)
            choices = _CHOICES.get((name, key))
            if choices and checked[key] not in choices:
                raise ConfigError(
                    f"{source}: {name}.{key} must be one of {', '.join(sorted(choices))}, "
                    f"not {checked[key]!r}."
                )
        sections[name] = cls(**checked)
    config = Config(**sections, source=source)
    _check_ranges(config)
    return config


def _base_type(f: dataclasses.Field[Any]) -> type:
    # Annotations are strings here (postponed evaluation); every key is a plain scalar.
    return {"int": int, "float": float, "str": str, "bool": bool}[str(f.type)]


def _check(value: Any, f: dataclasses.Field[Any], key: str, source: str) -> Any:
    expected = _base_type(f)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, bool):
        raise ConfigError(f"{source}: {key} must be a whole number, not {value!r}.")
    if not isinstance(value, expected):
        names = {int: "a whole number", float: "a number", str: "text", bool: "true or false"}
        raise ConfigError(f"{source}: {key} must be {names[expected]}, not {value!r}.")
    return value


def _from_text(text: str, f: dataclasses.Field[Any], key: str, env_name: str) -> Any:
    expected = _base_type(f)
    try:
        if expected is bool:
            if text.lower() not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError
            return text.lower() in {"1", "true", "yes"}
        return expected(text)
    except ValueError:
        raise ConfigError(f"environment {env_name}: {key} can't be {text!r}.") from None


def _check_ranges(config: Config) -> None:
    sec = config.security
    positive = [
        "argon2_memory_kib", "argon2_time_cost", "argon2_parallelism", "min_password_length",
        "code_lifetime_seconds", "code_attempts", "lockout_base_seconds", "lockout_max_seconds",
        "lockout_hard_limit", "sends_per_window", "send_window_seconds", "idle_lock_seconds",
        "session_max_seconds",
    ]  # fmt: skip
    for key in positive:
        if getattr(sec, key) <= 0:
            raise ConfigError(f"{config.source}: security.{key} must be greater than 0.")
    if sec.max_password_length < 64:
        raise ConfigError(f"{config.source}: security.max_password_length must be at least 64.")
    if sec.min_password_length < 8:
        raise ConfigError(f"{config.source}: security.min_password_length must be at least 8.")
    if sec.lockout_hard_limit > 100:
        raise ConfigError(f"{config.source}: security.lockout_hard_limit must be at most 100.")
    if not 0 < config.email.port < 65536:
        raise ConfigError(f"{config.source}: email.port must be between 1 and 65535.")

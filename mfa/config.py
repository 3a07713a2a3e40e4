"""Configuration: TOML files, environment overrides and defaults for every key.

Where the file is looked for, in order: ``--config``, ``$MFA_TUI_CONFIG``,
``/etc/mfa-tui/config.toml``, then the user config directory. A missing file means "all defaults".
Any key can also be set from the environment as ``MFA_TUI__SECTION__KEY`` (for example
``MFA_TUI__SECURITY__IDLE_LOCK_SECONDS=300``). Secrets never live in the TOML: the file names the
environment variable (or file) that holds them.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from mfa.text import whole_line as shown
from mfa.transport import EMAIL_TLS_MODES, email_transport_refusal, sms_gateway_refusal

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
    keep_mfa_jobs_days: int = 30
    """How long a finished MFA process (its row and its failed users) is kept once a newer one has
    replaced it. The newest job and the newest ``enable`` job are always kept."""


@dataclass(frozen=True)
class SecurityConfig:
    key_file: str = ""
    """The key that encrypts code secrets at rest; empty means ``<database name>.key`` beside it."""
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
    step_up_seconds: int = 300
    """How long re-authenticating (password, and a code from an existing method) lets a session
    change the user's methods."""


@dataclass(frozen=True)
class EmailConfig:
    host: str = "localhost"
    port: int = 25
    tls: str = "opportunistic"
    """``opportunistic`` (STARTTLS when offered), ``starttls`` (required), ``tls`` (implicit TLS)
    or ``none``; see ``mfa.transport``."""
    username: str = ""
    password_env: str = "MFA_TUI_SMTP_PASSWORD"
    """Name of the environment variable that holds the SMTP password."""
    password_file: str = ""
    """A file holding the SMTP password (read at each send; wins over ``password_env``). For
    sshd's ForceCommand, where sessions get no environment: owner or group only (mfa.secret_files)."""
    from_address: str = "no-reply@mfa-tui.local"
    """The sender, optionally with a display name: ``Kiosk MFA <mfa@kiosk.example>``."""
    timeout_seconds: float = 15.0
    greeting_timeout_seconds: float = 5.0
    """How long the server may stay silent before its greeting (a TLS-only port says nothing)."""
    ca_file: str = ""
    """A CA bundle to trust for the mail server's certificate (empty: the system's)."""
    helo_name: str = ""
    """The name this host gives in EHLO; empty: the machine's fully qualified name."""
    internal_domains: tuple[str, ...] = ()
    """Domains mail is delivered to here although they are special-use names (``corp.local``)."""


@dataclass(frozen=True)
class SmsConfig:
    provider: str = "outbox"
    """``twilio`` (Twilio's Messages API), ``http`` (a generic gateway taking a bearer token),
    ``command``, ``email`` (email-to-SMS) or ``outbox``."""
    default_region: str = "US"
    http_url: str = ""
    http_token_env: str = "MFA_TUI_SMS_TOKEN"
    http_token_file: str = ""
    """A file holding the SMS gateway's token (read at each send; wins over ``http_token_env``)."""
    http_sender: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token_env: str = "MFA_TUI_TWILIO_AUTH_TOKEN"
    """Name of the environment variable that holds the Twilio auth token."""
    twilio_auth_token_file: str = ""
    """A file holding Twilio's auth token (read at each send; wins over the variable)."""
    twilio_from: str = ""
    """The sending number (E.164); or leave it empty and set ``twilio_messaging_service_sid``."""
    twilio_messaging_service_sid: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    command: str = ""
    email_domain: str = ""
    timeout_seconds: float = 15.0


@dataclass(frozen=True)
class AuditConfig:
    retention_days: int = 365
    """Audit events older than this are pruned (once the UI shows, and by admin commands); 0 keeps
    them all."""


@dataclass(frozen=True)
class HostConfig:
    group: str = ""
    """A Unix group whose members all run mfa-tui (technicians with their own accounts): every
    file mfa-tui creates belongs to it, with access for the group and none for others. Empty: one
    account runs mfa-tui, and its files are private to that account."""


@dataclass(frozen=True)
class SessionConfig:
    kiosk: bool = False
    """Sign-out, the idle lock and the session limit end the program (so an SSH session closes),
    and so does the end of a product launched from home."""
    allow_remote_command: bool = False
    """Whether a connection that asked for a command (``$SSH_ORIGINAL_COMMAND``: scp, sftp,
    ``ssh host command``) may go on to the sign-in; by default it is refused with one line."""


@dataclass(frozen=True)
class ProductCommand:
    """What runs when a signed-in person opens a product (``[products."Name"] command = [...]``)."""

    command: tuple[str, ...]
    """The program (an absolute path) and its arguments; no shell is involved."""


@dataclass(frozen=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    host: HostConfig = field(default_factory=HostConfig)
    session: SessionConfig = field(default_factory=SessionConfig)
    products: dict[str, ProductCommand] = field(default_factory=dict)
    """Products that can be launched after sign-in, by product name."""
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
        return dataclasses.replace(
            self, database=dataclasses.replace(self.database, path=str(path))
        )

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
    "audit": AuditConfig,
    "host": HostConfig,
    "session": SessionConfig,
}
_CHOICES = {
    ("email", "tls"): set(EMAIL_TLS_MODES),
    ("sms", "provider"): {"twilio", "http", "command", "email", "outbox"},
}


def load_config(
    explicit: str | Path | None = None, environ: typing.Mapping[str, str] | None = None
) -> Config:
    """Read the configuration. An explicitly named file must exist; the others are optional.

    ``MFA_TUI_CONFIG`` set to the empty string means "no file at all": the defaults and the
    environment only, never a host's ``/etc`` file (scripts and tests rely on that).
    """
    environ = os.environ if environ is None else environ
    path: str | Path | None = explicit or None
    if path is None and ENV_CONFIG in environ:
        path = environ[ENV_CONFIG] or None
    elif path is None:
        path = next((p for p in (SYSTEM_CONFIG, user_config_file()) if p.is_file()), None)
    raw: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        import tomllib  # only when there is a file to read: start-up without one skips it

        path = Path(path)
        source = str(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"The configuration file {path} does not exist.") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text; save the file as UTF-8.") from None
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{path}: not valid TOML ({error}).") from None
        except OSError as error:
            raise ConfigError(f"Couldn't read the configuration file {path}: {error}.") from None
    return build_config(raw, source, environ)


def build_config(raw: dict[str, Any], source: str, environ: typing.Mapping[str, str]) -> Config:
    raw = dict(raw)
    products = parse_products(raw.pop("products", {}), source)
    for name, value in raw.items():
        if name not in _SECTIONS:
            raise ConfigError(f"{source}: unknown section [{shown(name)}].")
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{name}] must be a table.")
    overrides = _environment_overrides(environ)
    sections: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        known = {f.name: f for f in dataclasses.fields(cls)}
        checked: dict[str, Any] = {}
        for key, value in raw.get(name, {}).items():
            if key not in known:
                raise ConfigError(f"{source}: unknown key {name}.{shown(key)}.")
            checked[key] = _check(value, known[key], f"{name}.{key}", source)
        for (section, key), (env_name, text) in overrides.items():
            if section != name:
                continue
            if key not in known:
                raise ConfigError(
                    f"environment {shown(env_name)}: unknown key {name}.{shown(key)}."
                )
            checked[key] = _from_text(text, known[key], f"{name}.{key}", env_name)
        for key, value in checked.items():
            choices = _CHOICES.get((name, key))
            if choices and value not in choices:
                raise ConfigError(
                    f"{source}: {name}.{key} must be one of {', '.join(sorted(choices))}, "
                    f"not {shown(repr(value))}."
                )
        sections[name] = cls(**checked)
    config = Config(**sections, products=products, source=source)
    _check_ranges(config)
    return _check_email(config)


def _environment_overrides(
    environ: typing.Mapping[str, str],
) -> dict[tuple[str, str], tuple[str, str]]:
    """``MFA_TUI__SECTION__KEY`` variables by (section, key); an unknown section stops the program
    just as an unknown key does, naming the variable."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for env_name, text in environ.items():
        if not env_name.startswith(ENV_PREFIX):
            continue
        parts = env_name[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) != 2 or parts[0] not in _SECTIONS:
            raise ConfigError(
                f"environment {shown(env_name)}: not a configuration key "
                f"(expected {ENV_PREFIX}SECTION__KEY with a section of "
                f"{', '.join(_SECTIONS)})."
            )
        found[(parts[0], parts[1])] = (env_name, text)
    return found


def _base_type(f: dataclasses.Field[Any]) -> type:
    # Annotations are strings here (postponed evaluation); every key is a scalar or a list of text.
    return {"int": int, "float": float, "str": str, "bool": bool, "tuple[str, ...]": tuple}[
        str(f.type)
    ]


def _check(value: Any, f: dataclasses.Field[Any], key: str, source: str) -> Any:
    expected = _base_type(f)
    if expected is tuple:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(
                f'{source}: {key} must be a list of text, like ["a", "b"], '
                f"not {shown(repr(value))}."
            )
        return tuple(value)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is int and isinstance(value, bool):
        raise ConfigError(f"{source}: {key} must be a whole number, not {value!r}.")
    if not isinstance(value, expected):
        names = {int: "a whole number", float: "a number", str: "text", bool: "true or false"}
        raise ConfigError(f"{source}: {key} must be {names[expected]}, not {shown(repr(value))}.")
    if expected is float and not math.isfinite(value):
        raise ConfigError(f"{source}: {key} must be a finite number, not {value!r}.")
    return value


_WHOLE = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")


def _from_text(text: str, f: dataclasses.Field[Any], key: str, env_name: str) -> Any:
    # Only ASCII digits: int() also takes other scripts' digits, which nobody means here.
    expected = _base_type(f)
    if expected is str:
        return text
    if expected is tuple:
        return tuple(item.strip() for item in text.split(",") if item.strip())
    lowered = text.strip().lower()
    if expected is bool and lowered in {"1", "0", "true", "false", "yes", "no"}:
        return lowered in {"1", "true", "yes"}
    if expected is int and _WHOLE.fullmatch(lowered):
        return int(lowered)
    if expected is float and _DECIMAL.fullmatch(lowered):
        return float(lowered)
    raise ConfigError(f"environment {shown(env_name)}: {key} can't be {shown(repr(text))}.")


ARGON2_PAIRS = ((47_104, 1), (19_456, 2), (12_288, 3), (9_216, 4), (7_168, 5))
"""argon2id (memory KiB, passes) pairs of equal strength; a setting must reach one of them
(OWASP Password Storage Cheat Sheet)."""

_BOUNDS: dict[str, tuple[float, float, str]] = {
    # key: (lowest, highest, why) — the why names the source of a security floor or ceiling.
    "security.argon2_time_cost": (1, 64, "argon2"),
    "security.argon2_parallelism": (1, 64, "argon2"),
    "security.argon2_memory_kib": (7_168, 4_194_304, "OWASP Password Storage, up to 4 GiB"),
    "security.min_password_length": (8, 1_024, "NIST SP 800-63B: at least 8"),
    "security.max_password_length": (64, 4_096, "NIST SP 800-63B: at least 64"),
    "security.code_lifetime_seconds": (30, 600, "NIST SP 800-63B: at most 10 minutes"),
    "security.code_attempts": (1, 10, "at most 10 tries per code"),
    "security.lockout_free_failures": (0, 100, "NIST SP 800-63B: at most 100 failures"),
    "security.lockout_base_seconds": (1, 86_400, "a positive wait"),
    "security.lockout_max_seconds": (1, 86_400, "at most a day"),
    "security.lockout_hard_limit": (1, 100, "NIST SP 800-63B: at most 100 failures"),
    "security.resend_cooldown_seconds": (0, 3_600, "at most an hour"),
    "security.sends_per_window": (1, 1_000, "a positive number"),
    "security.send_window_seconds": (1, 86_400, "at most a day"),
    "security.idle_lock_seconds": (1, 1_800, "NIST SP 800-63B AAL2: at most 30 minutes idle"),
    "security.session_max_seconds": (60, 43_200, "NIST SP 800-63B AAL2: at most 12 hours"),
    "security.step_up_seconds": (30, 900, "a recent re-authentication: at most 15 minutes"),
    "database.keep_mfa_jobs_days": (0, 36_500, "0 keeps only the jobs still read"),
    "email.port": (1, 65_535, "a TCP port"),
    "email.timeout_seconds": (0.1, 600, "a positive number of seconds"),
    "email.greeting_timeout_seconds": (0.1, 600, "a positive number of seconds"),
    "sms.timeout_seconds": (0.1, 600, "a positive number of seconds"),
    "audit.retention_days": (0, 36_500, "days, 0 to keep every event"),
}


_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def _is_host_name(name: str) -> bool:
    labels = name.split(".")
    return 0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


def _check_email(config: Config) -> Config:
    """The ``[email]`` values only a closer look can judge; returns internal domains normalised."""
    mail = config.email
    source = config.source
    address = mail.from_address.strip()
    if "<" in address:  # a display name: only then is the parser worth importing at start-up
        import email.utils

        _, address = email.utils.parseaddr(address)
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise ConfigError(
            f"{source}: email.from_address must be an address, optionally with a display name "
            f'("Kiosk MFA <mfa@example.com>"), not {shown(repr(mail.from_address))}.'
        )
    helo = mail.helo_name.strip()
    literal = helo.startswith("[") and helo.endswith("]")
    if helo and not literal and not _is_host_name(helo.lower().rstrip(".")):
        raise ConfigError(
            f"{source}: email.helo_name must be a host name like kiosk7.example.com, "
            f"not {shown(repr(mail.helo_name))}."
        )
    domains: list[str] = []
    for raw in mail.internal_domains:
        name = raw.strip().lstrip("@").rstrip(".").lower()
        if not _is_host_name(name):
            raise ConfigError(
                f"{source}: email.internal_domains: {shown(repr(raw))} is not a domain name "
                "(like corp.local)."
            )
        if name not in domains:
            domains.append(name)
    refusal = email_transport_refusal(mail.tls, mail.host, mail.username)
    if refusal is not None:
        raise ConfigError(f"{source}: {refusal}.")
    sms = config.sms
    url, key = {
        "http": (sms.http_url, "sms.http_url"),
        "twilio": (sms.twilio_api_url, "sms.twilio_api_url"),
    }.get(sms.provider, ("", ""))
    refusal = sms_gateway_refusal(url, key) if url else None
    if refusal is not None:
        raise ConfigError(f"{source}: {refusal}.")
    if tuple(domains) == mail.internal_domains and helo == mail.helo_name:
        return config
    return config.replace("email", internal_domains=tuple(domains), helo_name=helo)


def _check_ranges(config: Config) -> None:
    for dotted, (low, high, why) in _BOUNDS.items():
        section, key = dotted.split(".")
        value = getattr(getattr(config, section), key)
        if not low <= value <= high:
            limit = f"at least {_number(low)}" if value < low else f"at most {_number(high)}"
            raise ConfigError(
                f"{config.source}: {dotted} must be {limit} ({why}), not {_number(value)}."
            )
    sec = config.security
    if sec.min_password_length > sec.max_password_length:
        raise ConfigError(
            f"{config.source}: security.min_password_length ({sec.min_password_length}) is above "
            f"security.max_password_length ({sec.max_password_length}); no password could pass."
        )
    if sec.lockout_base_seconds > sec.lockout_max_seconds:
        raise ConfigError(
            f"{config.source}: security.lockout_base_seconds is above security.lockout_max_seconds."
        )
    memory, passes = sec.argon2_memory_kib, sec.argon2_time_cost
    if not any(memory >= m and passes >= t for m, t in ARGON2_PAIRS):
        pairs = ", ".join(f"{m} KiB x {t}" for m, t in ARGON2_PAIRS)
        raise ConfigError(
            f"{config.source}: security.argon2_memory_kib = {memory} with argon2_time_cost = "
            f"{passes} is weaker than OWASP's argon2id floor (one of: {pairs})."
        )


def _number(value: float) -> str:
    return f"{value:,}" if float(value).is_integer() else f"{value:,g}"


def parse_products(raw: Any, source: str) -> dict[str, ProductCommand]:
    """Check the ``[products."Name"]`` tables: each holds only ``command``, a list of text whose
    first item is an absolute path (no shell and no ``$PATH`` search decide what runs)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [products] must be a table of products.")
    products: dict[str, ProductCommand] = {}
    for name, table in raw.items():
        key = f"products.{_toml_key(name)}"
        if not name.strip():
            raise ConfigError(f"{source}: [products] has a product with an empty name.")
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: [{key}] must be a table with a command.")
        for extra in table:
            if extra != "command":
                raise ConfigError(f"{source}: unknown key {key}.{_toml_key(extra)}.")
        command = table.get("command")
        if command is None:
            raise ConfigError(f"{source}: {key}.command is missing.")
        if (
            not isinstance(command, list)
            or not command
            or not all(isinstance(part, str) for part in command)
        ):
            raise ConfigError(
                f"{source}: {key}.command must be a list of text, "
                f'such as ["/opt/product/bin/run", "--kiosk"].'
            )
        if any("\0" in part for part in command):
            raise ConfigError(f"{source}: {key}.command must not contain NUL characters.")
        if not command[0].startswith("/"):
            raise ConfigError(
                f"{source}: {key}.command must start with an absolute path to the program, "
                f"not {_quoted(command[0])}."
            )
        products[name] = ProductCommand(tuple(command))
    return products


def _toml_key(text: str) -> str:
    """A key as TOML writes it: bare when it can be, quoted otherwise."""
    bare = text and all(char.isascii() and (char.isalnum() or char in "-_") for char in text)
    return text if bare else _quoted(text)


def _quoted(text: str) -> str:
    """A TOML-style quoted key or value (quotes and backslashes escaped), safe for messages."""
    return '"' + shown(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'

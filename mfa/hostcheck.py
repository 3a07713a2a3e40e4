"""What is wrong with this host before a technician finds out: files, mail server, SMS settings.

:func:`check_host` looks at the configuration the way an operator would after following
docs/ssh-kiosk.md and returns one :class:`Finding` per thing looked at: the configuration file,
the Python mfa-tui runs on, the data directory, the database (and its ``-wal``/``-shm``), the key
file, the mail server (connect and EHLO; no mail is sent) and the SMS provider's settings. Modes
and owners are judged against the chosen layout: with ``host.group`` set, technicians are their
own Unix accounts in that group (everything the group's, nothing for others); without it, one
account runs mfa-tui (everything private to it).

Nothing here prints or changes a file; ``mfa-tui admin check`` (``admin_cli.check``) prints the
findings and picks the exit status.
"""

from __future__ import annotations

import asyncio
import grp
import ipaddress
import os
import pwd
import shlex
import shutil
import socket
import ssl
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from mfa.config import Config
from mfa.delivery.checks import delivery_problems
from mfa.keys import SecretKeyError, read_key
from mfa.secret_files import SecretFileError, others_may_use, read_secret_file
from store.db import schema_version
from store.files import FileAccess, FileAccessError

Severity = Literal["ok", "warn", "error"]

MAIL_DEADLINE_SECONDS = 10.0
"""The longest the mail server check waits, whatever ``email.timeout_seconds`` says."""

_SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Finding:
    """One thing looked at: how it is (``ok``/``warn``/``error``), what, and the fix in one line."""

    severity: Severity
    what: str
    fix: str = ""


def all_ok(findings: list[Finding]) -> bool:
    """True when every finding is ok (no warning, no error)."""
    return all(f.severity == "ok" for f in findings)


async def check_host(config: Config, *, environ: Mapping[str, str] | None = None) -> list[Finding]:
    """Every finding about this host for ``config``; ``environ`` is where secrets are looked up."""
    environ = os.environ if environ is None else environ
    findings: list[Finding] = []
    layout = _layout(config, findings)
    if layout is not None:
        findings += _config_file(config, layout)
        findings += _python(layout)
        findings += _directories(config, layout)
        findings += _database(config, layout)
        findings += _key_file(config, layout)
        findings += _secret_files(config, layout)
    findings += await _mail_server(config, environ)
    findings += _sms(config, environ)
    findings += [
        Finding("warn", problem, "change the setting it names")
        for problem in delivery_problems(config)
    ]
    return findings


# ---- the layout ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    access: FileAccess
    account: int
    """Layout (a): the uid that runs mfa-tui (the data directory's owner, else whoever checks)."""

    @property
    def shared(self) -> bool:
        return self.access.shared

    @property
    def group(self) -> str:
        return self.access.group


def _layout(config: Config, findings: list[Finding]) -> _Layout | None:
    try:
        access = FileAccess.for_group(config.host.group)
    except FileAccessError as error:
        findings.append(Finding("error", str(error).split(" Create it")[0], _group_fix(config)))
        return None
    directory = config.database_path.parent
    account = directory.stat().st_uid if directory.is_dir() else os.geteuid()
    if access.shared:
        members = grp.getgrnam(access.group).gr_mem
        users_in = [p.pw_name for p in pwd.getpwall() if p.pw_gid == access.gid]
        everyone = sorted(set(members) | set(users_in))
        if everyone:
            findings.append(
                Finding("ok", f"Layout: technicians in the group {access.group} ({len(everyone)} "
                              f"accounts: {', '.join(everyone[:5])}{'…' if len(everyone) > 5 else ''}).")
            )  # fmt: skip
        else:
            findings.append(
                Finding(
                    "warn",
                    f"Layout: the group {access.group} has no members, so nobody can sign in.",
                    f"usermod -a -G {access.group} NAME (for each technician)",
                )
            )
    else:
        findings.append(
            Finding("ok", f"Layout: one account ({_user(account)}) runs mfa-tui; no host.group.")
        )
    return _Layout(access, account)


def _config_option(config: Config) -> str:
    return "" if config.source == "defaults" else f" --config {config.source}"


def _group_fix(config: Config) -> str:
    return f"groupadd {config.host.group}, or correct host.group in {config.source}"


# ---- files ---------------------------------------------------------------------------------------


def _config_file(config: Config, layout: _Layout) -> list[Finding]:
    if config.source == "defaults":
        return [
            Finding(
                "warn",
                "No configuration file: every key has its default (the database in this "
                "account's data directory, mail to localhost:25).",
                "write /etc/mfa-tui/config.toml (docs/configuration.md)",
            )
        ]
    path = Path(config.source)
    try:
        status = path.stat()
    except OSError as error:
        return [Finding("error", f"The configuration file {path}: {error.strerror}.", "")]
    mode = stat.S_IMODE(status.st_mode)
    found = []
    if mode & stat.S_IWOTH:
        found.append(
            Finding("error", f"Anyone can change the configuration file {path} (mode {mode:04o}).",
                    f"chmod o-w {path}")
        )  # fmt: skip
    if layout.shared and not _readable_by_group(status, layout.access):
        found.append(
            Finding(
                "error",
                f"The group {layout.group} can't read the configuration file {path} "
                f"({_owner_text(status)}, mode {mode:04o}).",
                f"chgrp {layout.group} {path} && chmod 640 {path}",
            )
        )
    if not layout.shared and not _readable_by(status, layout.account):
        found.append(
            Finding(
                "error",
                f"{_user(layout.account)} can't read the configuration file {path} "
                f"({_owner_text(status)}, mode {mode:04o}).",
                f"chgrp {_primary_group(layout.account)} {path} && chmod 640 {path}",
            )
        )
    if not found:
        found.append(
            Finding("ok", f"Configuration file {path} ({_owner_text(status)}, {mode:04o}).")
        )
    return found


def _python(layout: _Layout) -> list[Finding]:
    """The interpreter and the virtualenv must be reachable by every account that runs mfa-tui."""
    interpreter = Path(os.path.realpath(sys.executable))
    blocked = [
        directory
        for directory in [*reversed(interpreter.parents), *reversed(Path(sys.prefix).parents)]
        if directory.is_dir() and not _traversable(directory.stat(), layout)
    ]
    if blocked:
        first = blocked[0]
        return [
            Finding(
                "error",
                f"mfa-tui runs on {interpreter}, inside {first} (mode "
                f"{stat.S_IMODE(first.stat().st_mode):04o}), which "
                f"{_who(layout)} can't enter: their SSH sessions end with "
                "'bad interpreter: Permission denied'.",
                "rebuild the virtualenv on /usr/bin/python3 (docs/ssh-kiosk.md, step 1)",
            )
        ]
    return [Finding("ok", f"Python {interpreter} and {sys.prefix} are reachable.")]


def _directories(config: Config, layout: _Layout) -> list[Finding]:
    directories = [config.database_path.parent]
    if config.key_path.parent != directories[0]:
        directories.append(config.key_path.parent)
    found: list[Finding] = []
    for directory in directories:
        found += _directory(directory, layout)
    return found


def _directory(directory: Path, layout: _Layout) -> list[Finding]:
    if not directory.is_dir():
        if layout.shared:
            return [
                Finding(
                    "error",
                    f"The data directory {directory} doesn't exist.",
                    f"install -d -o root -g {layout.group} -m 2770 {directory}",
                )
            ]
        return [
            Finding(
                "warn",
                f"The data directory {directory} doesn't exist yet (the first start makes it).",
                f"install -d -o {_user(layout.account)} -m 0700 {directory}",
            )
        ]
    blocked = [
        parent
        for parent in reversed(directory.parents)
        if parent.is_dir() and not _traversable(parent.stat(), layout)
    ]
    if blocked:
        return [
            Finding(
                "error",
                f"{_who(layout).capitalize()} can't reach {directory}: {blocked[0]} is mode "
                f"{stat.S_IMODE(blocked[0].stat().st_mode):04o}.",
                f"chmod o+x {blocked[0]}, or keep the data in /var/lib/mfa-tui",
            )
        ]
    status = directory.stat()
    mode = stat.S_IMODE(status.st_mode)
    if layout.shared:
        problems = []
        if status.st_gid != layout.access.gid:
            problems.append(f"belongs to the group {_group(status.st_gid)}")
        if mode & 0o070 != 0o070:
            problems.append("the group can't create files in it")
        if not mode & stat.S_ISGID:
            problems.append("isn't setgid (-wal and -shm would get the creator's group)")
        if problems:
            return [
                Finding(
                    "error",
                    f"The data directory {directory} (mode {mode:04o}) {'; '.join(problems)}.",
                    f"chgrp {layout.group} {directory} && chmod 2770 {directory}",
                )
            ]
        if mode & 0o007:
            return [
                Finding("warn", f"Others can enter the data directory {directory} ({mode:04o}).",
                        f"chmod o= {directory}")
            ]  # fmt: skip
    else:
        if status.st_uid != layout.account:
            return [_not_owned(f"The data directory {directory}", directory, status, layout)]
        if mode & 0o077:
            return [
                Finding("warn", f"Other accounts can enter the data directory {directory} "
                                f"({mode:04o}).", f"chmod 700 {directory}")
            ]  # fmt: skip
    return [Finding("ok", f"Data directory {directory} ({_owner_text(status)}, {mode:04o}).")]


def _database(config: Config, layout: _Layout) -> list[Finding]:
    path = config.database_path
    if not path.exists():
        return [
            Finding(
                "warn",
                f"The database {path} doesn't exist yet.",
                f"mfa-tui{_config_option(config)} admin init --subscription NAME --email ADDRESS",
            )
        ]
    found = []
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError as error:
        return [Finding("error", f"Couldn't read the database {path}: {error.strerror}.")]
    if header and not header.startswith(_SQLITE_HEADER):
        return [Finding("error", f"{path} isn't an SQLite database.", "point database.path at "
                                 "the right file")]  # fmt: skip
    version = int.from_bytes(header[60:64], "big") if len(header) >= 64 else 0
    if version > schema_version():
        found.append(
            Finding("error", f"The database {path} was written by a newer mfa-tui (schema "
                             f"{version}, this one knows {schema_version()}).", "upgrade mfa-tui")
        )  # fmt: skip
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if file.exists():
            found += _private_or_group_file(file, layout, "database file", write=True)
    return found


def _key_file(config: Config, layout: _Layout) -> list[Finding]:
    path = config.key_path
    if not path.exists():
        return [
            Finding("ok", f"The key file {path} doesn't exist yet; the first code sent makes it.")
        ]
    try:
        read_key(path, config.host.group)
    except SecretKeyError as error:
        what, _, fix = str(error).partition(" Run")
        return [Finding("error", what, fix.partition(": ")[2])]
    except FileNotFoundError:
        return []
    return _private_or_group_file(path, layout, "key file", write=False)


def _private_or_group_file(path: Path, layout: _Layout, kind: str, *, write: bool) -> list[Finding]:
    status = path.stat()
    mode = stat.S_IMODE(status.st_mode)
    if layout.shared:
        needed = 0o060 if write else 0o040
        if status.st_gid != layout.access.gid or mode & needed != needed:
            access = "read and write" if write else "read"
            return [
                Finding(
                    "error",
                    f"The group {layout.group} can't {access} the {kind} {path} "
                    f"({_owner_text(status)}, mode {mode:04o}).",
                    f"chgrp {layout.group} {path} && chmod {'660' if write else '640'} {path}",
                )
            ]
        if mode & 0o007:
            return [
                Finding("error", f"Others can use the {kind} {path} (mode {mode:04o}).",
                        f"chmod o= {path}")
            ]  # fmt: skip
    else:
        if status.st_uid != layout.account:
            return [_not_owned(f"The {kind} {path}", path, status, layout)]
        if mode & 0o077:
            return [
                Finding("warn", f"Other accounts can use the {kind} {path} (mode {mode:04o}).",
                        f"chmod 600 {path}")
            ]  # fmt: skip
    return [Finding("ok", f"The {kind} {path} ({_owner_text(status)}, {mode:04o}).")]


def _not_owned(what: str, path: Path, status: os.stat_result, layout: _Layout) -> Finding:
    """Without a shared group, ``path`` (called ``what``) belongs to another account than the one
    that runs mfa-tui."""
    return Finding(
        "error",
        f"{what} belongs to {_user(status.st_uid)}, not to {_user(layout.account)}, who runs "
        "mfa-tui.",
        f"chown {_user(layout.account)} {path}",
    )


def _secret_files(config: Config, layout: _Layout) -> list[Finding]:
    """The SMTP password and SMS token files: readable by whoever runs mfa-tui, by no one else."""
    found: list[Finding] = []
    named = [("SMTP password file", config.email.password_file)]
    if config.sms.provider == "http":
        named.append(("SMS token file", config.sms.http_token_file))
    if config.sms.provider == "twilio":
        named.append(("Twilio auth token file", config.sms.twilio_auth_token_file))
    for kind, name in named:
        if name:
            found += _secret_file(Path(name), layout, kind)
    return found


def _secret_file(path: Path, layout: _Layout, kind: str) -> list[Finding]:
    try:
        status = path.stat()
    except OSError as error:
        return [Finding("error", f"The {kind} {path} can't be used: {error.strerror or error}.",
                        f"create it: install -m 0640 -g GROUP /dev/null {path}, then write the "
                        "secret into it")]  # fmt: skip
    mode = stat.S_IMODE(status.st_mode)
    if not stat.S_ISREG(status.st_mode):
        return [Finding("error", f"The {kind} {path} is not a plain file.", "point to a file")]
    if others_may_use(mode):
        return [
            Finding("error", f"Others can read the {kind} {path} (mode {mode:04o}); mfa-tui "
                             "refuses to use it.", f"chmod o= {path}")
        ]  # fmt: skip
    if layout.shared:
        readable = status.st_gid == layout.access.gid and bool(mode & stat.S_IRGRP)
        who, fix_group = f"the group {layout.group}", layout.group
    else:
        readable = (status.st_uid == layout.account and bool(mode & stat.S_IRUSR)) or (
            status.st_gid == _primary_gid(layout.account) and bool(mode & stat.S_IRGRP)
        )
        who, fix_group = _user(layout.account), _primary_group(layout.account)
    if not readable:
        return [
            Finding("error", f"{who[0].upper()}{who[1:]} can't read the {kind} {path} "
                             f"({_owner_text(status)}, mode {mode:04o}).",
                    f"chgrp {fix_group} {path} && chmod 640 {path}")
        ]  # fmt: skip
    try:
        read_secret_file(path)
    except SecretFileError as error:
        return [Finding("error", f"The {kind} can't be used: {error}.", "write the secret into it")]
    return [Finding("ok", f"The {kind} {path} ({_owner_text(status)}, {mode:04o}).")]


# ---- mail and SMS --------------------------------------------------------------------------------


async def _mail_server(config: Config, environ: Mapping[str, str]) -> list[Finding]:
    """Connect and say EHLO (STARTTLS when configured); never MAIL, never a message."""
    import aiosmtplib

    settings = config.email
    server = f"{settings.host}:{settings.port}"
    found: list[Finding] = []
    # The name sends use (email.helo_name, else this host's); a bare localhost is reported with
    # the other delivery problems (mfa.delivery.checks).
    greeting_name = settings.helo_name or await asyncio.to_thread(socket.getfqdn)
    deadline = min(settings.timeout_seconds, MAIL_DEADLINE_SECONDS)
    smtp = aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        use_tls=settings.tls == "tls",
        start_tls=False,
        local_hostname=greeting_name,
        timeout=deadline,
    )
    try:
        async with asyncio.timeout(deadline):
            if settings.tls != "none" and settings.ca_file:
                smtp.tls_context = ssl.create_default_context(cafile=settings.ca_file)
            await smtp.connect()
            await smtp.ehlo()
            if settings.tls == "starttls":
                if not smtp.supports_extension("starttls"):
                    found.append(
                        Finding("error", f"The mail server {server} doesn't offer STARTTLS.",
                                "set email.tls to the server's mode (tls or none)")
                    )  # fmt: skip
                else:
                    await smtp.starttls()
                    await smtp.ehlo()
            if settings.username and not smtp.supports_extension("auth"):
                found.append(
                    Finding("warn", f"The mail server {server} doesn't offer AUTH here, but "
                                    f"email.username is set.", "check email.tls and the port")
                )  # fmt: skip
            await smtp.quit()
    except (OSError, TimeoutError, ssl.SSLError, aiosmtplib.SMTPException) as error:
        reason = str(error) or type(error).__name__
        found = [
            Finding(
                "error",
                f"The mail server {server} (tls {settings.tls}) didn't answer EHLO: {reason}.",
                "check email.host, email.port and email.tls, and that this host may reach it",
            )
        ]
    else:
        if not found:
            found.append(Finding("ok", f"Mail server {server} answers EHLO (tls {settings.tls})."))
    finally:
        smtp.close()
    if settings.username and not settings.password_file and settings.password_env not in environ:
        found.append(
            Finding(
                "warn",
                f"email.username is set but {settings.password_env} isn't in this environment.",
                "set email.password_file (sshd passes technicians' sessions no environment)",
            )
        )
    _, _, domain = settings.from_address.rpartition("@")
    if domain.endswith((".local", ".localdomain")) or "." not in domain:
        found.append(
            Finding("warn", f"Codes come from {settings.from_address}: a domain mail servers "
                            "don't know.", "set email.from_address to an address of your domain")
        )  # fmt: skip
    return found


def _sms(config: Config, environ: Mapping[str, str]) -> list[Finding]:
    sms = config.sms
    if sms.provider == "outbox":
        return [
            Finding(
                "warn",
                "SMS provider: outbox. Codes by SMS are recorded, never sent.",
                "set sms.provider (http, command or email) if technicians use SMS",
            )
        ]
    if sms.provider == "http":
        return _sms_http(config, environ)
    if sms.provider == "twilio":
        return _sms_twilio(config, environ)
    if sms.provider == "command":
        argv = shlex.split(sms.command) if sms.command else []
        if not argv:
            return [Finding("error", "SMS provider: command, but sms.command is empty.",
                            "set sms.command")]  # fmt: skip
        program = shutil.which(argv[0])
        if program is None:
            return [Finding("error", f"The SMS command {argv[0]} isn't an executable program.",
                            "set sms.command to an executable's full path")]  # fmt: skip
        return [Finding("ok", f"SMS provider: command {program}.")]
    if not sms.email_domain.strip():
        return [Finding("error", "SMS provider: email, but sms.email_domain is empty.",
                        "set sms.email_domain (your carrier's email-to-SMS domain)")]  # fmt: skip
    return [
        Finding(
            "ok", f"SMS provider: email to <number>@{sms.email_domain}, through the mail server."
        )
    ]


def _sms_twilio(config: Config, environ: Mapping[str, str]) -> list[Finding]:
    sms = config.sms
    found: list[Finding] = []
    if not sms.twilio_account_sid.strip():
        found.append(Finding("error", "SMS provider: twilio, but sms.twilio_account_sid is empty.",
                             "set sms.twilio_account_sid (AC...)"))  # fmt: skip
    if not sms.twilio_from.strip() and not sms.twilio_messaging_service_sid.strip():
        found.append(Finding("error", "SMS provider: twilio, but no sender is set.",
                             "set sms.twilio_from or sms.twilio_messaging_service_sid"))  # fmt: skip
    if not sms.twilio_auth_token_file and not environ.get(sms.twilio_auth_token_env):
        found.append(
            Finding(
                "error",
                f"Twilio needs the auth token, but {sms.twilio_auth_token_env} isn't in this "
                "environment.",
                "set sms.twilio_auth_token_file (sshd passes technicians' sessions no environment)",
            )
        )
    if not found:
        found.append(Finding("ok", f"SMS provider: twilio, account {sms.twilio_account_sid}."))
    return found


def _sms_http(config: Config, environ: Mapping[str, str]) -> list[Finding]:
    sms = config.sms
    found: list[Finding] = []
    url = urlsplit(sms.http_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        return [Finding("error", f"SMS provider: http, but sms.http_url ({sms.http_url!r}) "
                                 "isn't an http(s) address.", "set sms.http_url")]  # fmt: skip
    if url.scheme == "http" and not _loopback(url.hostname):
        found.append(Finding("warn", f"The SMS gateway {url.hostname} is reached without TLS.",
                             "use an https:// address in sms.http_url"))  # fmt: skip
    if not sms.http_token_file and not environ.get(sms.http_token_env):
        found.append(
            Finding(
                "error",
                f"The SMS gateway needs a token, but {sms.http_token_env} isn't in this "
                "environment.",
                "set sms.http_token_file (sshd passes technicians' sessions no environment)",
            )
        )
    if not sms.http_sender:
        found.append(Finding("warn", "sms.http_sender is empty: most gateways refuse a message "
                                     "with no sender.", "set sms.http_sender"))  # fmt: skip
    if not found:
        found.append(Finding("ok", f"SMS provider: http, {url.scheme}://{url.hostname}."))
    return found


# ---- helpers -------------------------------------------------------------------------------------


def _traversable(status: os.stat_result, layout: _Layout) -> bool:
    mode = status.st_mode
    if mode & stat.S_IXOTH:
        return True
    if layout.shared:
        return bool(mode & stat.S_IXGRP) and status.st_gid == layout.access.gid
    if status.st_uid == layout.account:
        return bool(mode & stat.S_IXUSR)
    return bool(mode & stat.S_IXGRP) and status.st_gid == _primary_gid(layout.account)


def _readable_by_group(status: os.stat_result, access: FileAccess) -> bool:
    if status.st_mode & stat.S_IROTH:
        return True
    return bool(status.st_mode & stat.S_IRGRP) and status.st_gid == access.gid


def _readable_by(status: os.stat_result, uid: int) -> bool:
    if uid == 0 or status.st_mode & stat.S_IROTH:
        return True
    if status.st_uid == uid:
        return bool(status.st_mode & stat.S_IRUSR)
    return bool(status.st_mode & stat.S_IRGRP) and status.st_gid == _primary_gid(uid)


def _who(layout: _Layout) -> str:
    return f"the group {layout.group}" if layout.shared else _user(layout.account)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _primary_gid(uid: int) -> int:
    try:
        return pwd.getpwuid(uid).pw_gid
    except KeyError:
        return -1


def _primary_group(uid: int) -> str:
    return _group(_primary_gid(uid))


def _owner_text(status: os.stat_result) -> str:
    return f"{_user(status.st_uid)}:{_group(status.st_gid)}"

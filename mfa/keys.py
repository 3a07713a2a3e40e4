"""The key that encrypts each method's code secret at rest, kept in a file outside the database.

A copy of the database alone (a backup, a stolen file) is not enough to compute anyone's codes: the
secrets in ``mfa_methods.secret`` are Fernet tokens (AES-128-CBC with HMAC-SHA256, from
``cryptography``), and the key lives in ``config.key_path`` (``security.key_file``).

The file is created on first use with mode 0600, atomically (written to a private temporary file,
then hard-linked into place), so two processes starting at once agree on one key. With a group
named (``host.group``: technicians as their own Unix accounts) it is created 0640 and owned by that
group, so that every member can read it whoever created it. A key file that anyone else can read,
or that isn't a key at all, is refused with a message saying what to do.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken

from store.files import FileAccess, FileAccessError

KEY_FILE_MODE = 0o600

if TYPE_CHECKING:
    from mfa.config import Config


class SecretKeyError(Exception):
    """The key file can't be used (unsafe permissions, unreadable, not a key, wrong key)."""


class SecretBox:
    """Encrypts and decrypts method secrets with the key from one key file."""

    def __init__(self, key: bytes, path: Path) -> None:
        self._fernet = Fernet(key)
        self.path = path

    def encrypt(self, secret: str) -> bytes:
        """The secret as a Fernet token (bytes, stored in ``mfa_methods.secret``)."""
        return self._fernet.encrypt(secret.encode("ascii"))

    def decrypt(self, token: bytes) -> str:
        """The secret a token holds; :class:`SecretKeyError` when this key didn't make it."""
        try:
            return self._fernet.decrypt(bytes(token)).decode("ascii")
        except (InvalidToken, UnicodeDecodeError, TypeError):
            raise SecretKeyError(
                f"The code secrets in the database can't be decrypted with the key file "
                f"{self.path}: it isn't the key they were made with. Restore the original key file, "
                "or reset the users' MFA methods."
            ) from None


def secret_box(key_path: Path, group: str = "") -> SecretBox:
    """The :class:`SecretBox` for ``key_path``, creating the key file on first use.

    ``group`` is ``host.group``: the Unix group whose members share the key (empty: one account).
    """
    return SecretBox(load_or_create_key(key_path, group), key_path)


def installation_box(config: Config) -> SecretBox:
    """The box for this installation's key file, with its layout's group: what every caller uses,
    so that no code path forgets the group (and refuses a shared key as "readable by others")."""
    return secret_box(config.key_path, config.host.group)


def installation_key(config: Config) -> bytes:
    """This installation's key (created on first use), with its layout's group."""
    return load_or_create_key(config.key_path, config.host.group)


def load_or_create_key(path: Path, group: str = "") -> bytes:
    """Read the key at ``path``, or create it when there is none yet.

    A new key file is 0600, or 0640 owned by ``group`` when one is named.
    """
    access = _access(group)
    try:
        return _read_checked(path, access)
    except FileNotFoundError:
        return _create_key(path, access)


def read_key(path: Path, group: str = "") -> bytes:
    """Read and check the key at ``path`` without ever creating one (for host checks).

    Raises :class:`SecretKeyError` for an unsafe, unreadable or wrong file, and
    ``FileNotFoundError`` when there is none.
    """
    return _read_checked(path, _access(group))


def _read_checked(path: Path, access: FileAccess) -> bytes:
    """:func:`_read_key`, its failures but ``FileNotFoundError`` said as a :class:`SecretKeyError`."""
    try:
        return _read_key(path, access)
    except FileNotFoundError:
        raise
    except PermissionError as error:
        raise SecretKeyError(
            f"Couldn't read the key file {path}: {error.strerror}.{_fix_unreadable(path, access)}"
        ) from None
    except OSError as error:
        raise SecretKeyError(f"Couldn't read the key file {path}: {error.strerror}.") from None


def _access(group: str) -> FileAccess:
    try:
        return FileAccess.for_group(group)
    except FileAccessError as error:
        raise SecretKeyError(str(error)) from None


def _fix_unreadable(path: Path, access: FileAccess) -> str:
    if access.shared:
        return f" Run as root: chgrp {access.group} {path} && chmod 640 {path}"
    return ""


def unsafe_mode_problem(st_mode: int, st_gid: int, path: Path, access: FileAccess) -> str:
    """Why a key file with this mode and group is refused, with the fix; "" when it is fine.

    Nobody but the owner may use it, or, with a group named, the owner and that group.
    """
    mode = stat.S_IMODE(st_mode)
    if access.gid is None:
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            return (
                f"The key file {path} can be read or changed by other users "
                f"(mode {mode:04o}). Run: chmod 600 {path}"
            )
        return ""
    if mode & stat.S_IRWXO:
        return (
            f"The key file {path} can be read or changed by other users (mode {mode:04o}). "
            f"Run: chmod o= {path}"
        )
    if mode & stat.S_IRWXG and st_gid != access.gid:
        return (
            f"The key file {path} can be read or changed by a group other than "
            f"{access.group} (mode {mode:04o}). Run as root: chgrp {access.group} {path}"
        )
    return ""


def _read_key(path: Path, access: FileAccess) -> bytes:
    with open(path, "rb") as handle:
        status = os.fstat(handle.fileno())
        problem = unsafe_mode_problem(status.st_mode, status.st_gid, path, access)
        if problem:
            raise SecretKeyError(problem)
        key = handle.read().strip()
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise SecretKeyError(
            f"The key file {path} doesn't hold a key mfa-tui can use. Restore the original key "
            "file (or, on a new installation, delete it to have a new one made)."
        ) from None
    return key


def _create_key(path: Path, access: FileAccess) -> bytes:
    """Write a new key to ``path`` unless another process wins the race; return the key in place."""
    key = Fernet.generate_key()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    try:
        access.make_directory(path.parent)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    except OSError as error:
        raise SecretKeyError(f"Couldn't create the key file {path}: {error.strerror}.") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            # The group may read it only once it holds the whole key and belongs to the group.
            access.adopt(handle.fileno(), access.read_only_mode)
            os.fsync(handle.fileno())
        try:
            # link() fails when the name exists: the complete file appears at once, or not at all.
            os.link(temporary, path)
        except FileExistsError:
            return _read_key(path, access)
    except OSError as error:
        raise SecretKeyError(f"Couldn't create the key file {path}: {error.strerror}.") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return key

"""The key that encrypts each method's code secret at rest, kept in a file outside the database.

A copy of the database alone (a backup, a stolen file) is not enough to compute anyone's codes: the
secrets in ``mfa_methods.secret`` are Fernet tokens (AES-128-CBC with HMAC-SHA256, from
``cryptography``), and the key lives in ``config.key_path`` (``security.key_file``).

The file is created on first use with mode 0600, atomically (written to a private temporary file,
then hard-linked into place), so two processes starting at once agree on one key. A key file that
other users can read, or that isn't a key at all, is refused with a message saying what to do.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE_MODE = 0o600


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


def secret_box(key_path: Path) -> SecretBox:
    """The :class:`SecretBox` for ``key_path``, creating the key file on first use."""
    return SecretBox(load_or_create_key(key_path), key_path)


def load_or_create_key(path: Path) -> bytes:
    """Read the key at ``path``, or create it (mode 0600) when there is none yet."""
    try:
        return _read_key(path)
    except FileNotFoundError:
        return _create_key(path)
    except OSError as error:
        raise SecretKeyError(f"Couldn't read the key file {path}: {error.strerror}.") from None


def _read_key(path: Path) -> bytes:
    with open(path, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretKeyError(
                f"The key file {path} can be read or changed by other users "
                f"(mode {stat.S_IMODE(mode):04o}). Run: chmod 600 {path}"
            )
        key = handle.read().strip()
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise SecretKeyError(
            f"The key file {path} doesn't hold a key mfa-tui can use. Restore the original key "
            "file (or, on a new installation, delete it to have a new one made)."
        ) from None
    return key


def _create_key(path: Path) -> bytes:
    """Write a new key to ``path`` unless another process wins the race; return the key in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            # link() fails when the name exists: the complete file appears at once, or not at all.
            os.link(temporary, path)
        except FileExistsError:
            return _read_key(path)
    except OSError as error:
        raise SecretKeyError(f"Couldn't create the key file {path}: {error.strerror}.") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return key

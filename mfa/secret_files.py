"""Secrets kept in files (the SMTP password, the SMS gateway's token), read at each send.

Under sshd's ``ForceCommand`` a technician's session gets none of the host's environment, so a
secret in an environment variable can't reach mfa-tui there; a file that the account running
mfa-tui (layout a) or the group named by ``host.group`` (layout b) can read does. The file holds
the secret, optionally followed by one line ending. A file that others may use in any way is
refused: a secret readable by every account on a shared host is no secret. It is read at each
send, so a changed password takes effect without restarting anything.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

MAX_BYTES = 64 * 1024
"""Longer than any password or token: a bigger file is a mistake (a wrong path)."""


class SecretFileError(Exception):
    """A secret file can't be used; the message says why, naming the file."""


def others_may_use(mode: int) -> bool:
    """Whether ``mode`` gives accounts other than the owner and the group any access."""
    return bool(stat.S_IMODE(mode) & 0o007)


def read_secret_file(path: str | Path) -> str:
    """The secret in ``path`` (one trailing line ending removed).

    Raises:
        SecretFileError: the file is missing, unreadable, not a plain file, usable by others,
            empty or not UTF-8.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as error:
        raise SecretFileError(f"can't read {path}: {error.strerror or error}") from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise SecretFileError(f"{path} is not a plain file")
        if others_may_use(status.st_mode):
            raise SecretFileError(
                f"{path} is mode {stat.S_IMODE(status.st_mode):04o}: others may read it "
                f"(chmod o= {path})"
            )
        data = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise SecretFileError(f"{path} is too long for a password or token")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretFileError(f"{path} is not UTF-8 text") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise SecretFileError(f"{path} is empty")
    return text


def find_secret(file: str, variable: str, environ: Mapping[str, str]) -> str | None:
    """The secret from ``file`` when one is configured, else from the environment ``variable``
    (None when it isn't set).

    Raises:
        SecretFileError: a configured file can't be used (the variable is then not consulted:
            a file the operator named and that is wrong must not be silently bypassed).
    """
    if file:
        return read_secret_file(file)
    return environ.get(variable)

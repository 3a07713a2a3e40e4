"""Who may use the files mfa-tui creates: the one account that runs it, or one Unix group.

On a host where technicians sign in over SSH as their own Unix accounts, any of them may be the
first to create the database, its ``-wal``/``-shm`` files, the key file or their directory, and all
the others must be able to use what was created. With a group named (``host.group``) every such
file is created owned by that group with read and write for it and nothing for others, and a
directory is made setgid so that what SQLite creates in it later (``-wal``, ``-shm``) inherits the
group. SQLite gives those files the main database file's mode (and, run as root, its owner).

With no group, files are private to the account that creates them (0600, directories 0700).

Modes are set with ``fchmod``/``chmod`` after creation, so the caller's umask doesn't matter.
"""

from __future__ import annotations

import contextlib
import grp
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from store.db import StoreError


class FileAccessError(StoreError):
    """The configured group can't be used (it doesn't exist)."""


@dataclass(frozen=True)
class FileAccess:
    """How files are created: private (``gid`` None) or shared with the group ``gid``."""

    gid: int | None = None
    group: str = ""
    """The group's name, for messages (empty when private)."""

    @classmethod
    def for_group(cls, name: str) -> FileAccess:
        """The access for the group called ``name``; private when ``name`` is empty."""
        name = name.strip()
        if not name:
            return cls()
        try:
            return cls(grp.getgrnam(name).gr_gid, name)
        except KeyError:
            raise FileAccessError(
                f"The group {name!r} (host.group in the configuration) doesn't exist. "
                f"Create it (groupadd {name}) or correct host.group."
            ) from None

    @property
    def shared(self) -> bool:
        return self.gid is not None

    @property
    def file_mode(self) -> int:
        """The mode of a file everyone allowed reads and writes (the database)."""
        return 0o660 if self.shared else 0o600

    @property
    def read_only_mode(self) -> int:
        """The mode of a file the group only reads (the key file)."""
        return 0o640 if self.shared else 0o600

    @property
    def directory_mode(self) -> int:
        """The mode of a directory mfa-tui creates; setgid so new files inherit the group."""
        return 0o2770 if self.shared else 0o700

    def make_directory(self, path: Path) -> None:
        """Create ``path`` if it is missing: the directory itself gets this access's mode and
        group; missing parents are created as usual. An existing directory is left as it is."""
        if path.is_dir():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            return
        # Group first, then the mode: chmod keeps setgid only once the group is right.
        if self.gid is not None:
            with contextlib.suppress(PermissionError):
                os.chown(path, -1, self.gid)
        os.chmod(path, self.directory_mode)

    def create_file(self, path: Path) -> bool:
        """Create an empty ``path`` with :attr:`file_mode` and the group, unless it exists.

        Returns whether this call created it (another process may win a race: that is fine).
        """
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            return False
        try:
            self.adopt(descriptor, self.file_mode)
        finally:
            os.close(descriptor)
        return True

    def adopt(self, descriptor: int, mode: int) -> None:
        """Give an open file this access's group (where the creator may) and then ``mode``."""
        if self.gid is not None and os.fstat(descriptor).st_gid != self.gid:
            # Allowed for root, and for an owner who is a member of the group.
            with contextlib.suppress(PermissionError):
                os.fchown(descriptor, -1, self.gid)
        os.fchmod(descriptor, mode)

    def describe(self) -> str:
        """``group kiosk`` or ``private``, for messages."""
        return f"group {self.group}" if self.shared else "private"


def mode_text(st_mode: int) -> str:
    """``0660`` (the permission bits, with setgid and friends when set)."""
    return f"{stat.S_IMODE(st_mode):04o}"

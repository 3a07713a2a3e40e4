"""Which process holds a database file's write lock, for the sentence said when a write gives up.

SQLite takes POSIX advisory locks: in WAL mode the write lock is a lock on byte 120 of the ``-shm``
file, in rollback mode the RESERVED/PENDING bytes of the database file itself. Linux lists every
such lock in ``/proc/locks`` with the pid holding it, so the process can be named, and whether it
is stopped (Ctrl-Z, SIGSTOP) read from ``/proc/PID/stat``. Anywhere else, or when nothing can be
read, :func:`write_lock_holders` returns an empty list and the caller words a general advice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WAL_WRITE_LOCK_OFFSET = 120
"""Byte of the ``-shm`` file locked by the WAL writer (SQLite's WAL_WRITE_LOCK)."""
ROLLBACK_LOCK_OFFSETS = range(0x40000000, 0x40000200)
"""PENDING, RESERVED and SHARED bytes of a database file in rollback-journal mode."""


@dataclass(frozen=True, slots=True)
class LockHolder:
    pid: int
    command: str
    """The holder's command line (empty when it can't be read)."""
    stopped: bool
    """The process is stopped (state T): it will hold the lock until resumed with SIGCONT."""


def _file_id(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return os.major(stat.st_dev), os.minor(stat.st_dev), stat.st_ino


COMMAND_WIDTH = 60


def _one_line(text: str) -> str:
    """A command line made safe for one line of a terminal: no control characters, kept short."""
    words = "".join(c if c.isprintable() else " " for c in text).split()
    line = " ".join(words)
    return line if len(line) <= COMMAND_WIDTH else line[: COMMAND_WIDTH - 1] + "\u2026"


def _describe(pid: int) -> LockHolder:
    command, stopped = "", False
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        command = _one_line(" ".join(p.decode(errors="replace") for p in raw.split(b"\0") if p))
    except OSError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        state = stat.rpartition(")")[2].split()[0]
        stopped = state in {"T", "t"}
    except (OSError, IndexError):
        pass
    return LockHolder(pid, command, stopped)


def write_lock_holders(path: Path, locks_file: Path = Path("/proc/locks")) -> list[LockHolder]:
    """The processes (other than this one) holding a write lock on the database at ``path``."""
    shm = _file_id(Path(f"{path}-shm"))
    database = _file_id(path)
    try:
        lines = locks_file.read_text().splitlines()
    except OSError:
        return []
    pids: list[int] = []
    for line in lines:
        fields = line.split()
        # "1: POSIX  ADVISORY  WRITE 4242 08:01:1234567 120 120" (a "->" marks a waiting lock)
        if "->" in fields or len(fields) < 8 or fields[1] != "POSIX" or fields[3] != "WRITE":
            continue
        try:
            pid = int(fields[4])
            major, minor, inode = fields[5].split(":")
            file_id = (int(major, 16), int(minor, 16), int(inode))
            start = int(fields[6])
        except ValueError:
            continue
        holds_wal = file_id == shm and start == WAL_WRITE_LOCK_OFFSET
        holds_rollback = file_id == database and start in ROLLBACK_LOCK_OFFSETS
        if (holds_wal or holds_rollback) and pid != os.getpid() and pid not in pids:
            pids.append(pid)
    return [_describe(pid) for pid in pids]

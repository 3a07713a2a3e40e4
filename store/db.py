"""The one way into the SQLite file: connection set-up, pragmas, transactions and migrations.

Several processes (SSH sessions, headless admin commands) share one database file, so every
connection is opened with the same pragmas, and every read-then-write runs in ``BEGIN IMMEDIATE``
with a bounded retry when another process holds the write lock.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite

if TYPE_CHECKING:
    from store.files import FileAccess

BUSY_TIMEOUT_MS = 5_000
"""How long SQLite itself waits for a lock before reporting SQLITE_BUSY."""

BUSY_RETRIES = 8
"""How many times a write transaction is started again after SQLITE_BUSY."""


class StoreError(Exception):
    """A problem with the database file that a person has to act on."""


class DatabaseTooNew(StoreError):
    """The file was written by a newer version of the program."""


def _migrations() -> list[tuple[int, str, str]]:
    """Return the ordered migrations shipped in ``store/migrations`` as (version, name, sql)."""
    found = []
    for entry in resources.files("store.migrations").iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    found.sort()
    return found


def schema_version() -> int:
    """The schema version this code understands (the newest migration)."""
    migrations = _migrations()
    return migrations[-1][0] if migrations else 0


def _is_busy(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


class Database:
    """An open database file. Create with :func:`open_database`; close with :meth:`close`."""

    def __init__(self, connection: aiosqlite.Connection, path: Path) -> None:
        self._conn = connection
        self.path = path
        self._lock = asyncio.Lock()
        """Serialises transactions that share this connection inside one process."""

    @property
    def connection(self) -> aiosqlite.Connection:
        """The underlying connection, for queries outside a transaction (plain reads)."""
        return self._conn

    async def close(self) -> None:
        await self._conn.close()

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Run a read-only query in its own implicit transaction."""
        async with self._lock, self._conn.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        async with self._lock, self._conn.execute(sql, tuple(params)) as cursor:
            return await cursor.fetchone()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction, retried a bounded number of times while busy.

        The body must be safe to run again from the start: only the ``BEGIN`` is retried here,
        and a busy error after it rolls back and propagates.
        """
        async with self._lock:
            delay = 0.02
            for attempt in range(BUSY_RETRIES + 1):
                try:
                    await self._conn.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as error:
                    if not _is_busy(error) or attempt == BUSY_RETRIES:
                        raise
                    await asyncio.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 1.0)
            try:
                yield self._conn
            except BaseException:
                await self._conn.rollback()
                raise
            else:
                await self._conn.commit()

    async def migrate(self) -> int:
        """Bring the schema up to date; refuse a file newer than this code. Returns the version."""
        async with self.write() as conn:
            async with conn.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
            current = int(row[0]) if row else 0
            newest = schema_version()
            if current > newest:
                raise DatabaseTooNew(
                    f"The database {self.path} was written by a newer version of mfa-tui "
                    f"(schema {current}; this version understands up to {newest}). "
                    "Upgrade mfa-tui or point --db at another file."
                )
            for version, _name, sql in _migrations():
                if version <= current:
                    continue
                for statement in _split_sql(sql):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {int(version)}")
                current = version
            return current


Transaction = aiosqlite.Connection
"""The connection inside ``Database.write()``: what query functions that write take as ``conn``."""

Reader = Database | aiosqlite.Connection
"""Where a query reads: the ``Database`` (a plain read of its own) or the connection of the
caller's write transaction (``Database`` methods would wait for the lock that transaction holds)."""


async def fetchone(reader: Reader, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
    """One row read through ``reader`` (see :data:`Reader`)."""
    if isinstance(reader, Database):
        return await reader.fetchone(sql, params)
    async with reader.execute(sql, tuple(params)) as cursor:
        return await cursor.fetchone()


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (``executescript`` would commit on its own)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


async def open_database(
    path: str | Path, *, migrate: bool = True, access: FileAccess | None = None
) -> Database:
    """Open (creating if needed) the database at ``path`` with the project's pragmas.

    A missing file and directory are created with ``access`` (private to this account when None).
    """
    from store.files import FileAccess

    path = Path(path)
    access = access or FileAccess()
    try:
        access.make_directory(path.parent)
        access.create_file(path)
    except OSError as error:
        raise StoreError(f"Couldn't create the database {path}: {error.strerror}.") from error
    try:
        conn = await aiosqlite.connect(
            str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
        )
    except sqlite3.Error as error:
        raise StoreError(f"Couldn't open the database {path}: {error}") from error
    conn.row_factory = sqlite3.Row
    try:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await _set_wal(conn)
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA synchronous = FULL")
        database = Database(conn, path)
        if migrate:
            await database.migrate()
    except sqlite3.DatabaseError as error:
        await conn.close()
        raise StoreError(f"Couldn't use the database {path}: {error}") from error
    except BaseException:
        await conn.close()
        raise
    return database


async def _set_wal(conn: aiosqlite.Connection) -> None:
    # Switching to WAL needs a brief exclusive lock; another process may be doing the same.
    for _ in range(BUSY_RETRIES):
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            await asyncio.sleep(0.05 + random.random() * 0.1)
    await conn.execute("PRAGMA journal_mode = WAL")

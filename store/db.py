"""The one way into the SQLite file: connection set-up, pragmas, transactions and migrations.

Several processes (SSH sessions, headless admin commands) share one database file, so every
connection is opened with the same pragmas, and every read-then-write runs in ``BEGIN IMMEDIATE``
with a bounded retry when another process holds the write lock.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite

if TYPE_CHECKING:
    from store.files import FileAccess

BUSY_TIMEOUT_MS = 5_000
"""How long SQLite itself waits for a lock before reporting SQLITE_BUSY."""

BUSY_RETRIES = 8
"""A write waits for the lock ``BUSY_TIMEOUT_MS`` times ``BUSY_RETRIES + 1`` in all (45 s)."""

BEGIN_POLL_MS = 10
"""How long one attempt at ``BEGIN IMMEDIATE`` lets SQLite wait before trying again itself."""


class StoreError(Exception):
    """A problem with the database file that a person has to act on."""


class DatabaseTooNew(StoreError):
    """The file was written by a newer version of the program."""


class DatabaseBusy(StoreError):
    """A write gave up: another process held the write lock through every retry."""


def _busy_sentence(path: Path, waited: float) -> str:
    """Say what holds the write lock and what the operator can do about it, in one line."""
    from store.lock_holders import write_lock_holders  # only when a write gives up

    holders = write_lock_holders(path)
    start = f"The database {path} is busy: nothing was changed after {waited:.0f} s of waiting"
    if not holders:
        return (
            f"{start} for another process's write. Find it with 'fuser {path}-shm' or 'ps';"
            " a stopped one (Ctrl-Z) resumes with 'kill -CONT PID'. Then try again."
        )
    holder = holders[0]
    who = f"process {holder.pid}" + (f" ({holder.command})" if holder.command else "")
    if holder.stopped:
        return (
            f"{start}: {who} is stopped while holding the write lock."
            f" Resume it with 'kill -CONT {holder.pid}' (or end it), then try again."
        )
    return (
        f"{start}: {who} holds the write lock."
        f" Let it finish or end it ('kill {holder.pid}'), then try again."
    )


def _failure(path: Path, error: sqlite3.Error) -> StoreError | None:
    """The sentence for an SQLite failure a person has to act on; None for a programming error."""
    if isinstance(error, sqlite3.IntegrityError | sqlite3.ProgrammingError):
        return None
    text = str(error).lower()
    if "full" in text:
        return StoreError(
            f"The disk holding the database {path} is full: nothing was changed."
            " Free some space, then try again."
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"The database {path} can't be written (read-only file or directory):"
            " nothing was changed."
        )
    if isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError):
        return StoreError(f"Couldn't use the database {path}: {error}.")
    return None


def _raise_failure(path: Path, error: sqlite3.Error) -> None:
    """Raise ``error``'s :class:`StoreError` sentence; return for a programming error."""
    failure = _failure(path, error)
    if failure is not None:
        raise failure from error


MIGRATIONS = Path(__file__).parent / "migrations"
"""The ordered ``NNNN_name.sql`` files (and their Python steps) that build the schema."""


def _migrations() -> list[tuple[int, str, str]]:
    """Return the ordered migrations shipped in ``store/migrations`` as (version, name, sql)."""
    found = []
    # The package's own folder (a plain directory in every install): importlib.resources would
    # cost more at each start than reading the files does.
    for entry in MIGRATIONS.iterdir():
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

    def __init__(
        self,
        connection: aiosqlite.Connection,
        path: Path,
        *,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        busy_retries: int = BUSY_RETRIES,
    ) -> None:
        self._conn = connection
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self.busy_retries = busy_retries
        self._lock = asyncio.Lock()
        """Serialises transactions that share this connection inside one process."""

    @property
    def connection(self) -> aiosqlite.Connection:
        """The underlying connection, for queries outside a transaction (plain reads)."""
        return self._conn

    async def close(self) -> None:
        await self._conn.close()

    async def fetchall(
        self, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()
    ) -> list[sqlite3.Row]:
        """Run a read-only query in its own implicit transaction (no write lock needed in WAL).

        ``params`` is a sequence for ``?`` marks or a mapping for ``:name`` marks.
        """
        try:
            async with self._lock, self._conn.execute(sql, _bound(params)) as cursor:
                return list(await cursor.fetchall())
        except sqlite3.Error as error:
            _raise_failure(self.path, error)
            raise

    async def fetchone(
        self, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()
    ) -> sqlite3.Row | None:
        try:
            async with self._lock, self._conn.execute(sql, _bound(params)) as cursor:
                return await cursor.fetchone()
        except sqlite3.Error as error:
            _raise_failure(self.path, error)
            raise

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction, retried a bounded number of times while busy.

        The body must be safe to run again from the start: only the ``BEGIN`` is retried here,
        and a busy error after it rolls back and propagates. When the lock stays taken through
        every retry, :class:`DatabaseBusy` says which process holds it and what to do; a full disk
        or a read-only file becomes a :class:`StoreError` saying so, after the rollback.
        """
        await self._begin_immediate()  # returns holding self._lock
        try:
            try:
                yield self._conn
            except BaseException as error:
                await self._conn.rollback()
                if isinstance(error, sqlite3.Error):
                    _raise_failure(self.path, error)
                    raise
                raise
            try:
                await self._conn.commit()
            except sqlite3.Error as error:
                if self._conn.in_transaction:
                    await self._conn.rollback()
                _raise_failure(self.path, error)
                raise
        finally:
            self._lock.release()

    async def _begin_immediate(self) -> None:
        """``BEGIN IMMEDIATE``, waiting for the write lock up to ``busy_timeout_ms`` times
        ``busy_retries + 1`` in all; returns holding ``self._lock`` (the connection's turn).

        SQLite's own busy handler looks for the lock less and less often (every 25, then 50, then
        100 ms), so a writer waiting on a long job, which lets go of the lock for a few
        milliseconds between transactions, would keep missing those moments. Here the handler
        waits only :data:`BEGIN_POLL_MS` per attempt and the attempts follow one another
        closely, so the lock is taken at the first gap. Between attempts the connection is free:
        while one task waits for another process's write lock, this process's reads go on (the
        screens keep showing what they read).
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self.busy_timeout_ms / 1000 * (self.busy_retries + 1)
        while True:
            await self._lock.acquire()
            try:
                await self._conn.execute(f"PRAGMA busy_timeout = {BEGIN_POLL_MS}")
                try:
                    await self._conn.execute("BEGIN IMMEDIATE")
                    return
                finally:
                    await self._conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            except BaseException as error:
                try:  # a BEGIN that went through before a failure or a cancellation is undone
                    if self._conn.in_transaction:
                        await self._conn.rollback()
                finally:
                    self._lock.release()
                if not isinstance(error, sqlite3.OperationalError) or not _is_busy(error):
                    if isinstance(error, sqlite3.Error):
                        _raise_failure(self.path, error)
                    raise
                if loop.time() >= deadline:
                    waited = loop.time() - started
                    raise DatabaseBusy(_busy_sentence(self.path, waited)) from error
            await asyncio.sleep(random.random() * 0.002)

    async def migrate(self) -> int:
        """Bring the schema up to date; refuse a file newer than this code. Returns the version.

        The version is read without a transaction, so a file that is up to date (the usual case)
        is opened without waiting for the write lock, even while another process holds it.
        """
        current = await self._version(self._conn)
        newest = schema_version()
        self._refuse_newer(current, newest)
        if current == newest:
            return current
        async with self.write() as conn:
            current = await self._version(conn)  # another process may have migrated meanwhile
            self._refuse_newer(current, newest)
            # Imported here: the package imports this module (for StoreError).
            from store.migrations import PYTHON_STEPS

            for version, _name, sql in _migrations():
                if version <= current:
                    continue
                for statement in _split_sql(sql):
                    await conn.execute(statement)
                step = PYTHON_STEPS.get(version)
                if step is not None:
                    await step(conn)
                await conn.execute(f"PRAGMA user_version = {int(version)}")
                current = version
            return current

    @staticmethod
    async def _version(conn: aiosqlite.Connection) -> int:
        async with conn.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    def _refuse_newer(self, current: int, newest: int) -> None:
        if current > newest:
            raise DatabaseTooNew(
                f"The database {self.path} was written by a newer version of mfa-tui "
                f"(schema {current}; this version understands up to {newest}). "
                "Upgrade mfa-tui or point --db at another file."
            )


Transaction = aiosqlite.Connection
"""The connection inside ``Database.write()``: what query functions that write take as ``conn``."""

Reader = Database | aiosqlite.Connection
"""Where a query reads: the ``Database`` (a plain read of its own) or the connection of the
caller's write transaction (``Database`` methods would wait for the lock that transaction holds)."""


async def fetchone(
    reader: Reader, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()
) -> sqlite3.Row | None:
    """One row read through ``reader`` (see :data:`Reader`); ``params`` as for ``fetchall``."""
    if isinstance(reader, Database):
        return await reader.fetchone(sql, params)
    async with reader.execute(sql, _bound(params)) as cursor:
        return await cursor.fetchone()


def _bound(params: Iterable[Any] | Mapping[str, Any]) -> tuple[Any, ...] | Mapping[str, Any]:
    """A sequence for ``?`` marks or a mapping for ``:name`` marks, as sqlite3 takes them."""
    return params if isinstance(params, Mapping) else tuple(params)


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
    path: str | Path,
    *,
    migrate: bool = True,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    busy_retries: int = BUSY_RETRIES,
    access: FileAccess | None = None,
) -> Database:
    """Open (creating if needed) the database at ``path`` with the project's pragmas.

    ``busy_timeout_ms`` (SQLite's own wait for a lock) and ``busy_retries`` (how often a write
    transaction is begun again after that) bound how long a write waits for another process.
    A missing file and directory are created with ``access`` (private to this account when None).
    Raises :class:`StoreError` with one sentence when the file can't be used; nothing is left open.
    """
    from store.files import FileAccess

    path = Path(path)
    _check_path(path, access or FileAccess())
    try:
        raw = await asyncio.to_thread(
            sqlite3.connect, str(path), timeout=busy_timeout_ms / 1000,
            isolation_level=None, check_same_thread=False,
        )  # fmt: skip
    except sqlite3.Error as error:
        raise StoreError(f"Couldn't open the database {path}: {error}.") from error
    # The file is opened above, so aiosqlite's own connect can't fail: a failed connect in
    # aiosqlite leaves its worker thread to report to an event loop that may be closed by then.
    conn = aiosqlite.Connection(lambda: raw, iter_chunk_size=64)
    await conn
    conn.row_factory = sqlite3.Row
    try:
        await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        await _set_wal(conn)
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA synchronous = FULL")
        database = Database(conn, path, busy_timeout_ms=busy_timeout_ms, busy_retries=busy_retries)
        if migrate:
            await database.migrate()
    except sqlite3.Error as error:
        await conn.close()
        _raise_failure(path, error)
        raise
    except BaseException:
        await conn.close()
        raise
    return database


def _check_path(path: Path, access: FileAccess) -> None:
    """Refuse, before anything is created, a path that can't be a database file; make its folder
    and the file with ``access`` (the group's when the files are shared)."""
    if path.is_dir():
        raise StoreError(f"The database {path} is a directory: give the path of a file.")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise StoreError(
                    f"Couldn't open the database {path}: {parent} is a file, not a directory."
                )
            break
    try:
        access.make_directory(path.parent)
    except OSError as error:
        raise StoreError(
            f"Couldn't create the folder of the database {path}: {error.strerror}."
        ) from error
    if not path.exists() and not os.access(path.parent, os.W_OK):
        raise StoreError(
            f"Couldn't create the database {path}: the directory {path.parent} is read-only."
        )
    try:
        access.create_file(path)
    except OSError as error:
        raise StoreError(f"Couldn't create the database {path}: {error.strerror}.") from error


async def _set_wal(conn: aiosqlite.Connection) -> None:
    async with conn.execute("PRAGMA journal_mode") as cursor:
        row = await cursor.fetchone()
    if row is not None and str(row[0]).lower() == "wal":
        return  # already WAL (the file remembers): no lock needed
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

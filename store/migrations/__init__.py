"""The schema's migrations: ``NNNN_name.sql`` files, run in order, and the Python steps that follow
some of them (for what SQL can't compute, such as Unicode case folding).

A Python step runs inside the same transaction as its SQL, right after it; raising
:class:`MigrationRefused` stops the migration and leaves the file as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiosqlite

from store.db import StoreError
from store.email_key import email_key


class MigrationRefused(StoreError):
    """A migration can't go on without a person's decision; the message says what to do."""


async def fill_email_keys(conn: aiosqlite.Connection) -> None:
    """Fill ``users.email_key`` for every account; refuse when two addresses share a key."""
    async with conn.execute("SELECT id, email FROM users ORDER BY id") as cursor:
        rows = list(await cursor.fetchall())
    owners: dict[str, tuple[int, str]] = {}
    for user_id, email in rows:
        key = email_key(email)
        if key in owners:
            first_id, first_email = owners[key]
            raise MigrationRefused(
                "Two accounts have the same sign-in address apart from letter case or accents: "
                f"{_shown(first_email)} (id {first_id}) and {_shown(email)} (id {user_id}). "
                "Nothing was changed. Give one of them another address with the version of "
                "mfa-tui that wrote this database ('mfa-tui admin users set-email'), then start "
                "this version again."
            )
        owners[key] = (user_id, email)
    await conn.executemany(
        "UPDATE users SET email_key = ? WHERE id = ?",
        [(key, user_id) for key, (user_id, _) in owners.items()],
    )


def _shown(text: str) -> str:
    # Stored text may hold anything an older version accepted: escape what isn't printable.
    return ascii(text) if not text.isprintable() else repr(text)


PYTHON_STEPS: dict[int, Callable[[aiosqlite.Connection], Awaitable[None]]] = {
    4: fill_email_keys,
}
"""The Python step to run after the SQL of a migration version."""

"""Queries for the authenticator app (TOTP) method: its row, its secrets and its last accepted step.

Functions taking a connection run inside the caller's ``Database.write()`` transaction
(``BEGIN IMMEDIATE``); :func:`totp_method_of` is a plain read. The rules (time steps, window, replay) live in ``mfa.totp``.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from store.db import Database
from store.models import _FromRow

KIND = "totp"
"""``mfa_methods.kind`` of an authenticator app."""


@dataclass(frozen=True, slots=True)
class TotpMethod(_FromRow):
    """A user's authenticator app: a row of ``mfa_methods`` whose kind is ``totp``."""

    id: int
    user_id: int
    secret: bytes
    """The encrypted secret (a Fernet token); never the secret itself."""
    pending_secret: bytes | None
    """A replacement secret being set up (encrypted), while ``secret`` still works."""
    last_step: int | None
    """The newest time step whose code was accepted; None before the first."""
    verified_at: float | None
    last_used_at: float | None
    created_at: float

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


async def totp_method_in(conn: aiosqlite.Connection, user_id: int) -> TotpMethod | None:
    """The user's authenticator app row, read inside the transaction."""
    async with conn.execute(
        "SELECT * FROM mfa_methods WHERE user_id = ? AND kind = ?", (user_id, KIND)
    ) as cursor:
        row = await cursor.fetchone()
    return TotpMethod.from_row(row) if row else None


async def totp_method_of(db: Database, user_id: int) -> TotpMethod | None:
    """:func:`totp_method_in` as a plain read."""
    row = await db.fetchone(
        "SELECT * FROM mfa_methods WHERE user_id = ? AND kind = ?", (user_id, KIND)
    )
    return TotpMethod.from_row(row) if row else None


async def insert_totp_method(
    conn: aiosqlite.Connection, user_id: int, encrypted_secret: bytes, now: float
) -> int:
    """Add an unverified authenticator app with its secret; returns the method's id."""
    cursor = await conn.execute(
        "INSERT INTO mfa_methods (user_id, kind, destination, secret, created_at)"
        " VALUES (?, ?, '', ?, ?)",
        (user_id, KIND, encrypted_secret, now),
    )
    return int(cursor.lastrowid or 0)


async def replace_unverified_secret(
    conn: aiosqlite.Connection, method_id: int, encrypted_secret: bytes
) -> None:
    """Give a not yet verified authenticator app a new secret (a setup started again)."""
    await conn.execute(
        "UPDATE mfa_methods SET secret = ?, pending_secret = NULL, last_step = NULL"
        " WHERE id = ? AND verified_at IS NULL",
        (encrypted_secret, method_id),
    )


async def set_pending_secret(
    conn: aiosqlite.Connection, method_id: int, encrypted_secret: bytes
) -> None:
    """Hold a replacement secret for a verified authenticator app until a code of it is entered."""
    await conn.execute(
        "UPDATE mfa_methods SET pending_secret = ? WHERE id = ?", (encrypted_secret, method_id)
    )


async def claim_step(conn: aiosqlite.Connection, method_id: int, step: int, now: float) -> bool:
    """Record ``step`` as accepted unless it (or a later one) was accepted already.

    Compare-and-set in one statement: False when another verification got there first.
    """
    cursor = await conn.execute(
        "UPDATE mfa_methods SET last_step = ?, last_used_at = ?"
        " WHERE id = ? AND (last_step IS NULL OR last_step < ?)",
        (step, now, method_id, step),
    )
    return cursor.rowcount == 1


async def confirm_secret(
    conn: aiosqlite.Connection, method_id: int, step: int, now: float, *, pending: bool
) -> bool:
    """A code of the secret being set up was entered: it becomes the method's verified secret.

    ``pending`` says which secret was confirmed (a replacement, or the first one). The step starts
    the new secret's replay record. False when the row no longer holds that setup (another session
    finished or restarted it meanwhile).
    """
    if pending:
        cursor = await conn.execute(
            "UPDATE mfa_methods SET secret = pending_secret, pending_secret = NULL,"
            " last_step = ?, verified_at = ?, last_used_at = ?"
            " WHERE id = ? AND pending_secret IS NOT NULL",
            (step, now, now, method_id),
        )
    else:
        cursor = await conn.execute(
            "UPDATE mfa_methods SET last_step = ?, verified_at = ?, last_used_at = ?"
            " WHERE id = ? AND verified_at IS NULL AND (last_step IS NULL OR last_step < ?)",
            (step, now, now, method_id, step),
        )
    return cursor.rowcount == 1


async def verified_apps(db: Database, limit: int) -> list[tuple[str, bytes]]:
    """(email, encrypted secret) of up to ``limit`` users with a verified authenticator app, the
    most recently used first (for the demo inbox)."""
    rows = await db.fetchall(
        "SELECT u.email, m.secret FROM mfa_methods m JOIN users u ON u.id = m.user_id"
        " WHERE m.kind = ? AND m.verified_at IS NOT NULL"
        " ORDER BY coalesce(m.last_used_at, m.verified_at) DESC LIMIT ?",
        (KIND, limit),
    )
    return [(row[0], bytes(row[1])) for row in rows]

"""Queries for MFA methods (factors), their one-time code challenges and the record of sends.

Functions that take an ``aiosqlite.Connection`` run inside the caller's ``Database.write()``
transaction; functions that take a ``Database`` are plain reads. The rules (lifetimes, attempts,
cooldowns) live in ``mfa.codes`` and ``mfa.factors``; this module only reads and writes rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from store.db import Database
from store.models import User, _FromRow

PURPOSES = ("setup", "sign_in")


@dataclass(frozen=True, slots=True)
class MfaMethod(_FromRow):
    """One factor a user owns: a row of ``mfa_methods``."""

    id: int
    user_id: int
    kind: str
    destination: str
    secret: bytes
    """The encrypted code secret (a Fernet token); never the secret itself."""
    counter: int
    """The HOTP counter of the newest code issued for this method."""
    verified_at: float | None
    last_used_at: float | None
    created_at: float

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


@dataclass(frozen=True, slots=True)
class OtpChallenge(_FromRow):
    """The user's one live code: a row of ``otp_challenges`` (the code itself is not stored)."""

    user_id: int
    method_id: int
    counter: int
    issued_at: float
    expires_at: float
    attempts: int
    consumed_at: float | None
    destination: str
    purpose: str


# ----------------------------------------------------------------------------------------- methods


async def methods_of(db: Database, user_id: int) -> list[MfaMethod]:
    """A user's methods, oldest first."""
    rows = await db.fetchall(
        "SELECT * FROM mfa_methods WHERE user_id = ? ORDER BY created_at, id", (user_id,)
    )
    return [MfaMethod.from_row(row) for row in rows]


async def methods_in(conn: aiosqlite.Connection, user_id: int) -> list[MfaMethod]:
    """:func:`methods_of` inside a transaction."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM mfa_methods WHERE user_id = ? ORDER BY created_at, id", (user_id,)
    )
    return [MfaMethod.from_row(row) for row in rows]


async def method_by_id(conn: aiosqlite.Connection, method_id: int) -> MfaMethod | None:
    async with conn.execute("SELECT * FROM mfa_methods WHERE id = ?", (method_id,)) as cursor:
        row = await cursor.fetchone()
    return MfaMethod.from_row(row) if row else None


async def method_of_kind(conn: aiosqlite.Connection, user_id: int, kind: str) -> MfaMethod | None:
    async with conn.execute(
        "SELECT * FROM mfa_methods WHERE user_id = ? AND kind = ?", (user_id, kind)
    ) as cursor:
        row = await cursor.fetchone()
    return MfaMethod.from_row(row) if row else None


async def insert_method(
    conn: aiosqlite.Connection,
    user_id: int,
    kind: str,
    destination: str,
    encrypted_secret: bytes,
    now: float,
) -> int:
    """Add an unverified method; returns its id."""
    cursor = await conn.execute(
        "INSERT INTO mfa_methods (user_id, kind, destination, secret, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (user_id, kind, destination, encrypted_secret, now),
    )
    return int(cursor.lastrowid or 0)


async def next_counter(conn: aiosqlite.Connection, method_id: int) -> int:
    """Advance the method's HOTP counter and return the new value: every code gets its own."""
    async with conn.execute(
        "UPDATE mfa_methods SET counter = counter + 1 WHERE id = ? RETURNING counter", (method_id,)
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        raise LookupError(f"no MFA method {method_id}")
    return int(row[0])


async def set_destination(conn: aiosqlite.Connection, method_id: int, destination: str) -> None:
    await conn.execute(
        "UPDATE mfa_methods SET destination = ? WHERE id = ?", (destination, method_id)
    )


async def mark_verified(
    conn: aiosqlite.Connection, method_id: int, destination: str, now: float
) -> None:
    """The method (at ``destination``) proved to reach its owner: verified and used now."""
    await conn.execute(
        "UPDATE mfa_methods SET destination = ?, verified_at = ?, last_used_at = ? WHERE id = ?",
        (destination, now, now, method_id),
    )


async def mark_used(conn: aiosqlite.Connection, method_id: int, now: float) -> None:
    await conn.execute("UPDATE mfa_methods SET last_used_at = ? WHERE id = ?", (now, method_id))


async def delete_method(conn: aiosqlite.Connection, method_id: int) -> None:
    """Remove a method; its challenge goes with it, users' references become NULL (foreign keys)."""
    await conn.execute("DELETE FROM mfa_methods WHERE id = ?", (method_id,))


# ------------------------------------------------------------------------------------------- users


async def user_in(conn: aiosqlite.Connection, user_id: int) -> User | None:
    """The user's row read inside a transaction (fresh, unlike a ``User`` the caller holds)."""
    async with conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)) as cursor:
        row = await cursor.fetchone()
    return User.from_row(row) if row else None


async def set_last_method(conn: aiosqlite.Connection, user_id: int, method_id: int) -> None:
    await conn.execute("UPDATE users SET last_method_id = ? WHERE id = ?", (method_id, user_id))


async def set_preferred_method(
    conn: aiosqlite.Connection, user_id: int, method_id: int | None
) -> None:
    await conn.execute(
        "UPDATE users SET preferred_method_id = ? WHERE id = ?", (method_id, user_id)
    )


# -------------------------------------------------------------------------------------- challenges


async def challenge_of(conn: aiosqlite.Connection, user_id: int) -> OtpChallenge | None:
    async with conn.execute("SELECT * FROM otp_challenges WHERE user_id = ?", (user_id,)) as cursor:
        row = await cursor.fetchone()
    return OtpChallenge.from_row(row) if row else None


async def current_challenge(db: Database, user_id: int) -> OtpChallenge | None:
    """:func:`challenge_of` as a plain read."""
    row = await db.fetchone("SELECT * FROM otp_challenges WHERE user_id = ?", (user_id,))
    return OtpChallenge.from_row(row) if row else None


async def replace_challenge(
    conn: aiosqlite.Connection,
    user_id: int,
    method_id: int,
    counter: int,
    destination: str,
    purpose: str,
    issued_at: float,
    expires_at: float,
) -> None:
    """Make this code the user's one live code; whatever code was live before stops working."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, not {purpose!r}")
    await conn.execute(
        "INSERT INTO otp_challenges"
        " (user_id, method_id, counter, issued_at, expires_at, attempts, consumed_at,"
        "  destination, purpose)"
        " VALUES (?, ?, ?, ?, ?, 0, NULL, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET"
        "  method_id = excluded.method_id, counter = excluded.counter,"
        "  issued_at = excluded.issued_at, expires_at = excluded.expires_at, attempts = 0,"
        "  consumed_at = NULL, destination = excluded.destination, purpose = excluded.purpose",
        (user_id, method_id, counter, issued_at, expires_at, destination, purpose),
    )


async def count_wrong_attempt(conn: aiosqlite.Connection, user_id: int) -> int:
    """Add a wrong attempt to the live code; returns the attempts so far."""
    async with conn.execute(
        "UPDATE otp_challenges SET attempts = attempts + 1 WHERE user_id = ? RETURNING attempts",
        (user_id,),
    ) as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def consume_challenge(conn: aiosqlite.Connection, user_id: int, now: float) -> bool:
    """Mark the live code used; False when it was used already (by a concurrent verification)."""
    cursor = await conn.execute(
        "UPDATE otp_challenges SET consumed_at = ? WHERE user_id = ? AND consumed_at IS NULL",
        (now, user_id),
    )
    return cursor.rowcount == 1


# ------------------------------------------------------------------------------------------- sends


async def record_send(conn: aiosqlite.Connection, user_id: int, method_id: int, now: float) -> None:
    """Remember a send that succeeded (for the cooldown and the per-account limit)."""
    await conn.execute(
        "INSERT INTO otp_sends (user_id, method_id, sent_at) VALUES (?, ?, ?)",
        (user_id, method_id, now),
    )


async def send_times_after(conn: aiosqlite.Connection, user_id: int, after: float) -> list[float]:
    """When the user's successful sends later than ``after`` happened, oldest first."""
    rows = await conn.execute_fetchall(
        "SELECT sent_at FROM otp_sends WHERE user_id = ? AND sent_at > ? ORDER BY sent_at",
        (user_id, after),
    )
    return [float(row[0]) for row in rows]


async def last_send_time(conn: aiosqlite.Connection, user_id: int) -> float | None:
    async with conn.execute(
        "SELECT max(sent_at) FROM otp_sends WHERE user_id = ?", (user_id,)
    ) as cursor:
        row = await cursor.fetchone()
    return float(row[0]) if row and row[0] is not None else None


async def forget_sends_before(conn: aiosqlite.Connection, user_id: int, before: float) -> None:
    """Drop send records too old to matter for any limit, so the table stays small."""
    await conn.execute("DELETE FROM otp_sends WHERE user_id = ? AND sent_at < ?", (user_id, before))

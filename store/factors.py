"""Queries for MFA methods (factors), their one-time code challenges and the record of sends.

Functions that take an ``aiosqlite.Connection`` run inside the caller's ``Database.write()``
transaction; functions that take a ``Database`` are plain reads. The rules (lifetimes, attempts,
cooldowns, the send limit) live in ``mfa.codes`` and ``mfa.sending``; this module only reads and
writes rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiosqlite

from store.db import Database
from store.models import _FromRow
from store.throttle import failure_state

PURPOSES = ("setup", "sign_in", "step_up")


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
    attempt_id: str | None = None
    """The sign-in attempt (session) that asked for the code; only that attempt may enter it."""


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


async def mark_unverified(conn: aiosqlite.Connection, method_id: int) -> None:
    """The method must prove itself again (its destination changed without proof); any live code
    for it stops working."""
    await conn.execute("UPDATE mfa_methods SET verified_at = NULL WHERE id = ?", (method_id,))
    await conn.execute("DELETE FROM otp_challenges WHERE method_id = ?", (method_id,))


async def delete_method(conn: aiosqlite.Connection, method_id: int) -> None:
    """Remove a method; its challenge goes with it, users' references become NULL (foreign keys)."""
    await conn.execute("DELETE FROM mfa_methods WHERE id = ?", (method_id,))


async def forget_unused_method(conn: aiosqlite.Connection, method_id: int) -> bool:
    """Remove a method that was never verified and never had a code delivered; True if removed.

    A method another send has used meanwhile (a live code points at it) is kept.
    """
    cursor = await conn.execute(
        "DELETE FROM mfa_methods WHERE id = ? AND verified_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM otp_challenges WHERE method_id = ?)"
        " AND NOT EXISTS (SELECT 1 FROM otp_sends WHERE method_id = ?)",
        (method_id, method_id, method_id),
    )
    return cursor.rowcount > 0


# ------------------------------------------------------------------------------------------- users


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
    attempt_id: str | None = None,
) -> None:
    """Make this code the user's one live code; whatever code was live before stops working."""
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {PURPOSES}, not {purpose!r}")
    await conn.execute(
        "INSERT INTO otp_challenges"
        " (user_id, method_id, counter, issued_at, expires_at, attempts, consumed_at,"
        "  destination, purpose, attempt_id)"
        " VALUES (?, ?, ?, ?, ?, 0, NULL, ?, ?, ?)"
        " ON CONFLICT (user_id) DO UPDATE SET"
        "  method_id = excluded.method_id, counter = excluded.counter,"
        "  issued_at = excluded.issued_at, expires_at = excluded.expires_at, attempts = 0,"
        "  consumed_at = NULL, destination = excluded.destination, purpose = excluded.purpose,"
        "  attempt_id = excluded.attempt_id",
        (user_id, method_id, counter, issued_at, expires_at, destination, purpose, attempt_id),
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


@dataclass(frozen=True, slots=True)
class SendState:
    """Everything the send rules look at, read in one go inside the sending transaction."""

    failures: int
    """The account's consecutive failures (``users.failed_attempts``)."""
    locked_until: float | None
    """The earliest time of the account's next attempt (``users.locked_until``)."""
    last_sent_at: float | None
    """When the last successful send to the method asked for happened (without a kind: to any
    of the account's methods); None: none remembered. The resend cooldown counts from it."""
    sent_since: tuple[float, ...]
    """When the successful sends later than the ``since`` asked for happened, oldest first."""
    method: MfaMethod | None
    """The account's method of the kind asked for, if it has one."""


async def send_state(
    conn: aiosqlite.Connection, user_id: int, since: float, kind: str | None = None
) -> SendState | None:
    """What a send to the user's ``kind`` method decides on; None when the account is gone.

    With ``kind``, the last send is the last one to that method (none before the method exists);
    without, the account's last send to any method. ``sent_since`` is always the account's.
    """
    failures = await failure_state(conn, user_id)
    if failures is None:
        return None
    method = await method_of_kind(conn, user_id, kind) if kind is not None else None
    if kind is None:
        last_sql, last_args = "SELECT max(sent_at) FROM otp_sends WHERE user_id = ?", (user_id,)
    else:
        last_sql = "SELECT max(sent_at) FROM otp_sends WHERE user_id = ? AND method_id = ?"
        last_args = (user_id, method.id if method is not None else -1)
    async with conn.execute(last_sql, last_args) as cursor:
        last = await cursor.fetchone()
    return SendState(
        failures=failures.failures,
        locked_until=failures.locked_until,
        last_sent_at=_float_or_none(last[0]) if last is not None else None,
        sent_since=tuple(await _send_times_after(conn, user_id, since)),
        method=method,
    )


async def add_method(
    conn: aiosqlite.Connection,
    user_id: int,
    kind: str,
    destination: str,
    encrypted_secret: bytes,
    now: float,
) -> MfaMethod:
    """Add an unverified method and return it."""
    async with conn.execute(
        "INSERT INTO mfa_methods (user_id, kind, destination, secret, created_at)"
        " VALUES (?, ?, ?, ?, ?) RETURNING *",
        (user_id, kind, destination, encrypted_secret, now),
    ) as cursor:
        row = await cursor.fetchone()
    assert row is not None
    return MfaMethod.from_row(row)


async def record_sent_code(
    conn: aiosqlite.Connection,
    challenge: OtpChallenge,
    *,
    forget_before: float,
) -> list[float]:
    """A code was delivered: it becomes the user's one live code and the send is remembered.

    Sends older than ``forget_before`` are dropped so the table stays small. Returns when the
    user's remembered sends happened, oldest first (this one included), for the next wait.
    """
    await replace_challenge(
        conn,
        challenge.user_id,
        challenge.method_id,
        challenge.counter,
        challenge.destination,
        challenge.purpose,
        challenge.issued_at,
        challenge.expires_at,
        challenge.attempt_id,
    )
    await conn.execute(
        "INSERT INTO otp_sends (user_id, method_id, sent_at) VALUES (?, ?, ?)",
        (challenge.user_id, challenge.method_id, challenge.issued_at),
    )
    await conn.execute(
        "DELETE FROM otp_sends WHERE user_id = ? AND sent_at < ?",
        (challenge.user_id, forget_before),
    )
    rows = await conn.execute_fetchall(
        "SELECT sent_at FROM otp_sends WHERE user_id = ? ORDER BY sent_at", (challenge.user_id,)
    )
    return [float(row[0]) for row in rows]


async def _send_times_after(conn: aiosqlite.Connection, user_id: int, after: float) -> list[float]:
    rows = await conn.execute_fetchall(
        "SELECT sent_at FROM otp_sends WHERE user_id = ? AND sent_at > ? ORDER BY sent_at",
        (user_id, after),
    )
    return [float(row[0]) for row in rows]


def _float_or_none(value: Any) -> float | None:
    return float(value) if value is not None else None

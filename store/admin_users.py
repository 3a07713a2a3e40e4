"""Queries behind the admin's user management: a page of users with their MFA state (the Users
screen), all of them with filters (``admin users list``), and the changes an admin makes (unlock,
reset MFA, disable or enable, role).

Pages are keyset pages in address order (``email > after``, never ``OFFSET``), so the thousandth
page costs what the first does. A search matches the start of the address or of the display name,
case-insensitively, through the indexes ``users_by_subscription_email`` and
``users_by_subscription_name`` (migration 0005): each is a range scan, not a scan of every user.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from store.db import Database, Reader, fetchone

HIGHEST = "\U0010ffff"
"""Above every character: ``prefix <= x < prefix + HIGHEST`` is "x starts with prefix"."""


@dataclass(frozen=True, slots=True)
class UserListRow:
    """One user as the admin's list shows it."""

    id: int
    subscription_id: int
    email: str
    display_name: str
    role: str
    status: str
    mfa_required: bool
    email_problem: str | None
    """Why the address can't receive codes (None when it can)."""
    failed_attempts: int
    locked_until: float | None
    methods: tuple[str, ...]
    """Kinds of the user's verified methods, in kind order."""
    recovery_codes_left: int


_COLUMNS = """
    u.id, u.subscription_id, u.email, u.display_name, u.role, u.status, u.mfa_required,
    u.email_problem, u.failed_attempts, u.locked_until,
    (SELECT group_concat(kind, ',') FROM (
        SELECT m.kind FROM mfa_methods m
        WHERE m.user_id = u.id AND m.verified_at IS NOT NULL ORDER BY m.kind)) AS methods,
    (SELECT count(*) FROM recovery_codes r
        WHERE r.user_id = u.id AND r.used_at IS NULL) AS recovery_codes_left
"""


def _row(row: aiosqlite.Row) -> UserListRow:
    return UserListRow(
        id=int(row["id"]),
        subscription_id=int(row["subscription_id"]),
        email=row["email"],
        display_name=row["display_name"],
        role=row["role"],
        status=row["status"],
        mfa_required=bool(row["mfa_required"]),
        email_problem=row["email_problem"],
        failed_attempts=int(row["failed_attempts"]),
        locked_until=float(row["locked_until"]) if row["locked_until"] is not None else None,
        methods=tuple(kind for kind in (row["methods"] or "").split(",") if kind),
        recovery_codes_left=int(row["recovery_codes_left"]),
    )


async def users_page(
    db: Database, subscription_id: int, *, search: str = "", after: str = "", limit: int = 200
) -> list[UserListRow]:
    """Up to ``limit`` users of the subscription whose address sorts after ``after``.

    With ``search``: only those whose address or display name starts with it (any case).
    """
    if not search:
        rows = await db.fetchall(
            f"SELECT {_COLUMNS} FROM users u"
            " WHERE u.subscription_id = ? AND u.email > ? ORDER BY u.email LIMIT ?",
            (subscription_id, after, limit),
        )
        return [_row(row) for row in rows]
    high = search + HIGHEST
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM users u WHERE u.id IN ("
        "   SELECT id FROM users WHERE subscription_id = ?"
        "     AND email >= ? AND email < ? AND email > ?"
        "   UNION"
        "   SELECT id FROM users WHERE subscription_id = ?"
        "     AND display_name >= ? COLLATE NOCASE AND display_name < ? COLLATE NOCASE"
        "     AND email > ?"
        " ) ORDER BY u.email LIMIT ?",
        (subscription_id, search, high, after, subscription_id, search, high, after, limit),
    )
    return [_row(row) for row in rows]


async def user_rows(
    db: Database,
    subscription_id: int,
    *,
    now: float,
    hard_limit: int,
    locked_only: bool = False,
    without_methods_only: bool = False,
    disabled_only: bool = False,
) -> list[UserListRow]:
    """All the subscription's users by address (``admin users list``), in one query.

    ``locked_only`` keeps the users that must wait at ``now`` or whose failure count has reached
    ``hard_limit``; ``without_methods_only`` those with no method set up; ``disabled_only`` the
    disabled accounts. The filters combine.
    """
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM users u WHERE u.subscription_id = :subscription"
        " AND (NOT :locked OR u.failed_attempts >= :hard_limit OR u.locked_until > :now)"
        " AND (NOT :without OR NOT EXISTS (SELECT 1 FROM mfa_methods m"
        "   WHERE m.user_id = u.id AND m.verified_at IS NOT NULL))"
        " AND (NOT :disabled OR u.status = 'disabled')"
        " ORDER BY u.email",
        {
            "subscription": subscription_id,
            "locked": int(locked_only),
            "hard_limit": hard_limit,
            "now": now,
            "without": int(without_methods_only),
            "disabled": int(disabled_only),
        },
    )
    return [_row(row) for row in rows]


async def user_row(reader: Reader, user_id: int) -> UserListRow | None:
    row = await fetchone(reader, f"SELECT {_COLUMNS} FROM users u WHERE u.id = ?", (user_id,))
    return _row(row) if row else None


async def user_row_by_email(db: Database, email: str) -> UserListRow | None:
    row = await db.fetchone(f"SELECT {_COLUMNS} FROM users u WHERE u.email = ?", (email,))
    return _row(row) if row else None


async def count_users(db: Database, subscription_id: int) -> int:
    row = await db.fetchone(
        "SELECT count(*) FROM users WHERE subscription_id = ?", (subscription_id,)
    )
    return int(row[0]) if row else 0


async def other_active_admins(
    conn: aiosqlite.Connection, subscription_id: int, user_id: int
) -> int:
    """How many active admins the subscription has besides ``user_id``."""
    row = await fetchone(
        conn,
        "SELECT count(*) FROM users WHERE subscription_id = ? AND role = 'admin'"
        " AND status = 'active' AND id != ?",
        (subscription_id, user_id),
    )
    return int(row[0]) if row else 0


async def set_status(conn: aiosqlite.Connection, user_id: int, status: str) -> None:
    await conn.execute("UPDATE users SET status = ? WHERE id = ?", (status, user_id))


async def set_role(conn: aiosqlite.Connection, user_id: int, role: str) -> None:
    await conn.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))


@dataclass(frozen=True, slots=True)
class MfaRemoved:
    """What a reset of a user's MFA removed."""

    methods: int
    recovery_codes: int
    live_codes: int


async def remove_mfa(conn: aiosqlite.Connection, user_id: int) -> MfaRemoved:
    """Remove the user's methods, recovery codes and live code (the record of sends stays, so the
    send limit still holds)."""
    live = await conn.execute("DELETE FROM otp_challenges WHERE user_id = ?", (user_id,))
    methods = await conn.execute("DELETE FROM mfa_methods WHERE user_id = ?", (user_id,))
    recovery = await conn.execute("DELETE FROM recovery_codes WHERE user_id = ?", (user_id,))
    await conn.execute(
        "UPDATE users SET last_method_id = NULL, preferred_method_id = NULL WHERE id = ?",
        (user_id,),
    )
    return MfaRemoved(methods.rowcount, recovery.rowcount, live.rowcount)

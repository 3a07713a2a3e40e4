"""Queries for subscriptions, products and users.

Functions that take ``conn`` run inside the caller's write transaction; functions that take a
``Database`` are plain reads; a ``Reader`` may be either.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from store.db import Database, Reader, fetchone
from store.email_key import email_key
from store.models import Subscription, User


@dataclass(frozen=True, slots=True)
class NewUser:
    """What is needed to insert a user; the domain has already checked every field."""

    email: str
    display_name: str
    role: str
    password_hash: str
    email_deliverable: bool
    email_problem: str | None
    status: str = "active"
    mfa_required: bool = False


async def create_subscription(
    conn: aiosqlite.Connection,
    name: str,
    products: list[str],
    now: float,
    allowed_methods: str | None = None,
) -> int:
    """Insert a subscription; ``allowed_methods`` (``email,sms,totp``) or the column's default."""
    if allowed_methods is None:
        cursor = await conn.execute(
            "INSERT INTO subscriptions (name, created_at) VALUES (?, ?)", (name, now)
        )
    else:
        cursor = await conn.execute(
            "INSERT INTO subscriptions (name, allowed_methods, created_at) VALUES (?, ?, ?)",
            (name, allowed_methods, now),
        )
    subscription_id = int(cursor.lastrowid or 0)
    for product in products:
        await conn.execute("INSERT OR IGNORE INTO products (name) VALUES (?)", (product,))
        await conn.execute(
            "INSERT INTO subscription_products (subscription_id, product_id) "
            "SELECT ?, id FROM products WHERE name = ?",
            (subscription_id, product),
        )
    return subscription_id


_INSERT_USER = (
    "INSERT INTO users (subscription_id, email, email_key, email_deliverable, email_problem,"
    " display_name, role, status, password_hash, mfa_required, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _user_row(subscription_id: int, user: NewUser, now: float) -> tuple[object, ...]:
    """The values of ``_INSERT_USER`` for one user; the address key is always derived here."""
    return (
        subscription_id,
        user.email,
        email_key(user.email),
        int(user.email_deliverable),
        user.email_problem,
        user.display_name,
        user.role,
        user.status,
        user.password_hash,
        int(user.mfa_required),
        now,
    )


async def insert_user(
    conn: aiosqlite.Connection, subscription_id: int, user: NewUser, now: float
) -> int:
    cursor = await conn.execute(_INSERT_USER, _user_row(subscription_id, user, now))
    return int(cursor.lastrowid or 0)


async def set_allowed_methods(
    conn: aiosqlite.Connection, subscription_id: int, allowed_methods: str
) -> bool:
    """Store which method kinds the subscription allows; False when it doesn't exist."""
    cursor = await conn.execute(
        "UPDATE subscriptions SET allowed_methods = ? WHERE id = ?",
        (allowed_methods, subscription_id),
    )
    return cursor.rowcount == 1


async def insert_users_many(
    conn: aiosqlite.Connection, subscription_id: int, users: Iterable[NewUser], now: float
) -> None:
    """Insert many users in one statement run (``executemany``), for seeding large demos."""
    await conn.executemany(_INSERT_USER, (_user_row(subscription_id, user, now) for user in users))


async def count_users(reader: Reader, subscription_id: int) -> int:
    row = await fetchone(
        reader, "SELECT count(*) FROM users WHERE subscription_id = ?", (subscription_id,)
    )
    return int(row[0]) if row else 0


async def subscriptions(db: Database) -> list[Subscription]:
    rows = await db.fetchall("SELECT * FROM subscriptions ORDER BY name")
    return [Subscription.from_row(row) for row in rows]


async def subscription_by_id(reader: Reader, subscription_id: int) -> Subscription | None:
    row = await fetchone(reader, "SELECT * FROM subscriptions WHERE id = ?", (subscription_id,))
    return Subscription.from_row(row) if row else None


async def subscription_by_name(reader: Reader, name: str) -> Subscription | None:
    row = await fetchone(reader, "SELECT * FROM subscriptions WHERE name = ?", (name,))
    return Subscription.from_row(row) if row else None


async def products_of(db: Database, subscription_id: int) -> list[str]:
    rows = await db.fetchall(
        "SELECT p.name FROM products p JOIN subscription_products sp ON sp.product_id = p.id"
        " WHERE sp.subscription_id = ? ORDER BY p.id",
        (subscription_id,),
    )
    return [row["name"] for row in rows]


async def user_by_email(db: Database, email: str) -> User | None:
    """The account whose address has the same key as ``email`` (see :mod:`store.email_key`)."""
    row = await db.fetchone("SELECT * FROM users WHERE email_key = ?", (email_key(email),))
    return User.from_row(row) if row else None


async def user_by_id(reader: Reader, user_id: int) -> User | None:
    """The user's row; read through a transaction's ``conn`` it is fresh under that transaction."""
    row = await fetchone(reader, "SELECT * FROM users WHERE id = ?", (user_id,))
    return User.from_row(row) if row else None


async def users_of(db: Database, subscription_id: int | None = None) -> list[User]:
    if subscription_id is None:
        rows = await db.fetchall("SELECT * FROM users ORDER BY email")
    else:
        rows = await db.fetchall(
            "SELECT * FROM users WHERE subscription_id = ? ORDER BY email", (subscription_id,)
        )
    return [User.from_row(row) for row in rows]


async def existing_emails(conn: aiosqlite.Connection, emails: list[str]) -> set[str]:
    """Which of ``emails`` are taken already, as their keys (:func:`store.email_key.email_key`)."""
    keys = [email_key(email) for email in emails]
    taken: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ",".join("?" * len(chunk))
        async with conn.execute(
            f"SELECT email_key FROM users WHERE email_key IN ({marks})", chunk
        ) as cursor:
            taken.update(row[0] for row in await cursor.fetchall())
    return taken


async def email_taken_by_other(conn: aiosqlite.Connection, email: str, user_id: int) -> bool:
    """True when an account other than ``user_id`` signs in with ``email``."""
    row = await fetchone(
        conn,
        "SELECT EXISTS (SELECT 1 FROM users WHERE email_key = ? AND id != ?)",
        (email_key(email), user_id),
    )
    return bool(row and row[0])


async def set_email(
    conn: aiosqlite.Connection, user_id: int, email: str, deliverable: bool, problem: str | None
) -> bool:
    """Store the address, its key and its verdict; False when there is no account ``user_id``."""
    cursor = await conn.execute(
        "UPDATE users SET email = ?, email_key = ?, email_deliverable = ?, email_problem = ?"
        " WHERE id = ?",
        (email, email_key(email), int(deliverable), problem, user_id),
    )
    return cursor.rowcount == 1


async def set_password_hash(conn: aiosqlite.Connection, user_id: int, password_hash: str) -> bool:
    """Store the hash; False when there is no account ``user_id``."""
    cursor = await conn.execute(
        "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
    )
    return cursor.rowcount == 1


async def replace_password_hash(
    conn: aiosqlite.Connection, user_id: int, verified_hash: str, new_hash: str
) -> bool:
    """Store ``new_hash`` only over ``verified_hash``; True when it was stored.

    ``verified_hash`` is the hash a password was just verified against: had the password been
    changed meanwhile (by an administrator, another session), the one verified is no longer current.
    """
    cursor = await conn.execute(
        "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?",
        (new_hash, user_id, verified_hash),
    )
    return cursor.rowcount == 1


@dataclass(frozen=True, slots=True)
class EmailVerdict:
    """A user's address and the verdict stored for it."""

    user_id: int
    email: str
    deliverable: bool
    problem: str | None


async def email_verdicts_after(db: Database, after_id: int, limit: int) -> list[EmailVerdict]:
    """The next ``limit`` users' addresses and verdicts, by id, after ``after_id``."""
    rows = await db.fetchall(
        "SELECT id, email, email_deliverable, email_problem FROM users WHERE id > ?"
        " ORDER BY id LIMIT ?",
        (after_id, limit),
    )
    return [EmailVerdict(row[0], row[1], bool(row[2]), row[3]) for row in rows]


async def set_email_verdict(
    conn: aiosqlite.Connection, user_id: int, email: str, deliverable: bool, problem: str | None
) -> bool:
    """Store a new verdict for ``email``; False when the address has changed meanwhile."""
    cursor = await conn.execute(
        "UPDATE users SET email_deliverable = ?, email_problem = ? WHERE id = ? AND email = ?",
        (int(deliverable), problem, user_id, email),
    )
    return cursor.rowcount > 0

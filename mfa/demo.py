"""The demo: a seeded subscription with the user guide's four products, an admin and 25 users.

Three users have sign-in names that can't receive mail, so the MFA process shows real failures.
Each product starts a stand-in program (given by the front end) that shows who launched it.
The demo passwords are public (the sign-in screen shows them); never use demo mode for real data.
The Demo inbox reads what the demo delivered through :func:`delivered_messages` and
:func:`messages_after`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mfa.addresses import check_address
from mfa.config import Config, ProductCommand, user_data_dir
from mfa.method_policy import DEFAULT_ALLOWED, stored_form
from mfa.notices import is_notice
from mfa.services import Services
from store import accounts as account_store
from store import audit
from store.models import OutboxMessage

SUBSCRIPTION = "Acme Logistics"
PRODUCTS = [
    "PitneyShip Pro",
    "PitneyTrack Inbound",
    "PitneyAnalytics",
    "Locker Management Module",
]
ADMIN_EMAIL = "admin@acme-logistics.com"
ADMIN_PASSWORD = "correct horse battery"
USER_PASSWORD = "sunny kiosk morning"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: str = "user"


DEMO_USERS = [
    DemoAccount(ADMIN_EMAIL, "Avery Admin", "admin"),
    DemoAccount("jordan.lee@acme-logistics.com", "Jordan Lee"),
    DemoAccount("sam.patel@acme-logistics.com", "Sam Patel"),
    DemoAccount("maria.garcia@acme-logistics.com", "Maria Garcia"),
    DemoAccount("chen.wei@acme-logistics.com", "Chen Wei"),
    DemoAccount("olu.adebayo@acme-logistics.com", "Olu Adebayo"),
    DemoAccount("priya.nair@acme-logistics.com", "Priya Nair"),
    DemoAccount("tom.becker@acme-logistics.com", "Tom Becker"),
    DemoAccount("lena.schmidt@acme-logistics.com", "Lena Schmidt"),
    DemoAccount("diego.ramos@acme-logistics.com", "Diego Ramos"),
    DemoAccount("aiko.tanaka@acme-logistics.com", "Aiko Tanaka"),
    DemoAccount("noah.kim@acme-logistics.com", "Noah Kim"),
    DemoAccount("fatima.zahra@acme-logistics.com", "Fatima Zahra"),
    DemoAccount("liam.obrien@acme-logistics.com", "Liam O'Brien"),
    DemoAccount("sofia.rossi@acme-logistics.com", "Sofia Rossi"),
    DemoAccount("ben.cohen@acme-logistics.com", "Ben Cohen"),
    DemoAccount("grace.mensah@acme-logistics.com", "Grace Mensah"),
    DemoAccount("ivan.petrov@acme-logistics.com", "Ivan Petrov"),
    DemoAccount("hannah.berg@acme-logistics.com", "Hannah Berg"),
    DemoAccount("kwame.owusu@acme-logistics.com", "Kwame Owusu"),
    DemoAccount("zoe.martin@acme-logistics.com", "Zoe Martin"),
    DemoAccount("ravi.shah@acme-logistics.com", "Ravi Shah"),
    # Sign-in names that exist in the business but can't receive mail (no domain after the @).
    DemoAccount("ops@plant7", "Plant 7 Operations"),
    DemoAccount("dock@warehouse", "Warehouse Dock"),
    DemoAccount("locker-bay@kiosk3", "Kiosk 3 Locker Bay"),
]


def demo_config(config: Config, explicit_db: str | Path | None = None) -> Config:
    """The configuration the demo runs with: never the configured database, key file or group.

    The demo's database is ``mfa-tui-demo.db`` beside ``explicit_db`` (``--db``) when one is given,
    else in this account's data directory; its key file is beside it. So ``mfa-tui --demo`` on a
    production host never writes into the production directory, and never reads its key.
    """
    base = Path(explicit_db) if explicit_db else user_data_dir() / "mfa-tui.db"
    isolated = config.with_database(base.with_name("mfa-tui-demo.db"))
    return isolated.replace("security", key_file="").replace("host", group="")


LOCKED_EMAIL = "lena.schmidt@acme-logistics.com"
"""Seeded as locked (the hard failure limit reached): the demo's user to unlock."""


def demo_database_path(config: Config) -> Path:
    """The demo keeps its own file, so it never touches a real database."""
    return config.database_path.with_name("mfa-tui-demo.db")


async def is_seeded(services: Services) -> bool:
    return bool(await account_store.subscriptions(services.db))


GENERATED_DOMAIN = "acme-logistics.com"
"""The domain of the generated users' addresses (``demo.user000026@acme-logistics.com``)."""


def generated_email(number: int) -> str:
    """The address of the ``number``-th user of a large demo (numbered after the named ones)."""
    return f"demo.user{number:06d}@{GENERATED_DOMAIN}"


async def seed(services: Services, users: int | None = None) -> None:
    """Fill an empty database with the demo subscription and accounts (idempotent).

    ``users``: make the subscription that many users in all (``mfa-tui --demo --users N``), the
    named ones first, then generated ones (:func:`add_generated_users`); a seeded demo with fewer
    gets the missing ones.
    """
    if not await is_seeded(services):
        await _seed_named(services)
    if users is not None:
        await add_generated_users(services, users)


async def add_generated_users(services: Services, total: int) -> int:
    """Add users until the demo subscription has ``total``; returns how many were added.

    Fast enough for hundreds of thousands: one transaction, one ``executemany``, one password hash
    (the demo's user password, hashed once and shared), and addresses built to be valid, so no
    address is checked one by one (the verdict is the one ``check_address`` gives them all).
    """
    subscription = await account_store.subscription_by_name(services.db, SUBSCRIPTION)
    if subscription is None:
        raise ValueError("The demo is not seeded.")
    existing = await account_store.count_users(services.db, subscription.id)
    missing = total - existing
    if missing <= 0:
        return 0
    first = existing + 1
    sample = check_address(generated_email(first))
    assert sample.deliverable, sample.problem  # the pattern is valid; checked once, not per user
    password_hash = await services.hasher.hash_async(USER_PASSWORD)
    now = services.now()
    generated = (
        account_store.NewUser(
            email=generated_email(number),
            display_name=f"Demo User {number}",
            role="user",
            password_hash=password_hash,
            email_deliverable=True,
            email_problem=None,
        )
        for number in range(first, total + 1)
    )
    async with services.db.write() as conn:
        await account_store.insert_users_many(conn, subscription.id, generated, now)
        await audit.record(conn, now, "demo.users_generated", detail=f"{missing} accounts")
    return missing


async def _seed_named(services: Services) -> None:

    admin_hash = await services.hasher.hash_async(ADMIN_PASSWORD)
    user_hash = await services.hasher.hash_async(USER_PASSWORD)
    now = services.now()
    async with services.db.write() as conn:
        subscription_id = await account_store.create_subscription(
            conn, SUBSCRIPTION, PRODUCTS, now, stored_form(DEFAULT_ALLOWED)
        )
        for account in DEMO_USERS:
            verdict = check_address(account.email, services.config.email.internal_domains)
            await account_store.insert_user(
                conn,
                subscription_id,
                account_store.NewUser(
                    email=verdict.email,
                    display_name=account.name,
                    role=account.role,
                    password_hash=admin_hash if account.role == "admin" else user_hash,
                    email_deliverable=verdict.deliverable,
                    email_problem=verdict.problem,
                ),
                now,
            )
        # One account locked after too many failures, for the admin's Users screen to unlock.
        await conn.execute(
            "UPDATE users SET failed_attempts = ? WHERE email = ?",
            (services.config.security.lockout_hard_limit, LOCKED_EMAIL),
        )
        await audit.record(conn, now, "demo.seeded", detail=f"{len(DEMO_USERS)} accounts")


@dataclass(frozen=True, slots=True)
class DemoMessage:
    """One message the demo delivered (email or SMS), with its body as sent."""

    id: int
    channel: str
    """``email`` or ``sms``."""
    recipient: str
    subject: str
    body: str | None
    """None when no body was kept (messages sent outside demo mode)."""
    sent_at: float

    @classmethod
    def of(cls, row: OutboxMessage) -> DemoMessage:
        return cls(row.id, row.channel, row.recipient, row.subject, row.body, row.sent_at)

    @property
    def is_security_notice(self) -> bool:
        """A security notice (``mfa.notices``), not a code."""
        return is_notice(self.subject, self.body)


async def delivered_messages(services: Services, limit: int) -> list[DemoMessage]:
    """Up to ``limit`` delivered messages (not the failed attempts), newest first."""
    rows = await audit.outbox(services.db, limit=limit * 2)
    return [DemoMessage.of(row) for row in rows if row.error is None][:limit]


async def newest_message_id(services: Services) -> int:
    """The id of the newest delivery attempt so far (0 before the first)."""
    newest = await audit.outbox(services.db, limit=1)
    return newest[0].id if newest else 0


async def messages_after(
    services: Services, after_id: int, limit: int = 100
) -> tuple[int, list[DemoMessage]]:
    """Delivery attempts newer than ``after_id``: the newest id seen, and the delivered ones among
    them, oldest first."""
    rows = await audit.outbox(services.db, limit=limit, after_id=after_id)
    if not rows:
        return after_id, []
    newest = max(row.id for row in rows)
    return newest, [DemoMessage.of(row) for row in reversed(rows) if row.error is None]


def with_stand_ins(config: Config, program: Sequence[str]) -> Config:
    """``config`` with every demo product starting ``program`` (followed by the product's name):
    the demo never launches a product configured for real use."""
    stand_ins = {name: ProductCommand((*program, name)) for name in PRODUCTS}
    return dataclasses.replace(config, products=stand_ins)

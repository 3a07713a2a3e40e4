"""What an admin does to other users' accounts: list and search them, unlock, reset MFA, disable
or enable, change the role. The Users screen and ``mfa-tui admin users ...`` both call this, and
both list users as a :class:`UserSummary`.

Every change runs in one ``BEGIN IMMEDIATE`` transaction with its audit event, the admin as the
actor (``actor_id``; None for the host's own ``mfa-tui admin`` commands, which run with access to
the database file). An admin acting from the screen must be an active admin of the same
subscription as the user. Two rules keep a subscription manageable: an admin can't disable their
own account, and the last active admin can be neither disabled nor made a user.

Audit events (``detail`` in brackets): ``admin.user_unlocked`` (the failure count it cleared),
``admin.mfa_reset`` (what was removed), ``admin.user_disabled``, ``admin.user_enabled``,
``admin.role_changed`` (the new role). Email corrections go through ``mfa.accounts.set_email``.

After ``reset_mfa`` the user is told by email where the address can receive mail
(``mfa.notices``), and any re-authentication grant of theirs ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mfa import notices, throttle
from mfa.accounts import ROLES, AccountError
from mfa.factors import KIND_NAMES
from mfa.notices import NoticeKind
from mfa.services import Services
from store import accounts as account_store
from store import admin_users as admin_store
from store import audit
from store import reauth as grant_store
from store.admin_users import UserListRow
from store.db import Transaction
from store.models import User

PAGE_SIZE = 200
"""Users read per page by the Users screen."""

NOT_SET_UP = "not set up"
NOT_SET_UP_NO_EMAIL = "not set up; no email codes: another method at sign-in"
"""A required user whose address can't receive mail (the MFA process failed them): still
required, they set up SMS (or another method that can work) at the next sign-in."""


@dataclass(frozen=True, slots=True)
class UserSummary:
    """One user as the Users screen, ``users list`` and ``users show`` present them. Text fields
    are as stored (unescaped)."""

    id: int
    email: str
    display_name: str
    role: str
    status: str
    mfa_required: bool
    methods: tuple[str, ...]
    """Names of the verified methods (``Email``, ``SMS``), in display order."""
    email_problem: str | None
    """Why the address can't receive codes (None when it can)."""
    failed_attempts: int
    locked: bool
    """Locked until an admin unlocks it (the hard failure limit)."""
    waiting_until: float | None
    """Waiting after failures (a temporary wait), until this moment."""
    recovery_codes_left: int

    @property
    def disabled(self) -> bool:
        return self.status != "active"

    @property
    def mfa_state(self) -> str:
        """``required: Email, SMS``, ``not required: not set up yet``, ..."""
        required = "required" if self.mfa_required else "not required"
        methods = ", ".join(self.methods) if self.methods else "not set up yet"
        return f"{required}: {methods}"

    @property
    def methods_text(self) -> str:
        """``Email, SMS``, ``not set up``, or :data:`NOT_SET_UP_NO_EMAIL`."""
        if self.methods:
            return ", ".join(self.methods)
        if self.mfa_required and self.email_problem:
            return NOT_SET_UP_NO_EMAIL
        return NOT_SET_UP

    @property
    def lock_state(self) -> str:
        """``locked``, ``waiting``, or empty."""
        if self.locked:
            return "locked"
        if self.waiting_until is not None:
            return "waiting"
        return ""


def summary_of(row: UserListRow, services: Services) -> UserSummary:
    security = services.config.security
    wait = throttle.wait_now(row.failed_attempts, row.locked_until, services.now(), security)
    return UserSummary(
        id=row.id,
        email=row.email,
        display_name=row.display_name,
        role=row.role,
        status=row.status,
        mfa_required=row.mfa_required,
        methods=tuple(KIND_NAMES.get(kind, kind) for kind in _ordered(row.methods)),
        email_problem=row.email_problem,
        failed_attempts=row.failed_attempts,
        locked=wait is not None and math.isinf(wait),
        waiting_until=row.locked_until if wait is not None and math.isfinite(wait) else None,
        recovery_codes_left=row.recovery_codes_left,
    )


def _ordered(kinds: tuple[str, ...]) -> list[str]:
    order = list(KIND_NAMES)
    return sorted(kinds, key=lambda kind: order.index(kind) if kind in order else len(order))


async def users_page(
    services: Services,
    subscription_id: int,
    *,
    search: str = "",
    after: str = "",
    limit: int = PAGE_SIZE,
) -> list[UserSummary]:
    """One page of the subscription's users in address order, after the address ``after``.

    ``search`` keeps the users whose address or display name starts with it (any case).
    """
    rows = await admin_store.users_page(
        services.db, subscription_id, search=search.strip(), after=after, limit=limit
    )
    return [summary_of(row, services) for row in rows]


async def user_summaries(
    services: Services,
    subscription_id: int,
    *,
    locked: bool = False,
    without_mfa: bool = False,
    disabled: bool = False,
) -> list[UserSummary]:
    """All the subscription's users by address (``admin users list``); each flag keeps only the
    users it names (``locked``: waiting after failures, or locked)."""
    rows = await admin_store.user_rows(
        services.db, subscription_id, now=services.now(),
        hard_limit=services.config.security.lockout_hard_limit,
        locked_only=locked, without_methods_only=without_mfa, disabled_only=disabled,
    )  # fmt: skip
    return [summary_of(row, services) for row in rows]


async def user_summary(services: Services, user_id: int) -> UserSummary | None:
    row = await admin_store.user_row(services.db, user_id)
    return summary_of(row, services) if row else None


async def find_user(services: Services, email: str) -> UserSummary:
    """The user signing in with ``email``; AccountError names the address when there is none."""
    row = await admin_store.user_row_by_email(services.db, email.strip())
    if row is None:
        raise AccountError(f"There is no account with the address {email}.")
    return summary_of(row, services)


async def count_users(services: Services, subscription_id: int) -> int:
    return await admin_store.count_users(services.db, subscription_id)


# ------------------------------------------------------------------------------------- changes


async def _target(conn: Transaction, user_id: int, actor_id: int | None) -> User:
    """The user to change, read fresh; refuse an actor who isn't an active admin of its
    subscription."""
    user = await account_store.user_by_id(conn, user_id)
    if user is None:
        raise AccountError("That account no longer exists.")
    if actor_id is not None:
        actor = await account_store.user_by_id(conn, actor_id)
        if (
            actor is None
            or not actor.is_admin
            or not actor.is_active
            or actor.subscription_id != user.subscription_id
        ):
            raise AccountError("Only an administrator of this subscription can do that.")
    return user


async def unlock(services: Services, user_id: int, *, actor_id: int | None = None) -> UserSummary:
    """Clear the user's failure count and any wait."""
    async with services.db.write() as conn:
        user = await _target(conn, user_id, actor_id)
        await throttle.clear(conn, user.id)
        await audit.record(
            conn, services.now(), "admin.user_unlocked", actor_id=actor_id, subject_id=user.id,
            detail=f"{user.failed_attempts} failures cleared",
        )  # fmt: skip
    return await _summary(services, user_id)


async def reset_mfa(
    services: Services, user_id: int, *, actor_id: int | None = None
) -> UserSummary:
    """Remove the user's methods, recovery codes and live code: the user sets up again at the
    next sign-in (when MFA is required of them)."""
    async with services.db.write() as conn:
        user = await _target(conn, user_id, actor_id)
        removed = await admin_store.remove_mfa(conn, user.id)
        # A session that re-authenticated with the removed methods can't go on changing them.
        await grant_store.end_grants_of(conn, user.id)
        await audit.record(
            conn, services.now(), "admin.mfa_reset", actor_id=actor_id, subject_id=user.id,
            detail=(
                f"removed methods: {removed.methods}, recovery codes: {removed.recovery_codes}, "
                f"codes sent: {removed.live_codes}"
            ),
        )  # fmt: skip
    await notices.notify(services, user_id, NoticeKind.MFA_RESET, actor_id=actor_id)
    return await _summary(services, user_id)


async def set_disabled(
    services: Services, user_id: int, disabled: bool, *, actor_id: int | None = None
) -> UserSummary:
    """Disable the account (it can't sign in: "Incorrect email or password.") or enable it."""
    async with services.db.write() as conn:
        user = await _target(conn, user_id, actor_id)
        if disabled:
            if actor_id is not None and actor_id == user.id:
                raise AccountError("You can't disable your own account.")
            if (
                user.is_admin
                and user.is_active
                and not await admin_store.other_active_admins(conn, user.subscription_id, user.id)
            ):
                raise AccountError(
                    f"{user.email} is the subscription's last active administrator: make "
                    "another user an administrator first."
                )
        status = "disabled" if disabled else "active"
        if user.status != status:
            await admin_store.set_status(conn, user.id, status)
            event = "admin.user_disabled" if disabled else "admin.user_enabled"
            await audit.record(conn, services.now(), event, actor_id=actor_id, subject_id=user.id)
    return await _summary(services, user_id)


async def set_role(
    services: Services, user_id: int, role: str, *, actor_id: int | None = None
) -> UserSummary:
    """Make the user an admin or a user; never the last active admin a user."""
    if role not in ROLES:
        raise AccountError(f"Unknown role {role!r}: use admin or user.")
    async with services.db.write() as conn:
        user = await _target(conn, user_id, actor_id)
        if (
            user.is_admin
            and role != "admin"
            and user.is_active
            and not await admin_store.other_active_admins(conn, user.subscription_id, user.id)
        ):
            raise AccountError(
                f"{user.email} is the subscription's last active administrator: make another "
                "user an administrator first."
            )
        if user.role != role:
            await admin_store.set_role(conn, user.id, role)
            await audit.record(
                conn, services.now(), "admin.role_changed", actor_id=actor_id,
                subject_id=user.id, detail=role,
            )  # fmt: skip
    return await _summary(services, user_id)


async def _summary(services: Services, user_id: int) -> UserSummary:
    summary = await user_summary(services, user_id)
    if summary is None:
        raise AccountError("That account no longer exists.")
    return summary

"""The administrator's list of users: each account with its MFA state, lock and status.

``mfa-tui admin users list`` shows it; the rows come from one query (``store.accounts``), and the
lock rule (a wait running now, or the hard limit reached) is the throttle's (``mfa.throttle``).
"""

from __future__ import annotations

from dataclasses import dataclass

from mfa import throttle
from mfa.factors import KIND_NAMES
from mfa.services import Services
from store import accounts as account_store

NOT_SET_UP = "not set up"


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """One user as the administrator's list shows it. Text fields are as stored (unescaped)."""

    email: str
    display_name: str
    role: str
    status: str
    """``active`` or ``disabled``."""
    mfa_required: bool
    methods: tuple[str, ...]
    """The names of the methods set up ("Email", "SMS"); empty when none is."""
    locked: bool
    """The account must wait before its next attempt, or is locked until an administrator acts."""
    email_problem: str | None

    @property
    def disabled(self) -> bool:
        return self.status == "disabled"

    @property
    def methods_text(self) -> str:
        """``Email, SMS``, or ``not set up``."""
        return ", ".join(self.methods) if self.methods else NOT_SET_UP


async def account_summaries(
    services: Services,
    subscription_id: int,
    *,
    locked: bool = False,
    without_mfa: bool = False,
    disabled: bool = False,
) -> list[AccountSummary]:
    """The subscription's users by address; each flag keeps only the users it names."""
    now = services.now()
    security = services.config.security
    rows = await account_store.user_summaries(
        services.db, subscription_id, now=now, hard_limit=security.lockout_hard_limit,
        locked_only=locked, without_methods_only=without_mfa, disabled_only=disabled,
    )  # fmt: skip
    return [
        AccountSummary(
            email=row.email,
            display_name=row.display_name,
            role=row.role,
            status=row.status,
            mfa_required=row.mfa_required,
            methods=tuple(KIND_NAMES.get(kind, kind) for kind in row.method_kinds),
            locked=throttle.wait_now(row.failed_attempts, row.locked_until, now, security)
            is not None,
            email_problem=row.email_problem,
        )
        for row in rows
    ]

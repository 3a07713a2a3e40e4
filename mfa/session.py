"""A signed-in session and its two time limits: the idle lock and the absolute limit.

The terminal UI keeps one :class:`Session` per running app, touches it on every key and asks
:meth:`Session.end_reason` periodically; the limits come from ``SecurityConfig``
(``idle_lock_seconds``, default 15 minutes; ``session_max_seconds``, default 12 hours).
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mfa.config import SecurityConfig
from mfa.services import Services
from store import audit

if TYPE_CHECKING:  # only a type here: start-up needn't load the accounts module
    from mfa.accounts import Account


class SessionEnd(enum.Enum):
    """Why a session ended."""

    SIGNED_OUT = "signed out"
    IDLE = "idle"
    TIME_LIMIT = "time limit"
    PRODUCT_CLOSED = "product closed"
    """Kiosk mode: the product launched from home ended, and with it the session."""
    HANGUP = "hang-up"
    """The terminal went away (SIGHUP) or the process was told to stop."""


@dataclass
class Session:
    """Who is signed in, since when, and when they last pressed a key."""

    user: Account
    started_at: float
    last_activity: float
    signed_in: bool = True
    """False while the password is accepted but the second factor is still to come (set up or
    verify): the same idle rules apply, but nothing behind the sign-in is reachable yet."""
    mfa_verified: bool = False
    """True when the sign-in was completed with a second factor (set up or verified)."""
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    """Names this session in the audit log and to the products launched in it."""

    @classmethod
    def start(
        cls, user: Account, now: float, *, signed_in: bool = True, mfa_verified: bool = False
    ) -> Session:
        return cls(
            user=user,
            started_at=now,
            last_activity=now,
            signed_in=signed_in,
            mfa_verified=mfa_verified,
        )

    def touch(self, now: float) -> None:
        """Record activity (a key) at ``now``."""
        self.last_activity = max(self.last_activity, now)

    def idle_expired(self, now: float, security: SecurityConfig) -> bool:
        """True once ``idle_lock_seconds`` have passed without activity."""
        return now - self.last_activity >= security.idle_lock_seconds

    def expired(self, now: float, security: SecurityConfig) -> bool:
        """True once the session is ``session_max_seconds`` old, however active it was."""
        return now - self.started_at >= security.session_max_seconds

    def end_reason(self, now: float, security: SecurityConfig) -> SessionEnd | None:
        """Why the session must end now, or None while it may go on."""
        if self.expired(now, security):
            return SessionEnd.TIME_LIMIT
        if self.idle_expired(now, security):
            return SessionEnd.IDLE
        return None


async def record_start(services: Services, session: Session) -> None:
    """Write the start of a full session to the audit log."""
    async with services.db.write() as conn:
        await audit.record(
            conn, services.now(), "session.started",
            actor_id=session.user.id, subject_id=session.user.id,
            detail=f"session {session.id}" + (" with MFA" if session.mfa_verified else ""),
        )  # fmt: skip


async def record_end(services: Services, session: Session, reason: SessionEnd) -> None:
    """Write the end of a session (or of a half-finished sign-in) to the audit log."""
    event = "session.ended" if session.signed_in else "signin.abandoned"
    async with services.db.write() as conn:
        await audit.record(
            conn, services.now(), event,
            actor_id=session.user.id, subject_id=session.user.id, detail=reason.value,
        )  # fmt: skip

"""A signed-in session and its two time limits: the idle lock and the absolute limit.

The terminal UI keeps one :class:`Session` per running app, touches it on every key and asks
:meth:`Session.end_reason` periodically; the limits come from ``SecurityConfig``
(``idle_lock_seconds``, default 15 minutes; ``session_max_seconds``, default 12 hours).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mfa.config import SecurityConfig
from mfa.services import Services

if TYPE_CHECKING:  # only a type here: start-up needn't load the accounts module
    from mfa.accounts import Account


def new_attempt_id() -> str:
    """A fresh, unguessable name for one sign-in attempt (128 bits): see ``mfa.reauth``."""
    import secrets  # here, not at the top: it loads OpenSSL, which the sign-in screen never needs

    return secrets.token_urlsafe(16)


def _token_hex(size: int) -> str:
    import secrets  # see new_attempt_id

    return secrets.token_hex(size)


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
    attempt_id: str = ""
    """The sign-in attempt this session came from (``SignInResult.attempt_id``): the codes it asks
    for are bound to it, and so is its re-authentication grant (``mfa.reauth``)."""
    id: str = field(default_factory=lambda: _token_hex(8))
    """Names this session in the audit log and to the products launched in it."""

    @classmethod
    def start(
        cls,
        user: Account,
        now: float,
        *,
        signed_in: bool = True,
        mfa_verified: bool = False,
        attempt_id: str = "",
    ) -> Session:
        """A session from ``now``; without ``attempt_id`` it gets a fresh one."""
        return cls(
            user=user,
            started_at=now,
            last_activity=now,
            signed_in=signed_in,
            mfa_verified=mfa_verified,
            attempt_id=attempt_id or new_attempt_id(),
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
    """Write the start of a full session to the audit log.

    A grant given for the Setup screen of the sign-in ends here: on the Security page a change
    asks for the password (and a code) again.
    """
    detail = f"session {session.id}" + (" with MFA" if session.mfa_verified else "")
    await _record(services, session, "session.started", detail)


async def record_end(services: Services, session: Session, reason: SessionEnd) -> None:
    """Write the end of a session (or of a half-finished sign-in) to the audit log; a
    re-authentication grant of the session ends with it."""
    event = "session.ended" if session.signed_in else "signin.abandoned"
    await _record(services, session, event, reason.value)


async def _record(services: Services, session: Session, event: str, detail: str) -> None:
    """End the session's re-authentication grant and audit ``event``, in one transaction."""
    # Loaded at the first sign-in: the app imports this module at start-up, for the types.
    from store import audit
    from store import reauth as grant_store

    async with services.db.write() as conn:
        await grant_store.end_grant(conn, session.attempt_id)
        await audit.record(
            conn, services.now(), event,
            actor_id=session.user.id, subject_id=session.user.id, detail=detail,
        )  # fmt: skip

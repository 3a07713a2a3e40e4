"""Reading the audit log (``audit_events``) and pruning it: the Audit log screen and
``mfa-tui admin audit`` both call this.

Events are read newest first in keyset pages on (time, id), filtered by user (as subject or
actor), by kind (the part of the event name before the dot: ``signin``, ``mfa``, ``user``,
``admin``, ``session``, ...) or exact event (``signin.failed``), and by time. Times are shown and
read in UTC (``2026-11-01`` or ``2026-11-01T08:30``), the same on every host and in every session.

Retention: ``[audit] retention_days`` (365 by default, 0 keeps every event). :func:`prune` deletes
older events in bounded batches; the app runs it at start-up and every admin command before it
starts, so no long delete ever holds the write lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from mfa.accounts import AccountError
from mfa.services import Services
from mfa.wording import counted
from store import accounts as account_store
from store import audit as audit_store
from store.audit import AuditFilter, AuditRow

__all__ = ["AuditEntry", "AuditFilter", "AuditQuery", "kinds", "page", "prune", "resolve"]

PAGE_SIZE = 200
PRUNE_BATCH = 5_000
PRUNE_BATCHES = 20
"""At most this many batches per call: a backlog is worked off over several starts."""
SECONDS_PER_DAY = 86_400
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """What the admin asked to see (as typed)."""

    user_email: str = ""
    kind: str = ""
    """A kind (``signin``) or an exact event (``signin.failed``); empty: all."""
    since: str = ""
    """A UTC date or date and time; empty: from the start."""
    until: str = ""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One event as shown: who did what to whom, when."""

    id: int
    at: float
    event: str
    detail: str
    actor: str
    """The actor's address, ``system`` when there is none, or ``#id`` for a deleted user."""
    subject: str

    @property
    def when(self) -> str:
        return format_time(self.at)

    @property
    def cursor(self) -> tuple[float, int]:
        """Where the next (older) page starts."""
        return (self.at, self.id)


def format_time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime(TIME_FORMAT)


def parse_time(text: str, what: str = "time") -> float:
    """A UTC date (``2026-11-01``) or date and time (``2026-11-01T08:30``) as epoch seconds."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AccountError(
            f"The {what} {text!r} isn't a date: write it as 2026-11-01 or 2026-11-01T08:30 (UTC)."
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _who(user_id: int | None, email: str | None) -> str:
    if email is not None:
        return email
    return "system" if user_id is None else f"#{user_id}"


def entry_of(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        event=row.event,
        detail=row.detail or "",
        actor=_who(row.actor_id, row.actor_email),
        subject=_who(row.subject_id, row.subject_email),
    )


async def resolve(services: Services, query: AuditQuery) -> AuditFilter:
    """The stored filter for ``query``; AccountError says what can't be understood."""
    user_id = None
    if query.user_email.strip():
        user = await account_store.user_by_email(services.db, query.user_email.strip())
        if user is None:
            raise AccountError(f"There is no account with the address {query.user_email}.")
        user_id = user.id
    kind = query.kind.strip()
    return AuditFilter(
        user_id=user_id,
        kind=kind if kind and "." not in kind else None,
        event=kind if "." in kind else None,
        since=parse_time(query.since, "start") if query.since.strip() else None,
        until=parse_time(query.until, "end") if query.until.strip() else None,
    )


async def page(
    services: Services,
    where: AuditFilter,
    before: tuple[float, int] | None = None,
    limit: int = PAGE_SIZE,
) -> list[AuditEntry]:
    """Up to ``limit`` events matching ``where``, newest first, older than ``before``."""
    rows = await audit_store.events_page(services.db, where, before=before, limit=limit)
    return [entry_of(row) for row in rows]


async def kinds(services: Services) -> list[str]:
    """The kinds of event the log holds, for a filter's choices."""
    return await audit_store.kinds(services.db)


async def prune(
    services: Services, *, batch: int = PRUNE_BATCH, batches: int = PRUNE_BATCHES
) -> int:
    """Delete events older than the retention period (bounded); returns how many went."""
    days = services.config.audit.retention_days
    if days <= 0:
        return 0
    now = services.now()
    cutoff = now - days * SECONDS_PER_DAY
    # A read first (one probe of the time index): with nothing to prune, no write lock is asked
    # for, so a read-only admin command runs at once while another process writes.
    if not await audit_store.any_before(services.db, cutoff):
        return 0
    deleted = 0
    for _ in range(batches):
        async with services.db.write() as conn:
            gone = await audit_store.prune_before(conn, cutoff, batch)
        deleted += gone
        if gone < batch:
            break
    if deleted:
        async with services.db.write() as conn:
            await audit_store.record(
                conn,
                now,
                "audit.pruned",
                detail=f"{counted(deleted, 'event')} older than {counted(days, 'day')}",
            )
    return deleted
